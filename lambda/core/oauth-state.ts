/**
 * The state of one approval attempt: what `/oauth/authorize` creates and `/oauth/callback`
 * consumes. Pure apart from drawing random bytes and hashing.
 *
 * Design (see docs/approval-loop.md):
 * - `state` is 32 random bytes (base64url). Only its SHA-256 is stored, so a reader of the table
 *   cannot forge a callback.
 * - The attempt is bound to the browser that started it: a random binding value travels in an
 *   HttpOnly cookie, and only its hash is stored next to the state.
 * - The attempt is bound to the org and to the login host it was sent to: the code is exchanged
 *   at that same host, and an org whose login URL changed meanwhile invalidates it.
 * - Expiry is decided here from `expiresAt`; DynamoDB TTL only cleans up eventually.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** Bytes of entropy in `state`, the PKCE verifier and the cookie binding value. */
const ENTROPY_BYTES = 32;
/** base64url of {@link ENTROPY_BYTES} bytes, no padding. */
const TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;

/** A fresh, high-entropy value: 32 random bytes, base64url (43 characters). */
export function generateRandomToken(): string {
  return randomBytes(ENTROPY_BYTES).toString('base64url');
}

/** Whether `value` has the exact shape of a value from {@link generateRandomToken}. */
export function isWellFormedToken(value: string): boolean {
  return TOKEN_PATTERN.test(value);
}

/** Hex SHA-256; what is stored instead of the state and the cookie binding value. */
export function hashValue(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('hex');
}

export interface PkcePair {
  /** Kept server-side with the state; sent only to the token endpoint. */
  readonly verifier: string;
  /** `BASE64URL(SHA256(verifier))`, sent on the authorize request with method `S256`. */
  readonly challenge: string;
}

/** A PKCE S256 pair (RFC 7636): a 43-character verifier and its challenge. */
export function createPkcePair(): PkcePair {
  const verifier = generateRandomToken();
  return { verifier, challenge: computeS256Challenge(verifier) };
}

export function computeS256Challenge(verifier: string): string {
  return createHash('sha256').update(verifier, 'ascii').digest('base64url');
}

/** One approval attempt as stored (hashed state as key). Holds no authorization code or token. */
export interface OAuthStateRecord {
  /** Hex SHA-256 of the `state` parameter. */
  readonly stateHash: string;
  readonly orgId: string;
  /** The login host (origin) the browser was sent to; the code is exchanged there. */
  readonly loginUrl: string;
  readonly codeVerifier: string;
  /** Hex SHA-256 of the browser-binding cookie value. */
  readonly cookieHash: string;
  /** Epoch milliseconds. */
  readonly createdAt: number;
  /** Epoch milliseconds; the attempt is dead from this instant on. */
  readonly expiresAt: number;
}

/** What `/oauth/authorize` needs to create an attempt. */
export interface NewAttempt {
  /** The `state` parameter to send to Salesforce; never stored in clear. */
  readonly state: string;
  readonly pkce: PkcePair;
  /** The browser-binding cookie value: reused when the browser already holds a valid one. */
  readonly cookieValue: string;
  readonly record: OAuthStateRecord;
}

/**
 * Creates a new attempt for an org. A browser that already carries a well-formed binding cookie
 * keeps it, so several approval tabs in one browser do not invalidate each other.
 */
export function createAttempt(input: {
  readonly orgId: string;
  readonly loginUrl: string;
  readonly existingCookieValue: string | undefined;
  readonly now: number;
  readonly ttlSeconds: number;
}): NewAttempt {
  const state = generateRandomToken();
  const pkce = createPkcePair();
  const cookieValue =
    input.existingCookieValue && isWellFormedToken(input.existingCookieValue)
      ? input.existingCookieValue
      : generateRandomToken();
  return {
    state,
    pkce,
    cookieValue,
    record: {
      stateHash: hashValue(state),
      orgId: input.orgId,
      loginUrl: input.loginUrl,
      codeVerifier: pkce.verifier,
      cookieHash: hashValue(cookieValue),
      createdAt: input.now,
      expiresAt: input.now + input.ttlSeconds * 1000,
    },
  };
}

/** Why a callback's state was refused. Shown to the operator; never reveals a stored value. */
export type StateFailure =
  | 'missing'
  | 'malformed'
  | 'unknown_or_used'
  | 'expired'
  | 'cookie_missing'
  | 'cookie_mismatch'
  | 'org_not_found'
  | 'org_changed';

export type StateCheck =
  | { readonly ok: true; readonly record: OAuthStateRecord }
  | { readonly ok: false; readonly reason: StateFailure; readonly orgId?: string | undefined };

/**
 * Decides whether a consumed attempt may proceed. The attempt has already been removed from the
 * store, so every refusal here also burns it: a state that was seen with the wrong cookie is dead.
 * @param currentLoginUrl the org's login URL now, or `undefined` when the org no longer exists
 */
export function checkConsumedState(input: {
  readonly record: OAuthStateRecord | undefined;
  readonly cookieValue: string | undefined;
  readonly now: number;
  readonly currentLoginUrl: string | undefined;
}): StateCheck {
  const { record } = input;
  if (!record) return { ok: false, reason: 'unknown_or_used' };
  const orgId = record.orgId;
  if (input.now >= record.expiresAt) return { ok: false, reason: 'expired', orgId };
  if (!input.cookieValue) return { ok: false, reason: 'cookie_missing', orgId };
  if (!constantTimeEqualHex(hashValue(input.cookieValue), record.cookieHash)) {
    return { ok: false, reason: 'cookie_mismatch', orgId };
  }
  if (input.currentLoginUrl === undefined) return { ok: false, reason: 'org_not_found', orgId };
  if (input.currentLoginUrl !== record.loginUrl) return { ok: false, reason: 'org_changed', orgId };
  return { ok: true, record };
}

function constantTimeEqualHex(a: string, b: string): boolean {
  const left = Buffer.from(a, 'hex');
  const right = Buffer.from(b, 'hex');
  return left.length === right.length && timingSafeEqual(left, right);
}
