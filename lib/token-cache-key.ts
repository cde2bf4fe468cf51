import type { RemovalPolicy } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import type { Construct } from 'constructs';
import { sharedTokenKey } from '../lambda/adapters/table-schema';
import { TOKEN_CACHE_PURPOSE } from '../lambda/core/shared-token';

/**
 * The key the fleet's shared tokens are sealed under. Anyone who can read the table, a backup or
 * a point-in-time export but lacks `kms:Decrypt` on this key sees ciphertext only.
 */
export function createTokenCacheKey(scope: Construct, removalPolicy: RemovalPolicy): Key {
  return new Key(scope, 'TokenCacheKey', {
    description: 'salesforce-token-broker: seals the shared token cache (data keys, AES-GCM)',
    enableKeyRotation: true,
    removalPolicy,
  });
}

/**
 * Data keys for sealing and opening shared tokens, and only with the broker's encryption context
 * for this table: the grant cannot decrypt anything else sealed under the key.
 */
export function sealTokensStatement(key: Key, table: ITable): PolicyStatement {
  return new PolicyStatement({
    sid: 'SealSharedTokens',
    actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
    resources: [key.keyArn],
    conditions: {
      StringEquals: {
        'kms:EncryptionContext:purpose': TOKEN_CACHE_PURPOSE,
        'kms:EncryptionContext:table': table.tableName,
      },
    },
  });
}

/**
 * The shared token items only (`TOKEN#{orgId}`): read, and the conditional updates of the lease,
 * the token and the failure memory. No other item of the table.
 */
export function sharedTokenItemsStatement(table: ITable): PolicyStatement {
  return new PolicyStatement({
    sid: 'SharedTokenItems',
    actions: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
    resources: [table.tableArn],
    conditions: {
      'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [`${sharedTokenKey('').pk}*`] },
    },
  });
}
