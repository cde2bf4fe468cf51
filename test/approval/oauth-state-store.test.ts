import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DynamoDocuments } from '../../lambda/adapters/dynamo-documents';
import { createOAuthStateStore } from '../../lambda/adapters/oauth-state-store';
import { stateKey } from '../../lambda/adapters/table-schema';
import { createAttempt } from '../../lambda/core/oauth-state';
import { type LocalDynamo, startDynalite } from '../support/dynalite';

let dynamo: LocalDynamo;
let doc: DynamoDBDocumentClient;
let documents: DynamoDocuments;
let tableName: string;

beforeAll(async () => {
  dynamo = await startDynalite();
  tableName = await dynamo.createTable();
  documents = dynamo.documents;
  // Raw items are read back with the SDK's document client.
  doc = DynamoDBDocumentClient.from(dynamo.client);
});
afterAll(() => dynamo.close());

const newAttempt = () =>
  createAttempt({
    orgId: 'acme',
    loginUrl: 'https://login.salesforce.com',
    existingCookieValue: undefined,
    now: Date.now(),
    ttlSeconds: 600,
  });

describe('OAuth state store (DynamoDB via dynalite)', () => {
  it('stores the attempt under the hashed state with a TTL, and no clear state or cookie', async () => {
    const store = createOAuthStateStore({ client: documents, tableName });
    const attempt = newAttempt();
    await store.save(attempt.record);
    const { Item } = await doc.send(
      new GetCommand({ TableName: tableName, Key: stateKey(attempt.record.stateHash) }),
    );
    expect(Item).toMatchObject({
      orgId: 'acme',
      loginUrl: 'https://login.salesforce.com',
      cookieHash: attempt.record.cookieHash,
      expiresAt: attempt.record.expiresAt,
      ttl: Math.ceil(attempt.record.expiresAt / 1000),
    });
    expect(JSON.stringify(Item)).not.toContain(attempt.state);
    expect(JSON.stringify(Item)).not.toContain(attempt.cookieValue);
  });

  it('consumes an attempt exactly once', async () => {
    const store = createOAuthStateStore({ client: documents, tableName });
    const attempt = newAttempt();
    await store.save(attempt.record);
    expect(await store.consume(attempt.record.stateHash)).toEqual(attempt.record);
    expect(await store.consume(attempt.record.stateHash)).toBeUndefined();
  });

  it('gives a raced attempt to exactly one of many concurrent callbacks', async () => {
    const store = createOAuthStateStore({ client: documents, tableName });
    const attempt = newAttempt();
    await store.save(attempt.record);
    const results = await Promise.all(
      Array.from({ length: 8 }, () => store.consume(attempt.record.stateHash)),
    );
    expect(results.filter((result) => result !== undefined)).toHaveLength(1);
  });

  it('answers undefined for a state it never saw', async () => {
    const store = createOAuthStateStore({ client: documents, tableName });
    expect(await store.consume('0'.repeat(64))).toBeUndefined();
  });

  it('refuses to overwrite an existing attempt', async () => {
    const store = createOAuthStateStore({ client: documents, tableName });
    const attempt = newAttempt();
    await store.save(attempt.record);
    await expect(store.save(attempt.record)).rejects.toThrow();
  });
});
