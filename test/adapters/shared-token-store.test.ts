/**
 * The shared token item against dynalite, sealed with the data-key sealer over the local KMS
 * endpoint and the functions' lean clients (raw items read back with the SDK): the lease and its fencing version, the token that never
 * appears in plaintext in the raw item, the org binding of the encryption context, login counts.
 */
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AwsClient } from '../../lambda/adapters/aws-request';
import { createDataKeySealer } from '../../lambda/adapters/kms-envelope';
import { createDynamoSharedTokenStore } from '../../lambda/adapters/shared-token-store';
import { sharedTokenKey } from '../../lambda/adapters/table-schema';
import { countLoginsLastHour } from '../../lambda/core/shared-token';
import { createLocalAwsClient } from '../../local/aws-clients';
import { type LocalKms, startKmsServer } from '../../local/kms-server';
import { type LocalDynamo, startDynalite } from '../support/dynalite';

const ACCESS_TOKEN = '00Dxx0000000001!AQ4AQFakeAccessTokenForTheSharedStoreTest';
let dynamo: LocalDynamo;
let kms: LocalKms;
let kmsClient: AwsClient;
let keyId: string;

beforeAll(async () => {
  [dynamo, kms] = await Promise.all([startDynalite(), startKmsServer()]);
  keyId = (await kms.createKey()).arn;
  kmsClient = createLocalAwsClient('kms', kms.endpoint);
});
afterAll(async () => {
  await Promise.all([kms.close(), dynamo.close()]);
});

async function world() {
  const tableName = await dynamo.createTable();
  const store = createDynamoSharedTokenStore({ client: dynamo.documents, tableName });
  // Read back with the SDK's document client: what the lean client wrote is what the SDK reads.
  const documents = DynamoDBDocumentClient.from(dynamo.client);
  const sealer = createDataKeySealer({ client: kmsClient, keyId, dataKeyContext: { tableName } });
  const rawItem = async (orgId: string) =>
    (await documents.send(new GetCommand({ TableName: tableName, Key: sharedTokenKey(orgId) })))
      .Item;
  return { store, sealer, rawItem };
}

const NOW = Date.UTC(2026, 11, 2, 12, 0, 0);
const lease = (owner: string, expiresAt = NOW + 10_000) => ({ owner, expiresAt });

