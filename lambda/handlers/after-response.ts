/**
 * Work after the response: what an answer must not wait for (sharing a fresh token with the fleet,
 * the exchange's bookkeeping, events, the invocation's EMF flush) runs once the handler has
 * returned, and the environment takes no other request until it has settled.
 *
 * Lambda ends an invocation when the runtime has posted the response and every extension has asked
 * for its next event; API Gateway gets the response at the first of those. The token function
 * registers an internal extension (lambda-extension.ts) that asks for its next event only when
 * {@link AfterResponseQueue.settled} resolves, so the work runs after the caller has its answer and
 * inside the invocation (billed, bounded by the function timeout, never frozen half done).
 * Without the extension (the local stack, in-process tests) nothing is deferred: the services
 * await the same work before answering.
 */
import type { AfterResponse } from '../core/ports';

export interface AfterResponseQueue {
  /** The handler starts serving invocation `requestId`: work deferred from now on belongs to it. */
  begin(requestId: string): void;
  /** Hands to the services: work that runs on after the invocation's response. */
  readonly defer: AfterResponse;
  /**
   * The invocation's handler has returned (or thrown): once its deferred work has settled,
   * `onSettled` runs (the metrics flush) and {@link settled} resolves.
   */
  finish(requestId: string): void;
  /**
   * Resolves when invocation `requestId` has finished and its work has settled, or at `byMs`
   * (epoch ms) if that comes first. The extension waits on it before it ends the invocation.
   */
  settled(requestId: string, byMs: number): Promise<void>;
  /**
   * Resolves when the handler has finished an invocation the extension has not yet been told of
   * (at once if one already has): the extension reads its next event then.
   */
  nextFinished(): Promise<void>;
}

export interface AfterResponseOptions {
  /** Runs once per invocation, after its work: one EMF flush carries everything it recorded. */
  readonly onSettled: () => void;
  /** @default Date.now */
  readonly now?: () => number;
}

interface Invocation {
  /** Deferred work not started yet: it starts when the invocation drains. */
  readonly work: (() => Promise<unknown>)[];
  finished: boolean;
  readonly done: Promise<void>;
  markDone(): void;
}

/** Finished invocations remembered for a late `settled` call; Lambda serves one at a time. */
const MAX_REMEMBERED = 16;

export function createAfterResponseQueue(options: AfterResponseOptions): AfterResponseQueue {
  const now = options.now ?? Date.now;
  const invocations = new Map<string, Invocation>();
  // The invocation being served; work deferred outside one (none is, today) just runs.
  let current: string | undefined;
  // Finished invocations the extension has not yet been told of, and who waits for the next one.
  let unclaimed = 0;
  const waiting: (() => void)[] = [];

  function invocationOf(requestId: string): Invocation {
    let invocation = invocations.get(requestId);
    if (!invocation) {
      let markDone!: () => void;
      const done = new Promise<void>((resolve) => {
        markDone = resolve;
      });
      invocation = { work: [], finished: false, done, markDone };
      invocations.set(requestId, invocation);
      while (invocations.size > MAX_REMEMBERED) {
        const oldest = invocations.keys().next().value;
        if (oldest === undefined) break;
        invocations.delete(oldest);
      }
    }
    return invocation;
  }

  /** Starts `work`; a rejection is the work's own to log and never surfaces as unhandled. */
  function start(work: () => Promise<unknown>): Promise<void> {
    return Promise.resolve()
      .then(work)
      .then(
        () => undefined,
        () => undefined,
      );
  }

  function waitUntil(done: Promise<unknown>, byMs: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, Math.max(0, byMs - now()));
      void done.then(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  async function drain(invocation: Invocation): Promise<void> {
    // Work may defer more work while it runs: go on until the list stays empty.
    while (invocation.work.length > 0) {
      const batch = invocation.work.splice(0).map(start);
      await Promise.allSettled(batch);
    }
    try {
      options.onSettled();
    } finally {
      invocation.markDone();
    }
  }

  return {
    begin(requestId) {
      current = requestId;
      invocationOf(requestId);
    },
    defer(work) {
      // Outside an invocation (none defers there today) the work just runs.
      if (current === undefined) void start(work);
      else invocationOf(current).work.push(work);
    },
    finish(requestId) {
      const invocation = invocationOf(requestId);
      if (invocation.finished) return;
      invocation.finished = true;
      const waiter = waiting.shift();
      if (waiter) waiter();
      else unclaimed += 1;
      // After the response has gone (a macrotask, so not even the metrics flush is on the caller's
      // path); work may still defer work while it drains: it stays this invocation's until the next
      // begins.
      setImmediate(() => {
        void drain(invocation).finally(() => {
          if (current === requestId) current = undefined;
        });
      });
    },
    settled(requestId, byMs) {
      return waitUntil(invocationOf(requestId).done, byMs);
    },
    nextFinished() {
      if (unclaimed > 0) {
        unclaimed -= 1;
        return Promise.resolve();
      }
      return new Promise<void>((resolve) => waiting.push(resolve));
    },
  };
}
