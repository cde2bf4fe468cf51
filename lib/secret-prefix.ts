/**
 * The secret-name prefix the functions may read under (their IAM policy grants
 * `secret:{prefix}*` only). No CDK import: the CLI checks secret ids against it.
 */

/** The stack's default `signingKeySecretPrefix`. */
export const DEFAULT_SECRET_PREFIX = 'salesforce-token-broker/';

/**
 * The stack's default `consumerSecretPrefix`: beside, not under, the signing prefix, so the
 * token role's `salesforce-token-broker/*` never matches a consumer secret.
 */
export const DEFAULT_CONSUMER_SECRET_PREFIX = 'salesforce-token-broker-consumer/';

/** A secret-name prefix: letters, digits and `/_+=.@-`, ending in `/`. */
export const SECRET_PREFIX_PATTERN = /^[A-Za-z0-9/_+=.@-]+\/$/;

/** The secret's name, from a name or a Secrets Manager ARN (`...:secret:{name}-AbCdEf`). */
export function secretNameOf(secretId: string): string {
  const marker = ':secret:';
  const at = secretId.startsWith('arn:') ? secretId.indexOf(marker) : -1;
  return at < 0 ? secretId : secretId.slice(at + marker.length);
}

/** Whether the functions' policy lets them read `secretId` (a name or an ARN). */
export function isUnderSecretPrefix(secretId: string, prefix: string): boolean {
  return secretNameOf(secretId).startsWith(prefix);
}

/**
 * The alias prefix of the broker's KMS signing keys (`keys create --kms`): the token role may
 * `kms:Sign` only with keys carrying an alias under it.
 */
export const SIGNING_KEY_ALIAS_PREFIX = 'alias/salesforce-token-broker/';
