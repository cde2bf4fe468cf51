import { describe, expect, it } from 'vitest';
import { computeBackoffDelay } from '../../lambda/core/backoff';
import { fits } from '../../lambda/core/deadline';

describe('backoff', () => {
  const policy = { baseMs: 100, maxMs: 1000, maxAttempts: 5 };

  it('grows the jitter window exponentially up to the cap', () => {
    expect(computeBackoffDelay(1, policy, () => 0.999)).toBe(99);
    expect(computeBackoffDelay(2, policy, () => 0.999)).toBe(199);
    expect(computeBackoffDelay(3, policy, () => 0.999)).toBe(399);
    expect(computeBackoffDelay(10, policy, () => 0.999)).toBe(999);
    expect(computeBackoffDelay(3, policy, () => 0)).toBe(0);
  });

  it('only fits an attempt that ends before the deadline', () => {
    expect(fits(100 + 200, 1300, 1000)).toBe(true);
    expect(fits(100 + 200, 1299, 1000)).toBe(false);
  });
});
