/**
 * Retry timing for transient Salesforce failures: exponential backoff with full jitter, cut off
 * by the caller's deadline so a retry never outlives the Lambda invocation.
 */

export interface BackoffPolicy {
  /** Delay cap for the first retry, ms. @default 100 */
  readonly baseMs: number;
  /** Largest delay, ms. @default 2000 */
  readonly maxMs: number;
  /** Attempts in total, the first included. @default 3 */
  readonly maxAttempts: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 100, maxMs: 2000, maxAttempts: 3 };

/**
 * The delay before retry number `retry` (1 for the first retry): uniform in
 * `[0, min(maxMs, baseMs * 2^(retry-1))]` ("full jitter"), so instances that failed together do
 * not retry together.
 */
export function computeBackoffDelay(
  retry: number,
  policy: BackoffPolicy = DEFAULT_BACKOFF,
  random: () => number = Math.random,
): number {
  const cap = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.max(0, retry - 1));
  return Math.floor(random() * cap);
}
