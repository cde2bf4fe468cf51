import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  checkConsumedState,
  computeS256Challenge,
  createAttempt,
  createPkcePair,
  generateRandomToken,
  hashValue,
  isWellFormedToken,
} from '../../lambda/core/oauth-state';

const now = Date.UTC(2026, 10, 28, 12, 0, 0);
const attempt = (existingCookieValue?: string) =>
  createAttempt({
    orgId: 'acme',
    loginUrl: 'https://login.salesforce.com',
    existingCookieValue,
    now,
    ttlSeconds: 600,
  });

describe('oauth state', () => {
  it('draws 256-bit base64url values that never repeat', () => {
    const values = new Set(Array.from({ length: 200 }, generateRandomToken));
    expect(values.size).toBe(200);
    for (const value of values) expect(isWellFormedToken(value)).toBe(true);
    expect(Buffer.from([...values][0] as string, 'base64url')).toHaveLength(32);
  });

  it('computes the PKCE S256 challenge of RFC 7636 appendix B', () => {
    expect(computeS256Challenge('dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk')).toBe(
      'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
    );
    const pair = createPkcePair();
    expect(pair.verifier).toMatch(/^[A-Za-z0-9_-]{43,128}$/);
    expect(pair.challenge).toBe(createHash('sha256').update(pair.verifier).digest('base64url'));
  });

  it('stores only hashes of the state and the cookie, and the expiry from the TTL', () => {
    const a = attempt();
    expect(a.record.stateHash).toBe(hashValue(a.state));
    expect(a.record.cookieHash).toBe(hashValue(a.cookieValue));
    expect(JSON.stringify(a.record)).not.toContain(a.state);
    expect(JSON.stringify(a.record)).not.toContain(a.cookieValue);
    expect(a.record.codeVerifier).toBe(a.pkce.verifier);
    expect(a.record.expiresAt - a.record.createdAt).toBe(600_000);
  });

  it('keeps a well-formed existing cookie and replaces a malformed one', () => {
    const existing = generateRandomToken();
    expect(attempt(existing).cookieValue).toBe(existing);
    expect(attempt('<script>').cookieValue).not.toBe('<script>');
    expect(isWellFormedToken(attempt('<script>').cookieValue)).toBe(true);
  });

  it('accepts the right cookie before expiry at the same login host', () => {
    const a = attempt();
    const check = checkConsumedState({
      record: a.record,
      cookieValue: a.cookieValue,
      now: a.record.expiresAt - 1,
      currentLoginUrl: 'https://login.salesforce.com',
    });
    expect(check).toEqual({ ok: true, record: a.record });
  });

  it.each([
    ['unknown_or_used', { record: undefined }],
    ['expired', { now: now + 600_000 }],
    ['cookie_missing', { cookieValue: undefined }],
    ['cookie_mismatch', { cookieValue: generateRandomToken() }],
    ['org_changed', { currentLoginUrl: 'https://test.salesforce.com' }],
    ['org_not_found', { currentLoginUrl: undefined }],
  ] as const)('refuses with %s', (reason, override) => {
    const a = attempt();
    const check = checkConsumedState({
      record: a.record,
      cookieValue: a.cookieValue,
      now,
      currentLoginUrl: 'https://login.salesforce.com',
      ...override,
    });
    expect(check).toMatchObject({ ok: false, reason });
  });
});
