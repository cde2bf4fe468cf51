import { Aws } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { ORG_INDEX_VALUE, TABLE_SCHEMA } from '../lambda/adapters/table-schema';
import { secretPrefixArn } from './broker-policies';
import { SIGNING_KEY_ALIAS_PREFIX } from './secret-prefix';

/**
 * Key custody and table grants per action (docs/deploy.md#key-custody): which role may read which
 * secrets, decrypt them, sign with KMS, invoke the signer, and write which table items and
 * attributes. Each statement names its actions; none uses a `*` action.
 */

const leadingKeys = (prefixes: readonly string[]) => ({
  'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': prefixes.map((p) => `${p}*`) },
});

/** Reads of org records (`ORG#` items): GetItem only, no write of any kind. */
export function readOrgItemsStatement(table: ITable): PolicyStatement {
  return new PolicyStatement({
    sid: 'ReadOrgItems',
    actions: ['dynamodb:GetItem'],
    resources: [table.tableArn],
    conditions: leadingKeys(['ORG#']),
  });
}

/**
 * Listing the org registry (the daily certificate check): Query on the org index only, and only
 * its one partition (`gsi1pk = ORG`, what `listOrgs` asks for). No Scan, no Query on the table.
 */
export function listOrgsStatement(table: ITable): PolicyStatement {
  return new PolicyStatement({
    sid: 'ListOrgs',
    actions: ['dynamodb:Query'],
    resources: [`${table.tableArn}/index/${TABLE_SCHEMA.orgIndex.name}`],
    conditions: {
      'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': [ORG_INDEX_VALUE] },
    },
  });
}

/**
 * UpdateItem on org items limited to `attributes` (and the key): the token function records its
 * per-org state but cannot change `callers`, the login URL or any other registry field. No
 * PutItem or DeleteItem: it can neither replace nor remove an org record.
 */
export function writeOrgStateStatement(
  table: ITable,
  attributes: readonly string[],
): PolicyStatement {
  return new PolicyStatement({
    sid: 'WriteOrgState',
    actions: ['dynamodb:UpdateItem'],
    resources: [table.tableArn],
    conditions: {
      ...leadingKeys(['ORG#']),
      'ForAllValues:StringEquals': {
        'dynamodb:Attributes': [TABLE_SCHEMA.partitionKey, TABLE_SCHEMA.sortKey, ...attributes],
      },
    },
  });
}

/** The incident ledger (`INCIDENT#` items): count, claim reminders, list open, close. */
export function incidentItemsStatement(table: ITable): PolicyStatement {
  return new PolicyStatement({
    sid: 'IncidentItems',
    actions: ['dynamodb:Query', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'],
    resources: [table.tableArn],
    conditions: leadingKeys(['INCIDENT#']),
  });
}

/** Approval attempts (`STATE#` items): created by PutItem, consumed by a conditional DeleteItem. */
export function oauthStateItemsStatement(table: ITable): PolicyStatement {
  return new PolicyStatement({
    sid: 'OAuthStateItems',
    actions: ['dynamodb:PutItem', 'dynamodb:DeleteItem'],
    resources: [table.tableArn],
    conditions: leadingKeys(['STATE#']),
  });
}

/** GetSecretValue under one name prefix, with its own sid (signing keys or consumer secrets). */
export function readSecretsUnderStatement(sid: string, prefix: string): PolicyStatement {
  return new PolicyStatement({
    sid,
    actions: ['secretsmanager:GetSecretValue'],
    resources: [secretPrefixArn(prefix)],
  });
}

/**
 * Decrypting the secrets' data keys, only through Secrets Manager and only for secrets under
 * `prefix` (Secrets Manager puts the secret's ARN in the encryption context).
 */
export function decryptSecretsStatement(key: IKey, sid: string, prefix: string): PolicyStatement {
  return new PolicyStatement({
    sid,
    actions: ['kms:Decrypt'],
    resources: [key.keyArn],
    conditions: {
      StringEquals: { 'kms:ViaService': `secretsmanager.${Aws.REGION}.${Aws.URL_SUFFIX}` },
      StringLike: { 'kms:EncryptionContext:SecretARN': secretPrefixArn(prefix) },
    },
  });
}

/**
 * `kms:Sign` with RS256's algorithm, only on keys carrying a broker alias: a key created outside
 * `keys create --kms` cannot be used, whatever the registry says.
 */
export function signWithBrokerKeysStatement(): PolicyStatement {
  return new PolicyStatement({
    sid: 'SignWithBrokerKmsKeys',
    actions: ['kms:Sign'],
    resources: [`arn:${Aws.PARTITION}:kms:${Aws.REGION}:${Aws.ACCOUNT_ID}:key/*`],
    conditions: {
      'ForAnyValue:StringLike': { 'kms:ResourceAliases': `${SIGNING_KEY_ALIAS_PREFIX}*` },
      StringEquals: { 'kms:SigningAlgorithm': 'RSASSA_PKCS1_V1_5_SHA_256' },
    },
  });
}

/** The OAuth function asks the token function, the only signer, for the callback's exchange. */
export function invokeTokenFunctionStatement(tokenFunction: IFunction): PolicyStatement {
  return new PolicyStatement({
    sid: 'InvokeTokenFunction',
    actions: ['lambda:InvokeFunction'],
    resources: [tokenFunction.functionArn],
  });
}
