/**
 * The org registry in the broker's single DynamoDB table (keys from table-schema.ts). Each org
 * item also carries the outcome of the org's last fresh exchange, for the status route, and the
 * time its tokens were last invalidated (`tokenInvalidatedAt`, for every token function
 * instance); writing a record never erases either.
 */
import { readKeyRotation } from '../core/key-rotation';
import { ORG_RECORD_FIELDS, validateOrgRecord } from '../core/org-record';
import type {
  CertificateAlertStore,
  ExchangeOutcome,
  ExchangeOutcomeStore,
  KeyRotationStore,
  OrgRegistry,
  TokenInvalidationStore,
} from '../core/ports';
import type { OrgRecord } from '../core/types';
import type { DynamoDocuments } from './dynamo-documents';
import { ORG_INDEX_VALUE, orgKey, TABLE_SCHEMA } from './table-schema';

export interface DynamoOrgRegistryOptions {
  readonly client: Pick<DynamoDocuments, 'get' | 'update' | 'delete' | 'queryPages'>;
  readonly tableName: string;
}

/** Thrown when a stored item no longer validates: a broker-side fault, not the caller's. */
export class CorruptOrgRecordError extends Error {
  override readonly name = 'CorruptOrgRecordError';
}

function toRecord(item: Record<string, unknown>): OrgRecord {
  const fields: Record<string, unknown> = {};
  for (const field of ORG_RECORD_FIELDS) if (item[field] !== undefined) fields[field] = item[field];
  try {
    return validateOrgRecord(fields);
  } catch (cause) {
    throw new CorruptOrgRecordError(`Stored org record ${String(item.orgId)} is invalid`, {
      cause,
    });
  }
}

export type DynamoOrgRegistry = OrgRegistry &
  ExchangeOutcomeStore &
  TokenInvalidationStore &
  KeyRotationStore &
  CertificateAlertStore;

const KEY_ROTATION = 'keyRotation';

const TOKEN_INVALIDATED_AT = 'tokenInvalidatedAt';

/**
 * An {@link OrgRegistry}, {@link ExchangeOutcomeStore} and {@link TokenInvalidationStore} over
 * DynamoDB (dynamo-documents.ts).
 */
