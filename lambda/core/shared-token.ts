/**
 * The fleet's shared state per org, and what to do with it. Lambda runs one request per execution
 * environment, so N cold environments would make N Salesforce logins; one item per org in the
 * table holds the sealed token, a lease with a fencing version (one exchange at a time, fleet-wide),
 * the last failure remembered for a while (known failures answered without another login), and
 * the logins of the last hour. Pure: the store reads and writes the item, this module decides.
 */
import { CATEGORY_TRAITS, type Category } from './categories';
import type { Remediation, SalesforceErrorDetail } from './types';

/** The token as the fleet shares it: sealed, never in plaintext in the table. */
export interface SharedToken {
  /** The grant JSON sealed under the stack's KMS key, with the org as encryption context. */
  readonly sealed: string;
  /** The fencing version of the lease whose exchange obtained it. */
  readonly version: number;
  /** When its exchange started, ms since the epoch (what invalidations compare against). */
  readonly obtainedAt: number;
  /** When the broker stops serving it, ms since the epoch. */
  readonly expiresAt: number;
  /** SHA-256 fingerprint of the certificate whose key signed the assertion, when known. */
  readonly keyFingerprint: string | undefined;
}

/** A failure answered from memory until `until`, with what the original answer said. */
export interface RememberedFailure {
  readonly category: Category;
  readonly message: string;
  readonly salesforce: SalesforceErrorDetail | undefined;
  readonly remediation: Remediation | undefined;
  /** The fencing version of the exchange that failed. */
  readonly version: number;
  /** When it was seen, ms since the epoch. */
  readonly at: number;
  /** Until when it is answered from memory, ms since the epoch. */
  readonly until: number;
}

export interface Lease {
  readonly owner: string;
  /** Ms since the epoch; an expired lease may be taken over. */
  readonly expiresAt: number;
}

/** Logins per five-minute bucket (bucket = floor(ms / 300000)). */
export type LoginBuckets = Readonly<Record<number, number>>;

export interface SharedTokenState {
  /** Bumped by every lease taken: the fencing token of the latest exchange. */
  readonly version: number;
  readonly lease: Lease | undefined;
  readonly token: SharedToken | undefined;
  readonly failure: RememberedFailure | undefined;
  readonly logins: LoginBuckets;
}

/**
 * The encryption context of the data keys that seal shared tokens: what KMS checks, what the key
 * grant is conditioned on (with the table's name), and what CloudTrail records.
 */
export const TOKEN_CACHE_PURPOSE = 'salesforce-token-broker/token-cache';

export const LOGIN_BUCKET_MS = 300_000;
/** Salesforce's limit on logins per user per hour. */
export const SALESFORCE_LOGINS_PER_HOUR = 3600;

export function loginBucketOf(now: number): number {
  return Math.floor(now / LOGIN_BUCKET_MS);
}

/** Logins in the buckets that overlap the last hour (the current bucket and the 11 before it). */
export function countLoginsLastHour(logins: LoginBuckets, now: number): number {
  const current = loginBucketOf(now);
  let total = 0;
  for (const [bucket, count] of Object.entries(logins)) {
    const age = current - Number(bucket);
    if (age >= 0 && age < 12) total += count;
  }
  return total;
}

/**
 * Failures answered from the fleet's memory: those that stay until someone fixes something, and
 * Salesforce's own backoffs (remembered for their Retry-After).
 */
export function isRememberedCategory(category: Category): boolean {
  return (
    !CATEGORY_TRAITS[category].retryable ||
    category === 'login_rate_exceeded' ||
    category === 'salesforce_unavailable'
  );
}

/**
 * How long a failure is answered from memory: Salesforce's own backoff for the retryable ones
 * (`retryAfterMs`), else `memoryMs` with up to 20% jitter either way, so environments that learned
 * it together do not all try again in the same instant.
 */
export function rememberFor(
  retryAfterMs: number | undefined,
  memoryMs: number,
  random: () => number,
): number {
  if (retryAfterMs !== undefined) return retryAfterMs;
  return Math.round(memoryMs * (0.8 + 0.4 * random()));
}

export type SharedDecision =
  | { readonly kind: 'serve'; readonly token: SharedToken }
  | { readonly kind: 'remembered'; readonly failure: RememberedFailure }
  | { readonly kind: 'exchange' }
  | { readonly kind: 'wait'; readonly leaseExpiresAt: number };

export interface DecideOptions {
  readonly now: number;
  /** A token obtained before this (an invalidation from any environment) is not served. */
  readonly invalidatedAt: number | undefined;
  /** A token this close to its expiry is not handed out, ms. */
  readonly expiryMarginMs: number;
}

/** Whether the shared token may be served now. */
export function isServable(token: SharedToken, options: DecideOptions): boolean {
  if (options.now + options.expiryMarginMs >= token.expiresAt) return false;
  return options.invalidatedAt === undefined || token.obtainedAt >= options.invalidatedAt;
}

/** What a request that missed its environment's memory does with the org's shared state. */
export function decideShared(
  state: SharedTokenState | undefined,
  options: DecideOptions,
): SharedDecision {
  if (!state) return { kind: 'exchange' };
  const { token, failure, lease } = state;
  // A failure newer than the token is the org's current state; an older one was fixed since.
  if (failure && failure.until > options.now && (!token || failure.version > token.version)) {
    return { kind: 'remembered', failure };
  }
  if (token && isServable(token, options)) return { kind: 'serve', token };
  if (lease && lease.expiresAt > options.now) {
    return { kind: 'wait', leaseExpiresAt: lease.expiresAt };
  }
  return { kind: 'exchange' };
}

/**
 * What a request waiting on another environment's exchange learns from a fresh read: the winner's
 * token or failure (anything from an exchange at or after `sinceVersion`), or that the lease is
 * free again without either (the holder gave up or died: take over).
 */
export function decideAfterWait(
  state: SharedTokenState | undefined,
  sinceVersion: number,
  options: DecideOptions,
): SharedDecision {
  if (!state) return { kind: 'exchange' };
  const { token, failure, lease } = state;
  if (token && token.version >= sinceVersion && isServable(token, options)) {
    return { kind: 'serve', token };
  }
  if (failure && failure.version >= sinceVersion && failure.until > options.now) {
    return { kind: 'remembered', failure };
  }
  if (lease && lease.expiresAt > options.now) {
    return { kind: 'wait', leaseExpiresAt: lease.expiresAt };
  }
  return decideShared(state, options);
}

/**
 * Whether a caller's forceRefresh or DELETE may drop the shared token: not while it is younger
 * than `minAgeMs`, so no caller can spend the org's logins by asking again and again.
 */
export function mayDropToken(token: SharedToken, now: number, minAgeMs: number): boolean {
  return now - token.obtainedAt >= minAgeMs;
}
