/**
 * Signs JWT bearer assertions for tests, with full control over header and claims (string or
 * millisecond `exp`, `prn`, arrays) so edge cases can be sent exactly as a client would.
 */
import { createSign } from 'node:crypto';

export interface AssertionClaims {
  iss?: unknown;
  sub?: unknown;
  prn?: unknown;
  aud?: unknown;
  exp?: unknown;
  [claim: string]: unknown;
}

function encode(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

/** A compact RS256 JWS over `claims`; `exp` defaults to now + 180 s in seconds. */
export function signAssertion(
  privateKeyPem: string,
  claims: AssertionClaims,
  header: Record<string, unknown> = { alg: 'RS256', typ: 'JWT' },
): string {
  const body = { exp: Math.floor(Date.now() / 1000) + 180, ...claims };
  const signingInput = `${encode(header)}.${encode(body)}`;
  const signature = createSign('RSA-SHA256').update(signingInput).sign(privateKeyPem);
  return `${signingInput}.${signature.toString('base64url')}`;
}

/** POSTs a form to `{loginUrl}/services/oauth2/token` and returns status and parsed body. */
export async function postTokenForm(
  loginUrl: string,
  form: Record<string, string>,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${loginUrl}/services/oauth2/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(form),
  });
  const text = await response.text();
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    body = { raw: text };
  }
  return { status: response.status, body };
}

export const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