export function createDynamoOrgRegistry(options: DynamoOrgRegistryOptions): DynamoOrgRegistry {
  const { client, tableName } = options;
  return {
    async getOrg(orgId) {
      // Consistent: the CLI's `orgs put --update` reads, modifies and writes the record, and a
      // stale read would silently undo the write just before it. Only operators and the
      // approval flow call this; the token function's 30 s reload uses getOrgTokenState.
      const { Item } = await client.get({
        TableName: tableName,
        Key: orgKey(orgId),
        ConsistentRead: true,
      });
      return Item ? toRecord(Item) : undefined;
    },

    async getOrgTokenState(orgId) {
      // Eventually consistent (half the read cost): the record is trusted from memory for 30 s
      // anyway, and DynamoDB's replication lag, typically well under a second, adds little to that.
      const { Item } = await client.get({ TableName: tableName, Key: orgKey(orgId) });
      if (!Item) return undefined;
      const invalidatedAt = Item[TOKEN_INVALIDATED_AT];
      return {
        org: toRecord(Item),
        tokenInvalidatedAt: typeof invalidatedAt === 'number' ? invalidatedAt : undefined,
        keyRotation: readKeyRotation(Item[KEY_ROTATION]),
      };
    },

    async recordTokenInvalidation(orgId, at) {
      try {
        await client.update({
          TableName: tableName,
          Key: orgKey(orgId),
          UpdateExpression: 'SET #at = :at',
          // Never resurrects a deleted org, never moves the time back.
          ConditionExpression: 'attribute_exists(#pk) AND (attribute_not_exists(#at) OR #at < :at)',
          ExpressionAttributeNames: {
            '#at': TOKEN_INVALIDATED_AT,
            '#pk': TABLE_SCHEMA.partitionKey,
          },
          ExpressionAttributeValues: { ':at': at },
        });
      } catch (error) {
        if ((error as { name?: unknown }).name !== 'ConditionalCheckFailedException') throw error;
      }
    },

    async putOrg(record) {
      const valid = validateOrgRecord(record);
      const names: Record<string, string> = { '#gsi': TABLE_SCHEMA.orgIndex.partitionKey };
      const values: Record<string, unknown> = { ':gsi': ORG_INDEX_VALUE };
      const sets = ['#gsi = :gsi'];
      const removes: string[] = [];
      for (const field of ORG_RECORD_FIELDS) {
        names[`#${field}`] = field;
        const value = valid[field];
        if (value === undefined) removes.push(`#${field}`);
        else {
          values[`:${field}`] = value;
          sets.push(`#${field} = :${field}`);
        }
      }
      await client.update({
        TableName: tableName,
        Key: orgKey(valid.orgId),
        UpdateExpression: `SET ${sets.join(', ')}${removes.length ? ` REMOVE ${removes.join(', ')}` : ''}`,
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
      });
    },

    async deleteOrg(orgId) {
      const { Attributes } = await client.delete({
        TableName: tableName,
        Key: orgKey(orgId),
        ReturnValues: 'ALL_OLD',
      });
      return Attributes !== undefined;
    },

    async listOrgs() {
      const records: OrgRecord[] = [];
      const pages = client.queryPages({
        TableName: tableName,
        IndexName: TABLE_SCHEMA.orgIndex.name,
        KeyConditionExpression: '#gsi = :gsi',
        ExpressionAttributeNames: { '#gsi': TABLE_SCHEMA.orgIndex.partitionKey },
        ExpressionAttributeValues: { ':gsi': ORG_INDEX_VALUE },
      });
      for await (const page of pages)
        for (const item of page.Items ?? []) records.push(toRecord(item));
      return records;
    },

    async recordExchangeOutcome(orgId, outcome, options = {}) {
      // `{state}|{at}`: one top-level attribute (IAM's dynamodb:Attributes sees only top-level
      // names) that orders by time within a state, as ISO times order as strings.
      const prefix = `${outcome.ok ? 'ok' : (outcome.category ?? 'failed')}|`;
      const writtenAt = Date.parse(outcome.at);
      // Without a refresh interval (or a readable time) every outcome is written.
      const staleBefore =
        options.refreshAfterMs && Number.isFinite(writtenAt)
          ? new Date(writtenAt - options.refreshAfterMs).toISOString()
          : undefined;
      try {
        const { Attributes } = await client.update({
          TableName: tableName,
          Key: orgKey(orgId),
          UpdateExpression: 'SET #last = :last, #state = :state',
          // An org deleted meanwhile must not come back as a bare outcome item; an unchanged
          // outcome is written again only once the stored one is older than refreshAfterMs.
          ConditionExpression: staleBefore
            ? 'attribute_exists(#pk) AND (attribute_not_exists(#state) OR NOT begins_with(#state, :prefix) OR #state <= :stale)'
            : 'attribute_exists(#pk)',
          ExpressionAttributeNames: {
            '#last': 'lastExchange',
            '#state': 'lastExchangeState',
            '#pk': TABLE_SCHEMA.partitionKey,
          },
          // Round-trip through JSON drops undefined fields, which DynamoDB cannot store.
          ExpressionAttributeValues: {
            ':last': JSON.parse(JSON.stringify(outcome)),
            ':state': `${prefix}${outcome.at}`,
            ...(staleBefore ? { ':prefix': prefix, ':stale': `${prefix}${staleBefore}` } : {}),
          },
          ReturnValues: 'UPDATED_OLD',
        });
        return { written: true, previous: Attributes?.lastExchange as ExchangeOutcome | undefined };
      } catch (error) {
        if ((error as { name?: unknown }).name !== 'ConditionalCheckFailedException') throw error;
        return { written: false };
      }
    },

    async getExchangeOutcome(orgId) {
      const { Item } = await client.get({
        TableName: tableName,
        Key: orgKey(orgId),
        ProjectionExpression: 'lastExchange',
      });
      return Item?.lastExchange as ExchangeOutcome | undefined;
    },

    async getKeyRotation(orgId) {
      // Consistent: a promotion made by another instance a moment ago must be seen by the next
      // exchange here, or it would try the old key (and fail) once more.
      const { Item } = await client.get({
        TableName: tableName,
        Key: orgKey(orgId),
        ProjectionExpression: '#rotation',
        ExpressionAttributeNames: { '#rotation': KEY_ROTATION },
        ConsistentRead: true,
      });
      return readKeyRotation(Item?.[KEY_ROTATION]);
    },

    async promoteStagedKey(orgId, { staged, previous, at }) {
      try {
        await client.update({
          TableName: tableName,
          Key: orgKey(orgId),
          UpdateExpression: 'SET #rotation = :promoted',
          // The nested name is written out: IAM's dynamodb:Attributes sees placeholder names, and
          // the token role may name only its own top-level attributes.
          ConditionExpression: '#rotation.stagedSecretId = :staged',
          ExpressionAttributeNames: { '#rotation': KEY_ROTATION },
          ExpressionAttributeValues: {
            ':staged': staged,
            ':promoted': { currentSecretId: staged, previousSecretId: previous, promotedAt: at },
          },
        });
        return true;
      } catch (error) {
        if ((error as { name?: unknown }).name === 'ConditionalCheckFailedException') return false;
        throw error;
      }
    },

    async stageKey(orgId, secretId, at) {
      const current = await this.getKeyRotation(orgId);
      await client.update({
        TableName: tableName,
        Key: orgKey(orgId),
        UpdateExpression: 'SET #rotation = :rotation',
        ConditionExpression: 'attribute_exists(#pk)',
        ExpressionAttributeNames: { '#rotation': KEY_ROTATION, '#pk': TABLE_SCHEMA.partitionKey },
        ExpressionAttributeValues: {
          ':rotation': JSON.parse(
            JSON.stringify({
              currentSecretId: current?.currentSecretId,
              previousSecretId: current?.previousSecretId,
              promotedAt: current?.promotedAt,
              stagedSecretId: secretId,
              stagedAt: at,
            }),
          ),
        },
      });
    },

    async claimCertificateAlert(orgId, alert) {
      try {
        await client.update({
          TableName: tableName,
          Key: orgKey(orgId),
          UpdateExpression: 'SET #alerts = :alert',
          // Nested names written out, as for keyRotation: IAM sees only top-level names.
          ConditionExpression:
            'attribute_exists(#pk) AND (attribute_not_exists(#alerts) OR #alerts.fingerprintSha256 <> :fp OR #alerts.thresholdDays > :days)',
          ExpressionAttributeNames: {
            '#alerts': 'certificateAlerts',
            '#pk': TABLE_SCHEMA.partitionKey,
          },
          ExpressionAttributeValues: {
            ':alert': {
              fingerprintSha256: alert.fingerprintSha256,
              thresholdDays: alert.threshold,
            },
            ':fp': alert.fingerprintSha256,
            ':days': alert.threshold,
          },
        });
        return true;
      } catch (error) {
        if ((error as { name?: unknown }).name === 'ConditionalCheckFailedException') return false;
        throw error;
      }
    },

    async clearKeyRotation(orgId) {
      await client.update({
        TableName: tableName,
        Key: orgKey(orgId),
        UpdateExpression: 'REMOVE #rotation',
        ExpressionAttributeNames: { '#rotation': KEY_ROTATION },
      });
    },
  };
}
