/** The OAuth function's configuration, read and validated once at cold start. */
import { type ApprovalLinkConfig, readApprovalLinkConfig } from './approval-link-config';
import { readBaseUrl, readInteger, readString, SALESFORCE_TIMEOUT_BOUNDS } from './env';

export interface OAuthConfig {
  /** The broker's DynamoDB table (`TABLE_NAME`). */
  readonly tableName: string;
  /** The API's public base URL, no trailing slash (`PUBLIC_BASE_URL`). */
  readonly publicBaseUrl: string;
  /** Lifetime of an approval attempt (`OAUTH_STATE_TTL_SECONDS`). @default 600 */
  readonly stateTtlSeconds: number;
  /** Per-request timeout for Salesforce calls (`SALESFORCE_TIMEOUT_MS`). @default 5000 */
  readonly salesforceTimeoutMs: number;
  /** The key and lifetime of the approval links `/oauth/authorize` checks. */
  readonly approvalLinks: ApprovalLinkConfig;
  /**
   * The token function to invoke for the callback's fresh exchange (`TOKEN_FUNCTION_NAME`): the
   * OAuth function holds no signing key. Required unless the runtime supplies its own
   * `tokenFunction` invoker (the local stack and the tests call the token function in-process).
   */
  readonly tokenFunctionName?: string;
}

/** @throws ConfigError naming the first missing or malformed variable */
export function readOAuthConfig(env: Readonly<Record<string, string | undefined>>): OAuthConfig {
  return {
    tableName: readString(env, 'TABLE_NAME'),
    publicBaseUrl: readBaseUrl(env, 'PUBLIC_BASE_URL'),
    // Salesforce codes live 15 minutes; an attempt may not outlive its code by much.
    stateTtlSeconds: readInteger(env, 'OAUTH_STATE_TTL_SECONDS', 600, { min: 60, max: 3600 }),
    salesforceTimeoutMs: readInteger(env, 'SALESFORCE_TIMEOUT_MS', 5000, SALESFORCE_TIMEOUT_BOUNDS),
    approvalLinks: readApprovalLinkConfig(env),
    tokenFunctionName: readString(env, 'TOKEN_FUNCTION_NAME'),
  };
}
