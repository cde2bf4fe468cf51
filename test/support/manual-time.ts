/**
 * A {@link TimeSource} that moves only when a test says so: deadline tests check what happens at
 * the function's timeout without waiting for it.
 */
import type { TimeSource } from '../../lambda/core/deadline';

export interface ManualTime extends TimeSource {
  /**
   * Moves time forward by `ms`, firing each timer due on the way at its own instant, in order,
   * and letting the work it releases run (I/O included) before the next one fires.
   */
  advance(ms: number): Promise<void>;
  /** Timers armed and not yet fired or cancelled. */
  pending(): number;
}

/** Lets callbacks, promise chains and loopback I/O released by a timer run. */
const settle = () => new Promise<void>((resolve) => setTimeout(resolve, 10));

export function createManualTime(start = Date.now()): ManualTime {
  let now = start;
  let nextId = 0;
  const timers = new Map<number, { at: number; callback: () => void }>();
  return {
    now: () => now,
    after(ms, callback) {
      const id = nextId++;
      timers.set(id, { at: now + Math.max(0, ms), callback });
      return () => timers.delete(id);
    },
    async advance(ms) {
      const target = now + ms;
      for (;;) {
        const due = [...timers.entries()]
          .filter(([, timer]) => timer.at <= target)
          .sort(([a, left], [b, right]) => left.at - right.at || a - b)[0];
        if (!due) break;
        const [id, timer] = due;
        timers.delete(id);
        now = Math.max(now, timer.at);
        timer.callback();
        await settle();
      }
      now = target;
      await settle();
    },
    pending: () => timers.size,
  };
}

/** Resolves once `condition()` holds, polling in real time (for work started by real I/O). */
export async function waitFor(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const started = Date.now();
  while (!condition()) {
    if (Date.now() - started > timeoutMs) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
