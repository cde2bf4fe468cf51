/**
 * The JWT Bearer assertion (RFC 7523, docs/contracts.md#assertion-claims): claims decided here, signed with RS256 by jose.
 * The signed assertion is a credential: it is never logged, stored or returned.
 */
import { type CryptoKey, SignJWT } from 'jose';
import type { OrgRecord } from './types';

/**
 * Seconds from `iat` to `exp`. Salesforce wants `exp` within 3 minutes; staying below that leaves
 * room for a server clock running a little ahead of Salesforce's.
 * @default 150
 */
export const ASSERTION_LIFETIME_SECONDS = 150;

export interface AssertionClaims {
  readonly iss: string;
  readonly sub: string;
  readonly aud: string;
  /** Seconds since the epoch, as a JSON number. */
  readonly exp: number;
  readonly iat: number;
  readonly jti: string;
}

/** The claims of an assertion for `org` issued at `nowMs`. */
export function buildAssertionClaims(
  org: Pick<OrgRecord, 'consumerKey' | 'username' | 'audience'>,
  nowMs: number,
  jti: string = crypto.randomUUID(),
): AssertionClaims {
  const iat = Math.floor(nowMs / 1000);
  return {
    iss: org.consumerKey,
    sub: org.username,
    aud: org.audience,
    exp: iat + ASSERTION_LIFETIME_SECONDS,
    iat,
    jti,
  };
}

/** Signs `claims` with RS256 under the header `{"alg":"RS256","typ":"JWT"}`. */
export function signAssertion(claims: AssertionClaims, privateKey: CryptoKey): Promise<string> {
  return new SignJWT({ ...claims })
    .setProtectedHeader({ alg: 'RS256', typ: 'JWT' })
    .sign(privateKey);
}
