/**
 * Approval links over the KMS signer, against the local KMS endpoint with the functions' client:
 * mint, verify, expire, tamper, a MAC from another key, reuse within a minute, and a KMS outage.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createKmsApprovalLinkSigner } from '../../lambda/adapters/approval-link-signer';
import type { AwsClient } from '../../lambda/adapters/aws-request';
import { type ApprovalLinks, createApprovalLinks } from '../../lambda/services/approval-links';
import { createLocalAwsClient } from '../../local/aws-clients';
import { type KmsKeyRef, type LocalKms, startKmsServer } from '../../local/kms-server';
import { createRecordingLogger } from '../support/in-memory-ports';

const BASE = 'https://broker.example.com/prod';
const DAY_SECONDS = 86_400;
let local: LocalKms;
let client: AwsClient;
let key: KmsKeyRef;
let otherKey: KmsKeyRef;

beforeAll(async () => {
  local = await startKmsServer();
  client = createLocalAwsClient('kms', local.endpoint, { region: local.region, maxAttempts: 1 });
  key = await local.createKey({ spec: 'HMAC_256', alias: 'alias/approval-links' });
  otherKey = await local.createKey({ spec: 'HMAC_256' });
});
afterAll(async () => {
  await local.close();
});
beforeEach(() => local.resetCalls());

function linksWith(keyId: string, clock: () => number, logger = createRecordingLogger()) {
  return createApprovalLinks({
    signer: createKmsApprovalLinkSigner({ client, keyId }),
    publicBaseUrl: BASE,
    lifetimeSeconds: 7 * DAY_SECONDS,
    clock,
    logger,
  });
}

async function partsOf(links: ApprovalLinks, orgId: string) {
  const url = new URL(await links.mint(orgId));
  return {
    url,
    link: {
      orgId: url.searchParams.get('org') ?? '',
      expiresAt: Number(url.searchParams.get('exp')),
      mac: url.searchParams.get('sig') ?? '',
    },
  };
}

describe('approval links on KMS', () => {
  it('mints a link that verifies until its expiry, seven days later', async () => {
    let now = Date.UTC(2026, 11, 1, 12, 0, 0);
    const links = linksWith('alias/approval-links', () => now);
    const { url, link } = await partsOf(links, 'acme');
    expect(`${url.origin}${url.pathname}`).toBe(`${BASE}/oauth/authorize`);
    expect(link.expiresAt).toBe(now / 1000 + 7 * DAY_SECONDS);
    expect(await links.verify(link)).toBe(true);
    expect(local.callCount('GenerateMac', key.keyId)).toBe(1);
    expect(local.callCount('VerifyMac', key.keyId)).toBe(1);

    now = link.expiresAt * 1000 - 1;
    expect(await links.verify(link)).toBe(true);
    now = link.expiresAt * 1000;
    expect(await links.verify(link)).toBe(false);
    // An expired link costs no KMS call.
    expect(local.callCount('VerifyMac')).toBe(2);
  });

  it('refuses a link with its org, expiry or MAC changed, or signed with another key', async () => {
    const now = Date.now();
    const links = linksWith(key.arn, () => now);
    const { link } = await partsOf(links, 'acme');
    const foreign = await partsOf(
      linksWith(otherKey.arn, () => now),
      'acme',
    );
    expect(foreign.link.mac).not.toBe(link.mac);
    const flipped = `${link.mac[0] === 'A' ? 'B' : 'A'}${link.mac.slice(1)}`;
    for (const altered of [
      { ...link, orgId: 'globex' },
      { ...link, expiresAt: link.expiresAt - 1 },
      { ...link, mac: flipped },
      { ...link, mac: 'not-a-mac' },
      foreign.link,
    ]) {
      expect(await links.verify(altered)).toBe(false);
    }
  });

  it('refuses an expiry further out than the lifetime, even with a valid MAC', async () => {
    const now = Date.now();
    const long = createApprovalLinks({
      signer: createKmsApprovalLinkSigner({ client, keyId: key.arn }),
      publicBaseUrl: BASE,
      lifetimeSeconds: 30 * DAY_SECONDS,
      clock: () => now,
      logger: createRecordingLogger(),
    });
    const { link } = await partsOf(long, 'acme');
    expect(await long.verify(link)).toBe(true);
    // The lifetime was shortened to 7 days: a 30-day link sent before no longer works.
    expect(await linksWith(key.arn, () => now).verify(link)).toBe(false);
  });

  it('hands out one link per org for a minute, then a fresh one', async () => {
    let now = Date.UTC(2026, 11, 1, 12, 0, 0);
    const links = linksWith(key.arn, () => now);
    const first = await links.mint('acme');
    expect(await links.mint('acme')).toBe(first);
    expect(await links.mint('globex')).not.toBe(first);
    now += 60_000;
    const later = await links.mint('acme');
    expect(later).not.toBe(first);
    expect(Number(new URL(later).searchParams.get('exp'))).toBe(now / 1000 + 7 * DAY_SECONDS);
    expect(local.callCount('GenerateMac')).toBe(3);
  });

  it('on a KMS outage: mint throws, mintForRemediation logs and omits, verify throws', async () => {
    const logger = createRecordingLogger();
    const links = linksWith(key.arn, Date.now, logger);
    local.failNext('GenerateMac', 'KMSInternalException', 2);
    await expect(links.mint('acme')).rejects.toMatchObject({ code: 'kms_unavailable' });
    expect(await links.mintForRemediation('acme')).toBeUndefined();
    expect(logger.warnings).toEqual([
      expect.stringMatching(/^Approval link could not be signed.*"org_id":"acme"/),
    ]);
    // The failure is not remembered: the next mint signs.
    const { link } = await partsOf(links, 'acme');
    local.failNext('VerifyMac', 'KMSInternalException');
    await expect(links.verify(link)).rejects.toMatchObject({ code: 'kms_unavailable' });
  });
});
