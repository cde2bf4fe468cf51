/**
 * HTTP client for Salesforce's token endpoint: form-encoded POSTs with a bounded per-attempt
 * timeout, retried only when the core classifies the answer as `salesforce_unavailable`, with
 * jittered backoff that never runs past the caller's deadline. Returns the raw last answer; the
 * core decides what it means.
 */
import { type BackoffPolicy, computeBackoffDelay, DEFAULT_BACKOFF } from '../core/backoff';
import { classifyTokenAnswer, type TokenEndpointAnswer } from '../core/classify';
import {
  attemptTimeout,
  fits,
  SYSTEM_TIME,
  type TimeSource,
  timeoutSignal,
} from '../core/deadline';
import type { TokenEndpointClient, TokenEndpointResult } from '../core/ports';

export interface SalesforceTokenClientOptions {
  /** Per-attempt timeout, ms. @default 5000 */
  readonly timeoutMs?: number;
  /** @default DEFAULT_BACKOFF (3 attempts, 100 ms base, 2 s cap) */
  readonly backoff?: BackoffPolicy;
  /** A retry is only started if at least this much time remains after its delay, ms. @default 250 */
  readonly minAttemptMs?: number;
  /** Bodies are read up to this size; Salesforce's answers are a few hundred bytes. @default 65536 */
  readonly maxBodyBytes?: number;
  /** Clock and timers of the deadline and the per-attempt timeout. @default real time */
  readonly time?: TimeSource;
  readonly random?: () => number;
  /** Waits between attempts. @default a timer on `time` */
  readonly sleep?: (ms: number) => Promise<void>;
  readonly fetch?: typeof fetch;
}

/** Salesforce's answers are a few hundred bytes; nothing larger is read. */
export const DEFAULT_MAX_BODY_BYTES = 65_536;

/** The response body as UTF-8, read up to `maxBytes`; the rest is never downloaded. */
export async function readCapped(response: Response, maxBytes: number): Promise<string> {
  if (!response.body) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    size += value.byteLength;
    if (size >= maxBytes) {
      await reader.cancel();
      break;
    }
  }
  return Buffer.concat(chunks).subarray(0, maxBytes).toString('utf8');
}

function describeNetworkError(error: unknown): string {
  const cause = (error as { cause?: { code?: unknown; message?: unknown } }).cause;
  if (typeof cause?.code === 'string') return cause.code;
  if (typeof cause?.message === 'string') return cause.message;
  return error instanceof Error ? error.message : String(error);
}

/**
 * One form-encoded POST to a token endpoint, never following a redirect, with the body read up to
 * `maxBodyBytes`. A timeout or network failure is returned as an answer, never thrown.
 */
export async function postTokenForm(
  url: string,
  form: Record<string, string>,
  options: {
    readonly timeoutMs: number;
    readonly maxBodyBytes: number;
    readonly fetch?: typeof fetch;
    /** @default real time */
    readonly time?: TimeSource;
  },
): Promise<TokenEndpointAnswer> {
  const doFetch = options.fetch ?? fetch;
  try {
    const response = await doFetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        accept: 'application/json',
      },
      body: new URLSearchParams(form).toString(),
      // A redirect would re-send the assertion (or the authorization code) to wherever it points.
      redirect: 'manual',
      signal: timeoutSignal(options.timeoutMs, options.time),
    });
    return {
      kind: 'response',
      status: response.status,
      contentType: response.headers.get('content-type') ?? '',
      body: await readCapped(response, options.maxBodyBytes),
    };
  } catch (error) {
    if ((error as { name?: unknown }).name === 'TimeoutError') {
      return { kind: 'timeout', timeoutMs: options.timeoutMs };
    }
    return { kind: 'network', message: describeNetworkError(error) };
  }
}

/** A {@link TokenEndpointClient} over `fetch`. */
export function createSalesforceTokenClient(
  options: SalesforceTokenClientOptions = {},
): TokenEndpointClient {
  const timeoutMs = options.timeoutMs ?? 5000;
  const backoff = options.backoff ?? DEFAULT_BACKOFF;
  const minAttemptMs = options.minAttemptMs ?? 250;
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const time = options.time ?? SYSTEM_TIME;
  const clock = () => time.now();
  const random = options.random ?? Math.random;
  const sleep =
    options.sleep ??
    ((ms: number) =>
      new Promise<void>((resolve) => {
        time.after(ms, resolve);
      }));
  const doFetch = options.fetch ?? fetch;

  return {
    async postForm(url, buildForm, { deadline }): Promise<TokenEndpointResult> {
      const started = clock();
      let attempts = 0;
      for (;;) {
        attempts += 1;
        const form = await buildForm();
        const answer = await postTokenForm(url, form, {
          timeoutMs: attemptTimeout(timeoutMs, deadline, clock()),
          maxBodyBytes,
          fetch: doFetch,
          time,
        });
        const classification = classifyTokenAnswer(answer);
        const retryable =
          !classification.ok && classification.category === 'salesforce_unavailable';
        const delay = computeBackoffDelay(attempts, backoff, random);
        if (
          !retryable ||
          attempts >= backoff.maxAttempts ||
          !fits(delay + minAttemptMs, deadline, clock())
        ) {
          return { answer, classification, attempts, latencyMs: clock() - started };
        }
        await sleep(delay);
      }
    },
  };
}
