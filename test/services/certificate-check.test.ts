import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSigningMaterial } from '../../keys/signing-material';
import { createDynamoOrgRegistry } from '../../lambda/adapters/org-registry';
import type { InternalEvent, InternalEventResult } from '../../lambda/core/internal-events';
import { validateOrgRecord } from '../../lambda/core/org-record';
import {
  type CertificateCheckDeps,
  createCertificateCheck,
} from '../../lambda/services/certificate-watch';
import { createLambdaContext } from '../../local/rest-event';
import {
  type LocalSecretsManager,
  startSecretsManagerServer,
} from '../../local/secrets-manager-server';
import { type LocalDynamo, startDynalite } from '../support/dynalite';
import { RecordingPublisher } from '../support/events';
import { captureOutput } from '../support/logs';
import { composeExchangingTokenFunction } from '../support/token-function';

const CALLER = 'arn:aws:iam::123456789012:role/Fulfilment';
const DAY_MS = 86_400_000;
const CHECK: InternalEvent = { brokerInternal: 'check_certificates' };

let secrets: LocalSecretsManager;
let dynamo: LocalDynamo;

beforeAll(async () => {
  [secrets, dynamo] = await Promise.all([startSecretsManagerServer(), startDynalite()]);
});
afterAll(() => Promise.all([secrets.close(), dynamo.close()]));

async function composeWorld(orgs: readonly { orgId: string; days?: number }[]) {
  const tableName = await dynamo.createTable();
  const registry = createDynamoOrgRegistry({
    client: dynamo.documents,
    tableName,
  });
  for (const org of orgs) {
    const secretId = `check-${tableName}/${org.orgId}`;
    if (org.days !== undefined) {
      const material = await generateSigningMaterial({
        commonName: org.orgId,
        notAfter: new Date(Date.now() + org.days * DAY_MS + 3_600_000),
      });
      await secrets.putSecret(secretId, material.secretString);
    }
    // No days: the record names a secret that does not exist (an unreadable key).
    await registry.putOrg(
      validateOrgRecord({
        orgId: org.orgId,
        loginUrl: 'https://login.salesforce.com',
        consumerKey: `key-${org.orgId}`,
        username: `${org.orgId}@acme.example`,
        signingKeySecretId: secretId,
        callers: [CALLER],
      }),
    );
  }
  const publisher = new RecordingPublisher();
  const handler = composeExchangingTokenFunction({
    tableName,
    dynamo: dynamo.documents,
    secretsEndpoint: secrets.endpoint,
    publisher,
  });
  const check = async () => {
    const output = captureOutput();
    try {
      const result: InternalEventResult = await handler(
        CHECK,
        createLambdaContext({ timeoutMs: 20_000 }),
      );
      return { result, entries: output.entries() };
    } finally {
      output.stop();
    }
  };
  return { publisher, check };
}

const perOrgDays = (entries: Record<string, unknown>[]) =>
  entries
    .filter((entry) => typeof entry.CertificateDaysToExpiry === 'number' && entry.OrgId)
    .map((entry) => [entry.OrgId, entry.CertificateDaysToExpiry]);

describe('the daily certificate check', () => {
  it('reports every org without an exchange and announces a crossed threshold once', async () => {
    const { publisher, check } = await composeWorld([
      { orgId: 'later', days: 20 },
      { orgId: 'fine', days: 200 },
    ]);

    const first = await check();
    expect(first.result).toEqual({
      ok: true,
      certificates: { orgs: 2, checked: 2, failed: 0, skipped: 0, announced: 1 },
    });
    expect(perOrgDays(first.entries)).toEqual(
      expect.arrayContaining([
        ['later', 20],
        ['fine', 200],
      ]),
    );
    expect(perOrgDays(first.entries)).toHaveLength(2);
    const overall = first.entries.find(
      (entry) => Array.isArray(entry.CertificateDaysToExpiry) && !entry.OrgId,
    );
    expect(
      [...((overall?.CertificateDaysToExpiry ?? []) as number[])].sort((a, b) => a - b),
    ).toEqual([20, 200]);
    expect(first.entries).toContainEqual(
      expect.objectContaining({ message: 'Certificate check done', checked: 2, failed: 0 }),
    );
    expect(publisher.types()).toEqual(['token_broker.certificate.expiring']);
    expect(publisher.events[0]?.data).toEqual(
      expect.objectContaining({ orgId: 'later', threshold: 30, daysToExpiry: 20 }),
    );

    // The next day's run: the metric again, no announcement (claimed once per threshold).
    const second = await check();
    expect(second.result).toEqual({
      ok: true,
      certificates: { orgs: 2, checked: 2, failed: 0, skipped: 0, announced: 0 },
    });
    expect(perOrgDays(second.entries)).toHaveLength(2);
    expect(publisher.types()).toEqual(['token_broker.certificate.expiring']);
  });

  it('logs an org whose key is unreadable and still checks the others', async () => {
    const { publisher, check } = await composeWorld([
      { orgId: 'broken' },
      { orgId: 'soon', days: 5 },
    ]);

    const { result, entries } = await check();
    expect(result).toEqual({
      ok: true,
      certificates: { orgs: 2, checked: 1, failed: 1, skipped: 0, announced: 1 },
    });
    expect(entries).toContainEqual(
      expect.objectContaining({
        message: 'Certificate check failed for an org',
        org_id: 'broken',
        category: 'signing_key_unavailable',
      }),
    );
    expect(perOrgDays(entries)).toEqual([['soon', 5]]);
    expect(publisher.events.map((event) => event.data)).toEqual([
      expect.objectContaining({ orgId: 'soon', threshold: 7, daysToExpiry: 5 }),
    ]);
  });
});

describe('the daily certificate check, bounded by the invocation', () => {
  const org = (orgId: string) =>
    validateOrgRecord({
      orgId,
      loginUrl: 'https://login.salesforce.com',
      consumerKey: `key-${orgId}`,
      username: `${orgId}@acme.example`,
      signingKeySecretId: `keys/${orgId}`,
      callers: [CALLER],
    });

  it('stops at the deadline and counts the orgs it did not reach as skipped', async () => {
    const warnings: string[] = [];
    const check = createCertificateCheck({
      registry: { listOrgs: async () => [org('slow'), org('next')] },
      store: {
        getKeyRotation: async () => undefined,
        promoteStagedKey: async () => false,
        stageKey: async () => undefined,
        clearKeyRotation: async () => undefined,
        claimCertificateAlert: async () => true,
      } as unknown as CertificateCheckDeps['store'],
      // A key read that never answers: the check must not outlive the invocation.
      signingKeys: { getSigningKey: () => new Promise(() => undefined) },
      reporter: { reportCertificateDaysToExpiry: () => undefined },
      publisher: new RecordingPublisher(),
      eventContext: { source: 'urn:test', clock: Date.now, newId: () => 'id' },
      logger: { info: () => undefined, warn: (message) => warnings.push(message) },
      clock: Date.now,
    });
    const now = Date.now();
    expect(await check.run({ salesforceBy: now + 50, respondBy: now + 100 })).toEqual({
      orgs: 2,
      checked: 0,
      failed: 0,
      skipped: 2,
      announced: 0,
    });
    expect(warnings).toEqual([]);
  });
});
