import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DynamoDocuments } from '../../lambda/adapters/dynamo-documents';
import {
  CorruptOrgRecordError,
  createDynamoOrgRegistry,
  type DynamoOrgRegistry,
} from '../../lambda/adapters/org-registry';
import { orgKey } from '../../lambda/adapters/table-schema';
import { validateOrgRecord } from '../../lambda/core/org-record';
import { type LocalDynamo, startDynalite } from '../support/dynalite';

let dynamo: LocalDynamo;
let registry: DynamoOrgRegistry;
let documents: DynamoDBDocumentClient;
let lean: DynamoDocuments;
let tableName: string;

const record = (orgId: string, extra: Record<string, unknown> = {}) =>
  validateOrgRecord({
    orgId,
    loginUrl: 'https://acme.my.salesforce.com',
    consumerKey: '3MVG9key',
    username: `integration@${orgId}.example`,
    signingKeySecretId: `token-broker/${orgId}`,
    callers: ['arn:aws:iam::123456789012:role/Fulfilment'],
    ...extra,
  });

beforeAll(async () => {
  dynamo = await startDynalite();
  tableName = await dynamo.createTable();
  lean = dynamo.documents;
  // Fixtures that bypass the adapter go through the SDK's document client.
  documents = DynamoDBDocumentClient.from(dynamo.client);
  registry = createDynamoOrgRegistry({ client: lean, tableName });
});
afterAll(() => dynamo.close());

describe('DynamoDB org registry (dynalite)', () => {
  it('puts, gets, lists and deletes records', async () => {
    await registry.putOrg(record('acme', { consumerSecretId: 'token-broker/acme-secret' }));
    await registry.putOrg(
      record('globex', { loginUrl: 'https://test.salesforce.com', tokenTtlSeconds: 600 }),
    );
    expect(await registry.getOrg('acme')).toEqual(
      record('acme', { consumerSecretId: 'token-broker/acme-secret' }),
    );
    expect(await registry.getOrg('nobody')).toBeUndefined();
    expect((await registry.listOrgs()).map((org) => org.orgId).sort()).toEqual(['acme', 'globex']);
    expect(await registry.deleteOrg('globex')).toBe(true);
    expect(await registry.deleteOrg('globex')).toBe(false);
    expect((await registry.listOrgs()).map((org) => org.orgId)).toEqual(['acme']);
  });

  it('keeps the last exchange outcome when the record is rewritten, and drops removed fields', async () => {
    await registry.putOrg(record('initech', { consumerSecretId: 'token-broker/s' }));
    const outcome = {
      at: '2026-11-28T20:00:00.000Z',
      ok: false,
      category: 'consumer_not_approved',
      salesforce: {
        status: 400,
        error: 'invalid_grant',
        error_description: "user hasn't approved this consumer",
      },
      requestId: 'req-1',
      latencyMs: 42,
    };
    await registry.recordExchangeOutcome('initech', outcome);
    await registry.putOrg(record('initech'));
    expect(await registry.getExchangeOutcome('initech')).toEqual(outcome);
    expect((await registry.getOrg('initech'))?.consumerSecretId).toBeUndefined();
  });

  it('writes an outcome only when it changes, or once the stored one is older than refreshAfterMs', async () => {
    await registry.putOrg(record('steady'));
    const at = (seconds: number) => new Date(Date.UTC(2026, 11, 2, 12, 0, seconds)).toISOString();
    const ok = (seconds: number) => ({
      at: at(seconds),
      ok: true,
      requestId: `r${seconds}`,
      latencyMs: 5,
    });
    const failed = (seconds: number) => ({
      ...ok(seconds),
      ok: false,
      category: 'consumer_not_approved',
    });
    const options = { refreshAfterMs: 30_000 };
    expect(await registry.recordExchangeOutcome('steady', ok(0), options)).toEqual({
      written: true,
      previous: undefined,
    });
    // The same outcome within the interval: no write, the stored one stays.
    expect(await registry.recordExchangeOutcome('steady', ok(10), options)).toEqual({
      written: false,
    });
    expect((await registry.getExchangeOutcome('steady'))?.at).toBe(at(0));
    // A change is always written, and says what it replaced.
    expect(await registry.recordExchangeOutcome('steady', failed(11), options)).toEqual({
      written: true,
      previous: ok(0),
    });
    expect(await registry.recordExchangeOutcome('steady', failed(12), options)).toEqual({
      written: false,
    });
    expect(await registry.recordExchangeOutcome('steady', ok(13), options)).toMatchObject({
      written: true,
      previous: { ok: false, category: 'consumer_not_approved' },
    });
    // Unchanged but older than the interval: written again.
    expect(await registry.recordExchangeOutcome('steady', ok(43), options)).toMatchObject({
      written: true,
      previous: { at: at(13) },
    });
  });

  it('does not resurrect a deleted org when an outcome arrives late', async () => {
    await registry.recordExchangeOutcome('ghost', {
      at: 'x',
      ok: true,
      requestId: 'r',
      latencyMs: 1,
    });
    expect(await registry.getOrg('ghost')).toBeUndefined();
    expect(await registry.getExchangeOutcome('ghost')).toBeUndefined();
  });

  it('rejects invalid input on put and reports a corrupt stored item as a broker fault', async () => {
    await expect(
      registry.putOrg({ ...record('acme'), loginUrl: 'http://evil.example' }),
    ).rejects.toMatchObject({
      category: 'invalid_request',
    });
    const { PutCommand } = await import('@aws-sdk/lib-dynamodb');
    await documents.send(
      new PutCommand({ TableName: tableName, Item: { ...orgKey('broken'), orgId: 'broken' } }),
    );
    await expect(registry.getOrg('broken')).rejects.toBeInstanceOf(CorruptOrgRecordError);
  });

  it('keeps tokenInvalidatedAt on the org item: only ever later, never resurrecting, kept by putOrg', async () => {
    await registry.putOrg(record('hooli'));
    expect(await registry.getOrgTokenState('hooli')).toEqual({
      org: record('hooli'),
      tokenInvalidatedAt: undefined,
    });
    await registry.recordTokenInvalidation('hooli', 2000);
    await registry.recordTokenInvalidation('hooli', 1000);
    await registry.putOrg(record('hooli', { tokenTtlSeconds: 600 }));
    expect(await registry.getOrgTokenState('hooli')).toEqual({
      org: record('hooli', { tokenTtlSeconds: 600 }),
      tokenInvalidatedAt: 2000,
    });
    expect(await registry.getOrg('hooli')).toEqual(record('hooli', { tokenTtlSeconds: 600 }));
    await registry.recordTokenInvalidation('nobody', 3000);
    expect(await registry.getOrgTokenState('nobody')).toBeUndefined();
  });

  it('reads consistently for the CLI read-modify-write, eventually for the token reload', async () => {
    const sent: Record<string, unknown>[] = [];
    const recording = createDynamoOrgRegistry({
      client: {
        ...lean,
        get: (input) => {
          sent.push(input);
          return lean.get(input);
        },
      },
      tableName,
    });
    await recording.getOrg('acme');
    await recording.getOrgTokenState('acme');
    expect(sent.map((input) => input.ConsistentRead)).toEqual([true, undefined]);
  });
});
