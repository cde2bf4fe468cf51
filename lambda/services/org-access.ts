/**
 * Org access for the token API: the org record from memory (trusted for a short time, then
 * re-read), the invalidations other instances recorded on it, and the caller rule. Every route
 * goes through {@link OrgAccess.authorize}, so no route can skip the rule.
 *
 * An org that is not registered is refused exactly like one the caller is not listed for (same
 * category, same message, and remembered for the same time, so both cost one registry read per
 * `ttlMs`): a principal allowed to call the API cannot learn which org ids exist.
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
   * @throws BrokerError `caller_not_authorized`, for an org that is not registered too
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
  /** `undefined`: not registered when last read. */
  readonly org: OrgRecord | undefined;
  readonly invalidatedAt?: number | undefined;
  readonly allows: (caller: string | null | undefined) => boolean;
  readonly loadedAt: number;
}

/** Records (and absences) kept at most; the oldest goes first, so unknown ids cannot fill memory. */
const MAX_KNOWN_ORGS = 1024;

const refuseAll = () => false;

export function createOrgAccess(deps: OrgAccessDeps): OrgAccess {
  const { cache, clock, logger } = deps;
  const ttlMs = deps.ttlMs ?? 30_000;
  const known = new Map<string, KnownOrg>();
  const loading = new Map<string, Promise<KnownOrg>>();

  function remember(orgId: string, entry: KnownOrg): KnownOrg {
    known.delete(orgId);
    known.set(orgId, entry);
    if (known.size > MAX_KNOWN_ORGS) known.delete(known.keys().next().value as string);
    return entry;
  }

  async function read(orgId: string): Promise<KnownOrg> {
    const state = await deps.registry.getOrgTokenState(orgId);
    if (!state) return remember(orgId, { org: undefined, allows: refuseAll, loadedAt: clock() });
    const { org, tokenInvalidatedAt } = state;
    if (tokenInvalidatedAt !== undefined && cache.dropObtainedBefore(orgId, tokenInvalidatedAt)) {
      logger.info('Cached token dropped: invalidated on another instance', {
        org_id: orgId,
        token_invalidated_at: new Date(tokenInvalidatedAt).toISOString(),
      });
    }
    return remember(orgId, {
      org,
      invalidatedAt: tokenInvalidatedAt,
      allows: compileCallerRule(org),
      loadedAt: clock(),
    });
  }

  async function load(orgId: string, fresh: boolean): Promise<KnownOrg> {
    const cached = known.get(orgId);
    if (!fresh && cached && clock() - cached.loadedAt < ttlMs) return cached;
    let running = loading.get(orgId);
    if (!running) {
      running = read(orgId).finally(() => loading.delete(orgId));
      loading.set(orgId, running);
    }
    return running;
  }

  return {
    async authorize(orgId, caller, options) {
      const entry = await load(orgId, options?.fresh === true);
      if (!entry.org || !entry.allows(caller)) {
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
