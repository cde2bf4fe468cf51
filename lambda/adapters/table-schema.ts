/**
 * The single DynamoDB table's key schema. Org records, OAuth state and incidents share the table;
 * the CDK stack, the adapters and the local runtime all build it from these names.
 *
 * | item           | pk                  | sk                    |
 * |----------------|---------------------|-----------------------|
 * | org record     | `ORG#{orgId}`       | `ORG`                 |
 * | incident       | `INCIDENT#{orgId}`  | `INCIDENT#{category}` |
 * | OAuth state    | `STATE#{sha256}`    | `STATE`               |
 * | shared token   | `TOKEN#{orgId}`     | `TOKEN`               |
 *
 * `gsi1pk` = `ORG` on org records only, so the registry can be listed without a scan.
 * Incidents have a partition of their own so IAM can tell them from org records: the token role
 * may delete incidents (`dynamodb:LeadingKeys` `INCIDENT#*`) but no org record.
 *
 * `ttl` (epoch seconds) lets DynamoDB delete expired OAuth state and idle shared token items eventually (closed incidents are
 * deleted when they resolve); code never relies on it for correctness.
 */
export const TABLE_SCHEMA = {
  partitionKey: 'pk',
  sortKey: 'sk',
  ttlAttribute: 'ttl',
  orgIndex: { name: 'gsi1', partitionKey: 'gsi1pk', sortKey: 'pk' },
} as const;

export const orgKey = (orgId: string) => ({ pk: `ORG#${orgId}`, sk: 'ORG' }) as const;
export const incidentKey = (orgId: string, category: string) =>
  ({ pk: `INCIDENT#${orgId}`, sk: `INCIDENT#${category}` }) as const;
/**
 * The org's shared token state: sealed token, lease, remembered failure, login counts. Its own
 * partition prefix, so IAM can grant it apart from the org records (`dynamodb:LeadingKeys`).
 */
export const sharedTokenKey = (orgId: string) => ({ pk: `TOKEN#${orgId}`, sk: 'TOKEN' }) as const;
export const stateKey = (stateHash: string) => ({ pk: `STATE#${stateHash}`, sk: 'STATE' }) as const;
export const ORG_INDEX_VALUE = 'ORG';

/**
 * The attributes of an org item the token function writes: its per-org state. Everything else on
 * the item (the registry's fields, `callers` among them) is written by operators only; the token
 * role's UpdateItem is limited to these names (`dynamodb:Attributes`) and the key.
 */
export const ORG_STATE_ATTRIBUTES = [
  'lastExchange',
  'lastExchangeState',
  'tokenInvalidatedAt',
  'keyRotation',
  'certificateAlerts',
] as const;
