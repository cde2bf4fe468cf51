import { describe, expect, it } from 'vitest';
import {
  attemptTimeout,
  DEADLINE_MARGINS,
  deadlineIn,
  fits,
  planRequestDeadline,
  settleBy,
  timeLeft,
  timeoutSignal,
} from '../../lambda/core/deadline';
import { createManualTime } from '../support/manual-time';

describe('request deadline', () => {
  it('plans the answer before the timeout and keeps a bookkeeping reserve after Salesforce', () => {
    expect(planRequestDeadline(20_000, 1_000)).toEqual({
      respondBy: 1_000 + 20_000 - DEADLINE_MARGINS.response,
      salesforceBy: 1_000 + 20_000 - DEADLINE_MARGINS.response - DEADLINE_MARGINS.bookkeeping,
    });
    // Short budgets keep a quarter for the bookkeeping, in whole ms.
    expect(planRequestDeadline(2_501, 0)).toEqual({ respondBy: 2_001, salesforceBy: 1_501 });
    expect(planRequestDeadline(100, 0)).toEqual({ respondBy: 0, salesforceBy: 0 });
    expect(deadlineIn(5_000, 10)).toEqual({
      salesforceBy: 5_010,
      respondBy: 5_010 + DEADLINE_MARGINS.bookkeepingGrace,
    });
  });

  it('says what fits and what is left', () => {
    expect(timeLeft(1_000, 400)).toBe(600);
    expect(timeLeft(1_000, 1_400)).toBe(0);
    expect(attemptTimeout(5_000, 1_000, 400)).toBe(600);
    expect(attemptTimeout(500, 1_000, 400)).toBe(500);
    expect(fits(300, 1_300, 1_000)).toBe(true);
    expect(fits(300, 1_299, 1_000)).toBe(false);
  });

  it('settles work by a deadline on an injected clock, without waiting in real time', async () => {
    const time = createManualTime(0);
    let release: () => void = () => undefined;
    const slow = new Promise<string>((resolve) => {
      release = () => resolve('late');
    });
    const raced = settleBy(slow, 1_000, time);
    await time.advance(999);
    await time.advance(1);
    expect(await raced).toEqual({ settled: false });
    release();
    expect(await settleBy(Promise.resolve('now'), 1_000, time)).toEqual({
      settled: true,
      value: 'now',
    });
    expect(time.pending()).toBe(0);
  });

  it('passes a rejection on, and never leaves one unhandled when the work is abandoned', async () => {
    const time = createManualTime(0);
    await expect(settleBy(Promise.reject(new Error('boom')), 1_000, time)).rejects.toThrow('boom');
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      let fail: (error: Error) => void = () => undefined;
      const abandoned = new Promise<never>((_, reject) => {
        fail = reject;
      });
      const raced = settleBy(abandoned, 10, time);
      await time.advance(10);
      expect(await raced).toEqual({ settled: false });
      fail(new Error('after the deadline'));
      await new Promise((resolve) => setTimeout(resolve, 20));
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
    expect(unhandled).toEqual([]);
  });

  it('aborts on the injected clock with a TimeoutError', async () => {
    const time = createManualTime(0);
    const signal = timeoutSignal(250, time);
    await time.advance(249);
    expect(signal.aborted).toBe(false);
    await time.advance(1);
    expect(signal.aborted).toBe(true);
    expect((signal.reason as DOMException).name).toBe('TimeoutError');
  });
});
