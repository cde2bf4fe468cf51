/**
 * A request's time budget, in one place. A Lambda invocation ends hard at its timeout, and API
 * Gateway turns that into an undocumented 502, so every request is planned against the time the
 * function has left: when the last Salesforce call may start, when the answer is due, and when
 * the guard answers 503 instead of letting the invocation time out. Timers come from an
 * injectable {@link TimeSource}, so tests move time instead of waiting for it.
 */

/** The clock and timers behind every deadline. */
export interface TimeSource {
  /** Milliseconds since the epoch. */
  now(): number;
  /**
   * Calls `callback` once after `ms`.
   * @returns a function that cancels the call
   */
  after(ms: number, callback: () => void): () => void;
}

/** Real time: `Date.now` and unreferenced timers (a pending deadline never holds a process open). */
export const SYSTEM_TIME: TimeSource = {
  now: () => Date.now(),
  after(ms, callback) {
    const timer = setTimeout(callback, Math.max(0, ms));
    timer.unref?.();
    return () => clearTimeout(timer);
  },
};

/** The margins of a function's time budget, ms. */
export const DEADLINE_MARGINS = {
  /** Kept back from the function's remaining time to build and send the answer. */
  response: 500,
  /**
   * The guard answers 503 this long before the function times out. Smaller than `response`, so
   * a Salesforce failure found at the deadline is still answered as itself.
   */
  outOfTime: 250,
  /**
   * Kept after the last Salesforce call for the exchange's bookkeeping (incidents, events, the
   * outcome record): this, or a quarter of the budget when that is less. Each is one AWS call of
   * tens of milliseconds; whatever still runs when it is spent is abandoned, never the answer.
   */
  bookkeeping: 1000,
  /** Bookkeeping time past `salesforceBy` when a caller plans no `respondBy` of its own. */
  bookkeepingGrace: 200,
} as const;

/** When each part of a request must be done, ms since the epoch. */
export interface RequestDeadline {
  /** No Salesforce call starts after this, and none runs past it. */
  readonly salesforceBy: number;
  /**
   * The answer is due. Bookkeeping still running then is abandoned (logged and counted), never
   * the answer.
   */
  readonly respondBy: number;
}

/**
 * Plans a request that has `remainingMs` before the function times out: the answer is due
 * {@link DEADLINE_MARGINS.response} before, and the bookkeeping reserve comes off the end of the
 * Salesforce time.
 */
export function planRequestDeadline(remainingMs: number, now: number): RequestDeadline {
  const budget = Math.max(0, remainingMs - DEADLINE_MARGINS.response);
  const respondBy = now + budget;
  // Whole ms: Salesforce calls turn what is left into an abort timeout.
  const reserve = Math.min(DEADLINE_MARGINS.bookkeeping, Math.floor(budget / 4));
  return { salesforceBy: respondBy - reserve, respondBy };
}

/** A deadline for work that plans no bookkeeping time of its own (a CLI run, a test). */
export function deadlineIn(ms: number, now: number): RequestDeadline {
  const salesforceBy = now + ms;
  return { salesforceBy, respondBy: salesforceBy + DEADLINE_MARGINS.bookkeepingGrace };
}

/** Ms from `now` until `at`; 0 once it has passed. */
export function timeLeft(at: number, now: number): number {
  return Math.max(0, at - now);
}

/** The timeout of one call: its own limit, cut to what is left before `at`; 0 when none is. */
export function attemptTimeout(limitMs: number, at: number, now: number): number {
  return Math.min(limitMs, timeLeft(at, now));
}

/** Whether work of `ms` started `now` ends by `at`. */
export function fits(ms: number, at: number, now: number): boolean {
  return now + ms <= at;
}

/**
 * An abort signal that fires with a `TimeoutError` after `ms` (at least 1: a zero timeout would
 * abort before the request leaves), on `time`.
 */
export function timeoutSignal(ms: number, time: TimeSource = SYSTEM_TIME): AbortSignal {
  const wholeMs = Math.max(1, Math.ceil(ms));
  if (time === SYSTEM_TIME) return AbortSignal.timeout(wholeMs);
  const controller = new AbortController();
  time.after(wholeMs, () =>
    controller.abort(new DOMException('The operation timed out.', 'TimeoutError')),
  );
  return controller.signal;
}

/** What became of work raced against a deadline. */
export type Settled<T> =
  | { readonly settled: true; readonly value: T }
  | { readonly settled: false };

/**
 * Waits for `work` until `at` at most. Work still running then is not cancelled (nothing can
 * cancel a promise): the caller decides what to answer, and the work must report its own failures.
 * A rejection of `work` is passed on.
 */
export async function settleBy<T>(
  work: Promise<T>,
  at: number,
  time: TimeSource = SYSTEM_TIME,
): Promise<Settled<T>> {
  let cancel: (() => void) | undefined;
  const expiry = new Promise<Settled<T>>((resolve) => {
    cancel = time.after(timeLeft(at, time.now()), () => resolve({ settled: false }));
  });
  const outcome = work.then((value) => ({ settled: true, value }) as const);
  // Work left behind may still fail: that must not become an unhandled rejection (which ends a
  // Node process, and with it the Lambda environment).
  outcome.catch(() => undefined);
  try {
    return await Promise.race([outcome, expiry]);
  } finally {
    cancel?.();
  }
}
