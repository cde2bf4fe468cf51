/**
 * The token function's configuration, read and validated once at cold start (docs/architecture.md).
 * A missing or malformed variable fails the init phase with a `ConfigError` naming it.
 */
import { type ApprovalLinkConfig, readApprovalLinkConfig } from './approval-link-config';
import { readBaseUrl, readInteger, readString, SALESFORCE_TIMEOUT_BOUNDS } from './env';

export interface TokenConfig {
  readonly tableName: string;
  /** No trailing slash. */
  readonly publicBaseUrl: string;
  /**
   * Per-attempt timeout for Salesforce calls, ms, from 1000 to 6000: the same bounds the CDK
   * construct enforces, so three attempts and their backoff fit the function's 20 s timeout and
   * API Gateway's 29 s limit.
   * @default 5000
   */
  readonly salesforceTimeoutMs: number;
  /** How long a signing key is served from memory before it is re-read, seconds. @default 300 */
  readonly signingKeyMaxAgeSeconds: number;
  /** The KMS key (id, ARN or alias) the shared token cache is sealed under (`TOKEN_CACHE_KEY_ID`). */
  readonly tokenCacheKeyId: string;
  /**
   * How long a failure that does not change by itself is answered from the fleet's memory before
   * Salesforce is asked again, seconds (jittered by up to 20%); 0 turns the memory off.
   * @default 60
   */
  readonly failureMemorySeconds: number;
  /** A token younger than this is not dropped by forceRefresh or DELETE, seconds. @default 30 */
  readonly minTokenAgeSeconds: number;
  /** The key and lifetime of the approval links in remediations and the status route. */
  readonly approvalLinks: ApprovalLinkConfig;
}

export function readTokenConfig(env: Readonly<Record<string, string | undefined>>): TokenConfig {
  return {
    tableName: readString(env, 'TABLE_NAME'),
    publicBaseUrl: readBaseUrl(env, 'PUBLIC_BASE_URL'),
    salesforceTimeoutMs: readInteger(env, 'SALESFORCE_TIMEOUT_MS', 5000, SALESFORCE_TIMEOUT_BOUNDS),
    signingKeyMaxAgeSeconds: readInteger(env, 'SIGNING_KEY_MAX_AGE_SECONDS', 300, {
      min: 0,
      max: 86_400,
    }),
    tokenCacheKeyId: readString(env, 'TOKEN_CACHE_KEY_ID'),
    failureMemorySeconds: readInteger(env, 'FAILURE_MEMORY_SECONDS', 60, { min: 0, max: 3600 }),
    minTokenAgeSeconds: readInteger(env, 'MIN_TOKEN_AGE_SECONDS', 30, { min: 0, max: 600 }),
    approvalLinks: readApprovalLinkConfig(env),
  };
}
