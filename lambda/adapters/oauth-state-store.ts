/**
 * Approval attempts in the broker's DynamoDB table (`STATE#{sha256(state)}`). Consuming is one
 * conditional DeleteItem that returns the old item, so of two concurrent or replayed callbacks
 * exactly one gets the attempt. `ttl` lets DynamoDB clean up eventually; expiry itself is
 * decided by the code from `expiresAt`.
 */
import type { OAuthStateRecord } from '../core/oauth-state';
import type { OAuthStateStore } from '../core/ports';
import type { DynamoDocuments } from './dynamo-documents';
import { stateKey, TABLE_SCHEMA } from './table-schema';

interface StateItem {
  readonly orgId: string;
  readonly loginUrl: string;
  readonly codeVerifier: string;
  readonly cookieHash: string;
  readonly createdAt: number;
  readonly expiresAt: number;
}

export function createOAuthStateStore(options: {
  readonly client: Pick<DynamoDocuments, 'put' | 'delete'>;
  readonly tableName: string;
}): OAuthStateStore {
  const { client, tableName } = options;
  return {
    async save(record) {
      const item: StateItem = {
        orgId: record.orgId,
        loginUrl: record.loginUrl,
        codeVerifier: record.codeVerifier,
        cookieHash: record.cookieHash,
        createdAt: record.createdAt,
        expiresAt: record.expiresAt,
      };
      await client.put({
        TableName: tableName,
        Item: {
          ...stateKey(record.stateHash),
          ...item,
          [TABLE_SCHEMA.ttlAttribute]: Math.ceil(record.expiresAt / 1000),
        },
        // 256 bits of entropy make a collision impossible in practice; never overwrite anyway.
        ConditionExpression: 'attribute_not_exists(#pk)',
        ExpressionAttributeNames: { '#pk': TABLE_SCHEMA.partitionKey },
      });
    },

    async consume(stateHash) {
      try {
        const { Attributes } = await client.delete({
          TableName: tableName,
          Key: stateKey(stateHash),
          ConditionExpression: 'attribute_exists(#pk)',
          ExpressionAttributeNames: { '#pk': TABLE_SCHEMA.partitionKey },
          ReturnValues: 'ALL_OLD',
        });
        return Attributes ? toRecord(stateHash, Attributes) : undefined;
      } catch (error) {
        if ((error as { name?: unknown }).name === 'ConditionalCheckFailedException') {
          return undefined;
        }
        throw error;
      }
    },
  };
}

function toRecord(stateHash: string, item: Record<string, unknown>): OAuthStateRecord | undefined {
  const { orgId, loginUrl, codeVerifier, cookieHash, createdAt, expiresAt } = item;
  if (
    typeof orgId !== 'string' ||
    typeof loginUrl !== 'string' ||
    typeof codeVerifier !== 'string' ||
    typeof cookieHash !== 'string' ||
    typeof createdAt !== 'number' ||
    typeof expiresAt !== 'number'
  ) {
    return undefined;
  }
  return { stateHash, orgId, loginUrl, codeVerifier, cookieHash, createdAt, expiresAt };
}
