/**
 * HTTP client for Salesforce's token endpoint: form-encoded POSTs with a bounded per-attempt
 * timeout, retried only when the core classifies the answer as `salesforce_unavailable`, with
 * jittered backoff that never runs past the caller's deadline. Returns the raw last answer; the
 * core decides what it means.
 */
import {
  type BackoffPolicy,
  computeBackoffDelay,
  DEFAULT_BACKOFF,
  fitsDeadline,
} from '../core/backoff';
import { classifyTokenAnswer, type TokenEndpointAnswer } from '../core/classify';
import type { TokenEndpointClient, TokenEndpointResult } from '../core/ports';
import type { Clock } from '../core/types';

export interface SalesforceTokenClientOptions {
  /** Per-attempt timeout, ms. @default 5000 */
  readonly timeoutMs?: number;
  /** @default DEFAULT_BACKOFF (3 attempts, 100 ms base, 2 s cap) */
  readonly backoff?: BackoffPolicy;
  /** A retry is only started if at least this much time remains after its delay, ms. @default 250 */
  readonly minAttemptMs?: number;
  /** Bodies are read up to this size; Salesforce's answers are a few hundred bytes. @default 65536 */
  readonly maxBodyBytes?: number;
  readonly clock?: Clock;
  readonly random?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly fetch?: typeof fetch;
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

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
      // AbortSignal.timeout needs a whole number of ms; deadlines derived from clocks are not.
      signal: AbortSignal.timeout(Math.max(1, Math.ceil(options.timeoutMs))),
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
  const clock = options.clock ?? Date.now;
  const random = options.random ?? Math.random;
  const sleep = options.sleep ?? defaultSleep;
  const doFetch = options.fetch ?? fetch;

  const attempt = (url: string, form: Record<string, string>, budgetMs: number) =>
    postTokenForm(url, form, {
      timeoutMs: Math.max(1, Math.min(timeoutMs, budgetMs)),
      maxBodyBytes,
      fetch: doFetch,
    });

  return {
    async postForm(url, buildForm, { deadline }): Promise<TokenEndpointResult> {
      const started = clock();
      let attempts = 0;
      for (;;) {
        attempts += 1;
        const answer = await attempt(url, await buildForm(), deadline - clock());
        const outcome = classifyTokenAnswer(answer);
        const retryable = !outcome.ok && outcome.category === 'salesforce_unavailable';
        const delay = computeBackoffDelay(attempts, backoff, random);
        if (
          !retryable ||
          attempts >= backoff.maxAttempts ||
          !fitsDeadline(clock(), delay, minAttemptMs, deadline)
        ) {
          return { answer, attempts, latencyMs: clock() - started };
        }
        await sleep(delay);
      }
    },
  };
}
