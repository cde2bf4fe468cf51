/**
 * Org access for the token API: the org record from memory (trusted for a short time, then
 * re-read), the invalidations other instances recorded on it, and the caller rule. Every route
 * goes through {@link OrgAccess.authorize}, so no route can skip the rule.
 */
import { compileCallerRule } from '../core/caller';
import { BrokerError } from '../core/errors';
import type { ServiceLogger, TokenInvalidationStore } from '../core/ports';
import type { TokenCache } from '../core/token-cache';
import type { Clock, OrgRecord } from '../core/types';

export interface OrgAccessDeps {
  readonly registry: Pick<TokenInvalidationStore, 'getOrgTokenState'>;
  /** The token cache, for dropping tokens another instance invalidated. */
  readonly cache: TokenCache;
  readonly clock: Clock;
  readonly logger: ServiceLogger;
  /**
   * How long an org record (and its callers list) is trusted from memory, ms. A removed caller
   * loses access, and an invalidation made on another instance takes effect, within this time.
   * @default 30000
   */
  readonly ttlMs?: number;
}

export interface OrgAccess {
  /**
   * The org record, if `caller` may use it.
   * @param options.fresh re-read the record even when the one in memory is still trusted
   * @throws BrokerError `org_not_found`, `caller_not_authorized`
   */
  authorize(
    orgId: string,
    caller: string | null | undefined,
    options?: { readonly fresh?: boolean },
  ): Promise<OrgRecord>;
  /** The latest invalidation of the org's tokens this environment has read, ms since the epoch. */
  invalidatedAt(orgId: string): number | undefined;
}

interface KnownOrg {
  readonly org: OrgRecord;
  readonly invalidatedAt: number | undefined;
  readonly allows: (caller: string | null | undefined) => boolean;
  readonly loadedAt: number;
}

export function createOrgAccess(deps: OrgAccessDeps): OrgAccess {
  const { cache, clock, logger } = deps;
  const ttlMs = deps.ttlMs ?? 30_000;
  const known = new Map<string, KnownOrg>();
  const loading = new Map<string, Promise<KnownOrg | undefined>>();

  async function read(orgId: string): Promise<KnownOrg | undefined> {
    const state = await deps.registry.getOrgTokenState(orgId);
    if (!state) {
      known.delete(orgId);
      return undefined;
    }
    const { org, tokenInvalidatedAt } = state;
    if (tokenInvalidatedAt !== undefined && cache.dropObtainedBefore(orgId, tokenInvalidatedAt)) {
      logger.info('Cached token dropped: invalidated on another instance', {
        org_id: orgId,
        token_invalidated_at: new Date(tokenInvalidatedAt).toISOString(),
      });
    }
    const entry: KnownOrg = {
      org,
      invalidatedAt: tokenInvalidatedAt,
      allows: compileCallerRule(org),
      loadedAt: clock(),
    };
    known.set(orgId, entry);
    return entry;
  }

  async function load(orgId: string, fresh: boolean): Promise<KnownOrg> {
    const cached = known.get(orgId);
    if (!fresh && cached && clock() - cached.loadedAt < ttlMs) return cached;
    let running = loading.get(orgId);
    if (!running) {
      running = read(orgId).finally(() => loading.delete(orgId));
      loading.set(orgId, running);
    }
    const entry = await running;
    if (!entry) throw new BrokerError('org_not_found', `No org ${orgId} is registered`);
    return entry;
  }

  return {
    async authorize(orgId, caller, options) {
      const entry = await load(orgId, options?.fresh === true);
      if (!entry.allows(caller)) {
        throw new BrokerError(
          'caller_not_authorized',
          `The caller is not allowed to use org ${orgId}`,
        );
      }
      return entry.org;
    },

    invalidatedAt(orgId) {
      return known.get(orgId)?.invalidatedAt;
    },
  };
}
