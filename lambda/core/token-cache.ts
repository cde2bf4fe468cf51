/**
 * Per-org token cache with single-flight loading (docs/contracts.md#caching-rules). Every exchange is a Salesforce login
 * (3,600 per user per hour), so N concurrent requests on a cold cache must share one exchange.
 * In memory, per function instance: a token never leaves the process except to its caller, and
 * single-flight holds per instance only (Lambda runs one invocation per instance at a time, so a
 * cold burst across N fresh instances makes up to N logins). Invalidations made on other
 * instances arrive through {@link TokenCache.dropObtainedBefore}.
 */
import type { Clock, TokenGrant } from './types';

export interface CachedGrant {
  readonly grant: TokenGrant;
  /** When the broker stops serving the grant, ms since the epoch. */
  readonly expiresAtMs: number;
}

export interface CacheLookup {
  readonly grant: TokenGrant;
  /** True when served from memory, false when this call (or one it joined) exchanged. */
  readonly cacheHit: boolean;
}

/** `expires_at` for a token obtained at `nowMs` and served for `ttlSeconds`. */
export function computeExpiry(
  nowMs: number,
  ttlSeconds: number,
): { expiresAtMs: number; expiresAt: string } {
  const expiresAtMs = nowMs + ttlSeconds * 1000;
  return { expiresAtMs, expiresAt: new Date(expiresAtMs).toISOString() };
}

interface Entry extends CachedGrant {
  /** When the exchange that obtained the grant started, ms since the epoch. */
  readonly startedAtMs: number;
}

export class TokenCache {
  readonly #entries = new Map<string, Entry>();
  readonly #inFlight = new Map<string, Promise<CachedGrant>>();
  /** Bumped by invalidation, so an exchange started before it cannot repopulate the cache. */
  readonly #generations = new Map<string, number>();
  /** The latest invalidation time seen per org: grants whose exchange started before it are stale. */
  readonly #invalidatedAt = new Map<string, number>();
  readonly #clock: Clock;

  constructor(clock: Clock = Date.now) {
    this.#clock = clock;
  }

  /** The cached grant for `orgId` if it has not reached its expiry. */
  peek(orgId: string): TokenGrant | undefined {
    const entry = this.#entries.get(orgId);
    if (!entry) return undefined;
    if (this.#clock() < entry.expiresAtMs) return entry.grant;
    this.#entries.delete(orgId);
    return undefined;
  }

  /**
   * The cached grant, or the result of `load`, shared by every concurrent caller for the org.
   * With `forceRefresh` the cached grant is dropped first; a load already in flight is joined,
   * since its result is fresh anyway.
   */
  async getOrLoad(
    orgId: string,
    load: () => Promise<CachedGrant>,
    options: { readonly forceRefresh?: boolean } = {},
  ): Promise<CacheLookup> {
    if (options.forceRefresh) this.#entries.delete(orgId);
    else {
      const cached = this.peek(orgId);
      if (cached) return { grant: cached, cacheHit: true };
    }
    const entry = await this.load(orgId, load);
    return { grant: entry.grant, cacheHit: false };
  }

  /** Runs `load` for the org unless one is in flight, and caches what it returns. */
  load(orgId: string, load: () => Promise<CachedGrant>): Promise<CachedGrant> {
    const running = this.#inFlight.get(orgId);
    if (running) return running;
    const generation = this.#generations.get(orgId) ?? 0;
    const startedAtMs = this.#clock();
    const promise = (async () => {
      try {
        const entry = await load();
        const invalidated =
          startedAtMs < (this.#invalidatedAt.get(orgId) ?? Number.NEGATIVE_INFINITY);
        if ((this.#generations.get(orgId) ?? 0) === generation && !invalidated) {
          this.#entries.set(orgId, { ...entry, startedAtMs });
        }
        return entry;
      } finally {
        this.#inFlight.delete(orgId);
      }
    })();
    this.#inFlight.set(orgId, promise);
    return promise;
  }

  /** Caches a grant obtained outside {@link load}; loads already in flight will not overwrite it. */
  put(orgId: string, entry: CachedGrant): void {
    this.#generations.set(orgId, (this.#generations.get(orgId) ?? 0) + 1);
    this.#entries.set(orgId, { ...entry, startedAtMs: this.#clock() });
  }

  /** Drops the org's cached grant; an exchange in flight will not be cached either. */
  invalidate(orgId: string): boolean {
    this.#generations.set(orgId, (this.#generations.get(orgId) ?? 0) + 1);
    return this.#entries.delete(orgId);
  }

  /**
   * Applies an invalidation recorded at `atMs` (ms since the epoch), possibly by another instance:
   * drops the org's grant if its exchange started before then, and keeps a load already running
   * since before then from caching its grant. A time earlier than one already seen changes nothing.
   * @returns whether a cached grant was dropped
   */
  dropObtainedBefore(orgId: string, atMs: number): boolean {
    if (atMs > (this.#invalidatedAt.get(orgId) ?? Number.NEGATIVE_INFINITY)) {
      this.#invalidatedAt.set(orgId, atMs);
    }
    const entry = this.#entries.get(orgId);
    if (!entry || entry.startedAtMs >= atMs) return false;
    return this.#entries.delete(orgId);
  }
}
