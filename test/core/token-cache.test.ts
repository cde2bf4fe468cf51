import { describe, expect, it } from 'vitest';
import { computeExpiry, TokenCache } from '../../lambda/core/token-cache';
import type { TokenGrant } from '../../lambda/core/types';

function grant(n: number, expiresAtMs: number): TokenGrant {
  return {
    access_token: `token-${n}`,
    instance_url: 'https://acme.my.salesforce.com',
    id: 'https://login.salesforce.com/id/00D/005',
    token_type: 'Bearer',
    expires_at: new Date(expiresAtMs).toISOString(),
    org_id: 'acme',
  };
}

describe('TokenCache', () => {
  it('computes expires_at from the TTL', () => {
    expect(computeExpiry(Date.UTC(2026, 0, 1), 1800)).toEqual({
      expiresAtMs: Date.UTC(2026, 0, 1, 0, 30),
      expiresAt: '2026-01-01T00:30:00.000Z',
    });
  });

  it('serves from memory until expires_at, then loads again', async () => {
    let now = 1_000_000;
    let loads = 0;
    const cache = new TokenCache(() => now);
    const load = async () => {
      loads += 1;
      const expiresAtMs = now + 60_000;
      return { grant: grant(loads, expiresAtMs), expiresAtMs };
    };
    expect((await cache.getOrLoad('acme', load)).cacheHit).toBe(false);
    now += 59_999;
    expect(await cache.getOrLoad('acme', load)).toMatchObject({
      cacheHit: true,
      grant: { access_token: 'token-1' },
    });
    now += 1;
    expect(await cache.getOrLoad('acme', load)).toMatchObject({
      cacheHit: false,
      grant: { access_token: 'token-2' },
    });
    expect(loads).toBe(2);
  });

  it('makes exactly one load for 1,000 concurrent requests on a cold cache', async () => {
    const cache = new TokenCache();
    let loads = 0;
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const load = async () => {
      loads += 1;
      await gate;
      return { grant: grant(loads, Date.now() + 60_000), expiresAtMs: Date.now() + 60_000 };
    };
    const all = Promise.all(Array.from({ length: 1000 }, () => cache.getOrLoad('acme', load)));
    release();
    const results = await all;
    expect(loads).toBe(1);
    expect(new Set(results.map((r) => r.grant.access_token))).toEqual(new Set(['token-1']));
  });

  it('does not cache a failed load, and the next request retries', async () => {
    const cache = new TokenCache();
    await expect(cache.getOrLoad('acme', () => Promise.reject(new Error('boom')))).rejects.toThrow(
      'boom',
    );
    const ok = await cache.getOrLoad('acme', async () => ({
      grant: grant(2, Date.now() + 1000),
      expiresAtMs: Date.now() + 1000,
    }));
    expect(ok.cacheHit).toBe(false);
  });

  it('invalidates, and an exchange in flight during invalidation is not cached', async () => {
    const cache = new TokenCache();
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const slow = cache.getOrLoad('acme', async () => {
      await gate;
      return { grant: grant(1, Date.now() + 60_000), expiresAtMs: Date.now() + 60_000 };
    });
    cache.invalidate('acme');
    release();
    await slow;
    expect(cache.peek('acme')).toBeUndefined();
    await cache.getOrLoad('acme', async () => ({
      grant: grant(2, Date.now() + 60_000),
      expiresAtMs: Date.now() + 60_000,
    }));
    expect(cache.invalidate('acme')).toBe(true);
    expect(cache.peek('acme')).toBeUndefined();
  });

  it('forceRefresh skips a valid cached grant', async () => {
    const cache = new TokenCache();
    let n = 0;
    const load = async () => ({
      grant: grant(++n, Date.now() + 60_000),
      expiresAtMs: Date.now() + 60_000,
    });
    await cache.getOrLoad('acme', load);
    expect(await cache.getOrLoad('acme', load, { forceRefresh: true })).toMatchObject({
      cacheHit: false,
      grant: { access_token: 'token-2' },
    });
  });

  it('drops a grant obtained before an invalidation recorded elsewhere, and keeps a later one', async () => {
    let now = 1_000_000;
    const cache = new TokenCache(() => now);
    let n = 0;
    const load = async () => ({ grant: grant(++n, now + 600_000), expiresAtMs: now + 600_000 });
    await cache.getOrLoad('acme', load);
    now += 1000;
    // An invalidation older than the grant changes nothing.
    expect(cache.dropObtainedBefore('acme', now - 2000)).toBe(false);
    expect(cache.peek('acme')?.access_token).toBe('token-1');
    expect(cache.dropObtainedBefore('acme', now)).toBe(true);
    expect(cache.peek('acme')).toBeUndefined();
    // A grant obtained after the invalidation survives the same record read again later.
    await cache.getOrLoad('acme', load);
    now += 30_000;
    expect(cache.dropObtainedBefore('acme', now - 31_000)).toBe(false);
    expect(await cache.getOrLoad('acme', load)).toMatchObject({
      cacheHit: true,
      grant: { access_token: 'token-2' },
    });
  });

  it('does not cache a load that started before an invalidation it learns of while running', async () => {
    let now = 1_000_000;
    const cache = new TokenCache(() => now);
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const slow = cache.getOrLoad('acme', async () => {
      await gate;
      return { grant: grant(1, now + 600_000), expiresAtMs: now + 600_000 };
    });
    now += 10;
    cache.dropObtainedBefore('acme', now);
    // A later, older record does not lower the bar.
    cache.dropObtainedBefore('acme', now - 5);
    release();
    expect((await slow).grant.access_token).toBe('token-1');
    expect(cache.peek('acme')).toBeUndefined();
  });
});