describe('DynamoDB shared token store', () => {
  it('gives the lease to one owner at a time, with a new fencing version each time', async () => {
    const { store } = await world();
    const first = await store.acquireLease('acme', lease('a'), { now: NOW });
    const second = await store.acquireLease('acme', lease('b'), { now: NOW });
    const again = await store.acquireLease('acme', lease('a'), { now: NOW });
    expect(first).toEqual({ acquired: true, version: 1 });
    expect(second).toEqual({ acquired: false });
    expect(again).toEqual({ acquired: true, version: 2 });
    // Expired: anyone may take it over.
    expect(await store.acquireLease('acme', lease('b'), { now: NOW + 10_000 })).toEqual({
      acquired: true,
      version: 3,
    });
    // The approval callback takes it whoever holds it.
    expect(await store.acquireLease('acme', lease('c'), { now: NOW, force: true })).toEqual({
      acquired: true,
      version: 4,
    });
  });

  it('never lets a writer whose lease was taken over replace a newer token', async () => {
    const { store } = await world();
    const slow = await store.acquireLease('acme', lease('slow', NOW + 1), { now: NOW });
    const fast = await store.acquireLease('acme', lease('fast'), { now: NOW + 2 });
    if (!slow.acquired || !fast.acquired) throw new Error('leases expected');
    const token = (version: number, sealed: string) => ({
      sealed,
      version,
      obtainedAt: NOW,
      expiresAt: NOW + 600_000,
      keyFingerprint: undefined,
    });
    const newer = await store.publishToken('acme', token(fast.version, 'k1.newer'), {
      count: 1,
      at: NOW,
    });
    const stale = await store.publishToken('acme', token(slow.version, 'k1.stale'), {
      count: 1,
      at: NOW,
    });
    expect(newer.stored).toBe(true);
    expect(stale.stored).toBe(false);
    const state = await store.read('acme', { consistent: true });
    expect(state?.token).toMatchObject({ sealed: 'k1.newer', version: fast.version });
    expect(state?.lease).toBeUndefined();
    // The fenced-out exchange was a login all the same.
    await store.countLogins('acme', { count: 1, at: NOW });
    expect(countLoginsLastHour((await store.read('acme'))?.logins ?? {}, NOW)).toBe(2);
  });

  it('stores the token sealed: no plaintext in the raw item; another org context cannot open it', async () => {
    const { store, sealer, rawItem } = await world();
    const taken = await store.acquireLease('acme', lease('a'), { now: NOW });
    if (!taken.acquired) throw new Error('lease expected');
    const grant = JSON.stringify({ access_token: ACCESS_TOKEN, instance_url: 'https://x' });
    const context = { orgId: 'acme', table: 't', binding: 'b' };
    const sealed = await sealer.seal(new TextEncoder().encode(grant), context);
    await store.publishToken(
      'acme',
      {
        sealed,
        version: taken.version,
        obtainedAt: NOW,
        expiresAt: NOW + 600_000,
        keyFingerprint: 'ab'.repeat(32),
      },
      { count: 1, at: NOW },
    );
    const raw = JSON.stringify(await rawItem('acme'));
    expect(raw).not.toContain(ACCESS_TOKEN);
    expect(raw).not.toContain('AQ4AQ');
    expect(raw).toContain('"tokenKeyFingerprint"');
    const stored = (await store.read('acme'))?.token?.sealed ?? '';
    expect(Buffer.from(await sealer.open(stored, context)).toString()).toBe(grant);
    await expect(sealer.open(stored, { ...context, orgId: 'globex' })).rejects.toThrow();
    await expect(sealer.open(stored, { ...context, binding: 'other' })).rejects.toThrow();
    // TTL: the item goes hours after the token's expiry, never before it.
    const item = await rawItem('acme');
    expect(Number(item?.ttl) * 1000).toBeGreaterThan(NOW + 600_000);
  });

  it('remembers a failure for its version only, and a token clears it', async () => {
    const { store } = await world();
    const first = await store.acquireLease('acme', lease('a'), { now: NOW });
    if (!first.acquired) throw new Error('lease expected');
    const failure = {
      category: 'consumer_not_approved' as const,
      message: 'not approved',
      salesforce: { status: 400, error: 'invalid_grant' },
      remediation: undefined,
      version: first.version,
      at: NOW,
      until: NOW + 60_000,
    };
    expect((await store.rememberFailure('acme', failure, { count: 1, at: NOW })).stored).toBe(true);
    expect((await store.read('acme'))?.failure).toMatchObject({
      category: 'consumer_not_approved',
    });
    await store.clearFailure('acme');
    expect((await store.read('acme'))?.failure).toBeUndefined();
    // A failure from an older lease never lands.
    const second = await store.acquireLease('acme', lease('a'), { now: NOW });
    if (!second.acquired) throw new Error('lease expected');
    expect((await store.rememberFailure('acme', failure, { count: 1, at: NOW })).stored).toBe(
      false,
    );
  });

  it('drops only the token it was asked to, and counts logins by five-minute bucket', async () => {
    const { store } = await world();
    const taken = await store.acquireLease('acme', lease('a'), { now: NOW });
    if (!taken.acquired) throw new Error('lease expected');
    const token = {
      sealed: 'k1.x',
      version: taken.version,
      obtainedAt: NOW,
      expiresAt: NOW + 600_000,
      keyFingerprint: undefined,
    };
    await store.publishToken('acme', token, { count: 3, at: NOW });
    expect(await store.dropToken('acme', taken.version + 1)).toBe(false);
    expect(await store.dropToken('acme', taken.version)).toBe(true);
    expect((await store.read('acme'))?.token).toBeUndefined();
    await store.countLogins('acme', { count: 2, at: NOW + 30 * 60_000 });
    // Older than an hour: not counted, and removed by the next write an hour later.
    await store.countLogins('acme', { count: 5, at: NOW + 70 * 60_000 });
    const state = await store.read('acme');
    expect(countLoginsLastHour(state?.logins ?? {}, NOW + 70 * 60_000)).toBe(7);
    expect(Object.keys(state?.logins ?? {})).toHaveLength(2);
  });
});
