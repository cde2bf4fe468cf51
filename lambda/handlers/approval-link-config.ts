/** The approval-link settings both functions read, once, at cold start. */
import { readInteger, readString } from './env';

export interface ApprovalLinkConfig {
  /** The KMS HMAC_256 key that signs and checks approval links (`APPROVAL_LINK_KEY_ID`). */
  readonly keyId: string;
  /**
   * How long a minted link starts approvals, seconds (`APPROVAL_LINK_TTL_SECONDS`), from 5 minutes
   * to 30 days.
   * @default 604800 (7 days)
   */
  readonly lifetimeSeconds: number;
}

/** The default lifetime of an approval link: long enough for an operator away for a weekend. */
export const DEFAULT_APPROVAL_LINK_TTL_SECONDS = 7 * 86_400;

/** @throws ConfigError naming the missing or malformed variable */
export function readApprovalLinkConfig(
  env: Readonly<Record<string, string | undefined>>,
): ApprovalLinkConfig {
  return {
    keyId: readString(env, 'APPROVAL_LINK_KEY_ID'),
    lifetimeSeconds: readInteger(
      env,
      'APPROVAL_LINK_TTL_SECONDS',
      DEFAULT_APPROVAL_LINK_TTL_SECONDS,
      {
        min: 300,
        max: 30 * 86_400,
      },
    ),
  };
}
