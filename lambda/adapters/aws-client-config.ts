/**
 * Timeouts and retries for the one AWS SDK client the functions still build (Secrets Manager; the
 * other services go through aws-request.ts, which applies the same limits). The SDK's node HTTP
 * handler has no timeout by default: a stalled call would run until the Lambda timeout, and API
 * Gateway would answer 502/504 without the broker's contract body. Plain constructor options, no
 * SDK import, so the client can still be built off the cold-start path.
 */

export interface AwsClientLimits {
  /** Attempts per call, the first included (the SDK's standard retry strategy). @default 3 */
  readonly maxAttempts?: number | undefined;
  /** Per-attempt limit for connecting and for the whole response, ms. @default 1000 */
  readonly attemptTimeoutMs?: number | undefined;
}

/** The part of an SDK client's configuration that bounds how long one call may take. */
export interface BoundedClientConfig {
  readonly maxAttempts: number;
  readonly requestHandler: {
    readonly connectionTimeout: number;
    readonly requestTimeout: number;
    readonly throwOnRequestTimeout: true;
  };
}

/**
 * Spread into any SDK v3 client's constructor options. With the defaults a call gives up after
 * about 3 s (three 1 s attempts plus the SDK's jittered backoff): DynamoDB and Secrets Manager
 * answer in tens of milliseconds, so an attempt that has not answered in 1 s is stalled.
 */
export function buildBoundedClientConfig(limits: AwsClientLimits = {}): BoundedClientConfig {
  const timeout = limits.attemptTimeoutMs ?? 1000;
  return {
    maxAttempts: limits.maxAttempts ?? 3,
    requestHandler: {
      connectionTimeout: timeout,
      requestTimeout: timeout,
      // Without it the handler only logs a warning and the attempt keeps waiting.
      throwOnRequestTimeout: true,
    },
  };
}
