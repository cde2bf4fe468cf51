/**
 * The JWT Bearer assertion (RFC 7523, docs/contracts.md#assertion-claims): claims decided here,
 * signed with RS256 by whichever signer holds the org's key (a key in memory, or KMS). The signed
 * assertion is a credential: it is never logged, stored or returned.
 */
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

/** Produces an RS256 (RSASSA-PKCS1-v1_5 with SHA-256) signature over `data`. */
export interface AssertionSigner {
  sign(data: Uint8Array): Promise<Uint8Array>;
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

const HEADER = Buffer.from(JSON.stringify({ alg: 'RS256', typ: 'JWT' })).toString('base64url');

/** Signs `claims` as a compact JWS under the header `{"alg":"RS256","typ":"JWT"}`. */
export async function signAssertion(
  claims: AssertionClaims,
  signer: AssertionSigner,
): Promise<string> {
  const signingInput = `${HEADER}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
  const signature = await signer.sign(new TextEncoder().encode(signingInput));
  return `${signingInput}.${Buffer.from(signature).toString('base64url')}`;
}
