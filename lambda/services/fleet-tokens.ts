/**
 * The fleet tier of the token cache: one Salesforce login per org across every environment.
 * Below each environment's memory, the org's shared item (see shared-token.ts) holds the sealed
 * token; a request that finds none takes the org's lease and exchanges, while requests in other
 * environments wait for its result within their own deadline and take the winner's token (or its
 * failure, remembered for a while). The sealed token is bound to the org record it was obtained
 * for, so a re-created org never inherits an old token.
 */
import { createHash, randomUUID } from 'node:crypto';
import { CATEGORY_TRAITS } from '../core/categories';
import { type RequestDeadline, settleBy, type TimeSource } from '../core/deadline';
import { BrokerError } from '../core/errors';
import type {
  AfterResponse,
  ExchangeReporter,
  ExchangeResult,
  ServiceLogger,
  SharedTokenStore,
  SharedWrite,
  TokenSealer,
} from '../core/ports';
import {
  countLoginsLastHour,
  decideAfterWait,
  decideShared,
  isRememberedCategory,
  mayDropToken,
  type RememberedFailure,
  rememberFor,
  type SharedDecision,
  type SharedToken,
  type SharedTokenState,
} from '../core/shared-token';
import type { CachedGrant } from '../core/token-cache';
import type { OrgRecord, TokenGrant } from '../core/types';

export interface FleetTokensDeps {
  readonly store: SharedTokenStore;
  readonly sealer: TokenSealer;
  /** Part of every token's encryption context: a token sealed for another table never opens. */
  readonly tableName: string;
  readonly reporter: ExchangeReporter;
  readonly logger: ServiceLogger;
  readonly time: TimeSource;
  /** @default Math.random */
  readonly random?: () => number;
  /**
   * How long a failure that will not change by itself (`consumer_not_approved`...) is answered from
   * memory, fleet-wide, before Salesforce is asked again; jittered by up to 20%. 0 turns it off.
   * @default 60000
   */
  readonly failureMemoryMs?: number;
  /**
   * A token younger than this is not dropped by forceRefresh or DELETE: the caller gets it again
   * and no login is made, so no caller can spend the org's 3,600 logins an hour.
   * @default 30000
   */
  readonly minTokenAgeMs?: number;
}

/** Hands `work` to `afterResponse` when there is one, else runs it and waits for it here. */
async function runAfter(work: () => Promise<unknown>, afterResponse: AfterResponse | undefined) {
  if (afterResponse) afterResponse(work);
  else await work();
}

/** What happens after the exchange itself: reports, incidents, the outcome record. */
export type Bookkeeping = (result: ExchangeResult) => Promise<void>;

export interface ObtainRequest {
  readonly requestId: string;
  readonly deadline: RequestDeadline;
  /** The latest invalidation of the org's tokens known to this environment. */
  readonly invalidatedAt: number | undefined;
  /**
   * Where sharing the exchange's result and its bookkeeping go so the answer does not wait for
   * them. @default awaited before answering
   */
  readonly afterResponse?: AfterResponse | undefined;
}

export interface FleetTokens {
  /**
   * The org's token from the fleet: the shared one, a remembered failure, or the result of
   * `exchange` run under the org's lease.
   * @throws BrokerError the exchange's failure, or a remembered one (marked `remembered`)
   */
  obtain(
    org: OrgRecord,
    request: ObtainRequest,
    exchange: () => Promise<ExchangeResult>,
    settle: Bookkeeping,
  ): Promise<CachedGrant>;
  /**
   * forceRefresh: drops the shared token and obtains a new one, unless the token is younger than
   * the minimum age: then it is returned as it is.
   */
  refresh(
    org: OrgRecord,
    request: ObtainRequest,
    exchange: () => Promise<ExchangeResult>,
    settle: Bookkeeping,
  ): Promise<{ readonly entry: CachedGrant; readonly suppressed: boolean }>;
  /** DELETE: drops the shared token unless it is younger than the minimum age. */
  drop(org: OrgRecord): Promise<'dropped' | 'suppressed' | 'none'>;
  /**
   * The approval callback's check: takes the lease whoever holds it (an exchange in flight may have
   * started before the fix), exchanges, stores the token and forgets the remembered failure.
   */
  prove(
    org: OrgRecord,
    request: ObtainRequest,
    exchange: () => Promise<ExchangeResult>,
    settle: Bookkeeping,
  ): Promise<CachedGrant>;
  /** What the status route shows of the fleet's state. */
  describe(orgId: string): Promise<FleetStatus>;
}

export interface FleetStatus {
  /** Salesforce logins for the org in the last hour, all environments. */
  readonly loginsLastHour: number;
  /** The shared token's times (never the token), when there is one. */
  readonly sharedToken: { readonly obtainedAt: string; readonly expiresAt: string } | null;
  /** The failure answered from memory, and until when. */
  readonly rememberedFailure: { readonly category: string; readonly until: string } | null;
}

/** Polling a lease holder's result: quick first, then every 250 ms at most. */
const FIRST_POLL_MS = 40;
const MAX_POLL_MS = 250;
/** Time past the holder's own deadline before its lease may be taken over. */
const LEASE_GRACE_MS = 1000;
/** A shared token this close to its expiry is not handed out. */
const EXPIRY_MARGIN_MS = 5000;
/**
 * How long a request waits for the table before it logs in on its own: a slow table must not cost
 * more than a login would.
 */
const STORE_BUDGET_MS = 300;

/** The table did not answer within {@link STORE_BUDGET_MS}. */
class SharedStoreTimeout extends Error {
  override readonly name = 'SharedStoreTimeout';
}

/** Binds a sealed token to the org record it was obtained for. */
function bindingOf(org: OrgRecord): string {
  return createHash('sha256')
    .update(`${org.loginUrl}\n${org.consumerKey}\n${org.username}\n${org.audience}`)
    .digest('base64url')
    .slice(0, 22);
}

function rememberedError(failure: RememberedFailure, now: number): BrokerError {
  const retryable = CATEGORY_TRAITS[failure.category].retryable;
  return new BrokerError(failure.category, failure.message, {
    salesforce: failure.salesforce,
    remediation: failure.remediation,
    remembered: true,
    // Every environment backs off until the same instant.
    ...(retryable
      ? { retryAfterSeconds: Math.max(1, Math.ceil((failure.until - now) / 1000)) }
      : {}),
  });
}

export function createFleetTokens(deps: FleetTokensDeps): FleetTokens {
  const { store, sealer, time, reporter, logger } = deps;
  const random = deps.random ?? Math.random;
  const failureMemoryMs = deps.failureMemoryMs ?? 60_000;
  const minTokenAgeMs = deps.minTokenAgeMs ?? 30_000;
  const owner = randomUUID();

  const contextOf = (org: OrgRecord) => ({
    orgId: org.orgId,
    table: deps.tableName,
    binding: bindingOf(org),
  });

  /**
   * `work`, or a {@link SharedStoreTimeout} once the store budget is spent: at most
   * {@link STORE_BUDGET_MS}, and at most a quarter of the time left for Salesforce.
   */
  async function bounded<T>(work: Promise<T>, salesforceBy: number): Promise<T> {
    const now = time.now();
    const budget = Math.min(STORE_BUDGET_MS, Math.max(0, (salesforceBy - now) / 4));
    const done = await settleBy(work, now + budget, time);
    if (!done.settled) throw new SharedStoreTimeout('the table did not answer in time');
    return done.value;
  }

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      time.after(ms, resolve);
    });

  async function open(org: OrgRecord, token: SharedToken): Promise<CachedGrant | undefined> {
    try {
      const plaintext = await sealer.open(token.sealed, contextOf(org));
      const grant = JSON.parse(Buffer.from(plaintext).toString('utf8')) as TokenGrant;
      return { grant, expiresAtMs: token.expiresAt };
    } catch (error) {
      // Sealed for another org record (re-created under the same id) or damaged: not servable.
      logger.warn('Shared token could not be opened; a new one is obtained', {
        org_id: org.orgId,
        error: error instanceof Error ? error.name : String(error),
      });
      return undefined;
    }
  }

  function reportLogins(org: OrgRecord, write: SharedWrite | undefined) {
    if (write?.state) {
      reporter.reportLoginBudget(org.orgId, countLoginsLastHour(write.state.logins, time.now()));
    }
  }

  /** Stores what the exchange under lease `version` learned, for every other environment. */
  async function share(
    org: OrgRecord,
    version: number,
    startedAt: number,
    result: ExchangeResult,
  ): Promise<void> {
    const logins = { count: result.report.attempts, at: time.now() };
    let write: SharedWrite | undefined;
    if (result.ok) {
      const plaintext = new TextEncoder().encode(JSON.stringify(result.entry.grant));
      write = await store.publishToken(
        org.orgId,
        {
          sealed: await sealer.seal(plaintext, contextOf(org)),
          version,
          obtainedAt: startedAt,
          expiresAt: result.entry.expiresAtMs,
          keyFingerprint: result.report.keyFingerprint,
        },
        logins,
      );
    } else if (
      isRememberedCategory(result.error.category) &&
      (failureMemoryMs > 0 || result.error.retryAfterSeconds !== undefined) &&
      result.report.attempts > 0
    ) {
      const now = time.now();
      const retryAfterMs =
        result.error.retryAfterSeconds === undefined
          ? undefined
          : result.error.retryAfterSeconds * 1000;
      write = await store.rememberFailure(
        org.orgId,
        {
          category: result.error.category,
          message: result.error.message,
          salesforce: result.error.salesforce,
          remediation: result.error.remediation,
          version,
          at: now,
          until: now + rememberFor(retryAfterMs, failureMemoryMs, random),
        },
        logins,
      );
    } else {
      await store.releaseLease(org.orgId, owner);
      if (logins.count > 0)
        reportLogins(org, { stored: true, state: await store.countLogins(org.orgId, logins) });
      return;
    }
    if (!write.stored) {
      // A newer exchange took the lease meanwhile: its result stands; these logins still count.
      logger.info('Exchange result not shared: a newer exchange holds the lease', {
        org_id: org.orgId,
        version,
      });
      write = { stored: false, state: await store.countLogins(org.orgId, logins) };
    }
    reportLogins(org, write);
  }

  /** Runs the exchange under lease `version`, shares its result, and settles its bookkeeping. */
  async function exchangeUnderLease(
    org: OrgRecord,
    version: number,
    exchange: () => Promise<ExchangeResult>,
    settle: Bookkeeping,
    { deadline, afterResponse }: ObtainRequest,
  ): Promise<CachedGrant> {
    const startedAt = time.now();
    let result: ExchangeResult;
    try {
      result = await exchange();
    } catch (error) {
      await store.releaseLease(org.orgId, owner).catch(() => undefined);
      throw error;
    }
    const shareAndSettle = () => {
      const shared = share(org, version, startedAt, result).catch(async (error: unknown) => {
        // The caller still gets its answer; other environments will log in again, and must not
        // wait out a lease nobody will fill.
        logger.warn('Sharing the exchange result failed; the response is unaffected', {
          org_id: org.orgId,
          error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
        });
        await store.releaseLease(org.orgId, owner).catch(() => undefined);
      });
      // Like the rest of the bookkeeping, sharing never holds the answer past its due time.
      return Promise.all([settleBy(shared, deadline.respondBy, time), settle(result)]);
    };
    await runAfter(shareAndSettle, afterResponse);
    if (!result.ok) throw result.error;
    return result.entry;
  }

  /**
   * When the table cannot be read or written, tokens still flow: each environment logs in on its
   * own (one login per environment, as without a fleet) until the table answers again.
   */
  async function exchangeAlone(
    org: OrgRecord,
    cause: unknown,
    exchange: () => Promise<ExchangeResult>,
    settle: Bookkeeping,
    { afterResponse }: ObtainRequest,
  ): Promise<CachedGrant> {
    logger.warn('Shared token cache unavailable; exchanging without the fleet lease', {
      org_id: org.orgId,
      error: cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause),
    });
    const result = await exchange();
    await runAfter(() => settle(result), afterResponse);
    if (!result.ok) throw result.error;
    return result.entry;
  }

  async function resolve(
    org: OrgRecord,
    decision: SharedDecision,
    request: ObtainRequest,
    exchange: () => Promise<ExchangeResult>,
    settle: Bookkeeping,
  ): Promise<CachedGrant> {
    let current = decision;
    let sinceVersion = 0;
    let pollMs = FIRST_POLL_MS;
    for (;;) {
      const now = time.now();
      if (current.kind === 'serve') {
        const entry = await open(org, current.token);
        if (entry) {
          reporter.reportFleetHit(org.orgId);
          return entry;
        }
        current = { kind: 'exchange' };
      }
      if (current.kind === 'remembered') {
        reporter.reportRememberedFailure(org.orgId, current.failure.category);
        throw rememberedError(current.failure, now);
      }
      if (current.kind === 'exchange') {
        const lease = {
          owner,
          expiresAt: Math.max(now, request.deadline.respondBy) + LEASE_GRACE_MS,
        };
        let taken: Awaited<ReturnType<SharedTokenStore['acquireLease']>>;
        try {
          taken = await bounded(
            store.acquireLease(org.orgId, lease, { now }),
            request.deadline.salesforceBy,
          );
        } catch (error) {
          return exchangeAlone(org, error, exchange, settle, request);
        }
        if (taken.acquired) {
          return exchangeUnderLease(org, taken.version, exchange, settle, request);
        }
        sinceVersion = 0;
      }
      // Another environment is exchanging: wait for its result within this request's deadline.
      if (time.now() + pollMs > request.deadline.salesforceBy) {
        throw new BrokerError(
          'salesforce_unavailable',
          'Another instance of the broker is obtaining the token for this org and has not finished in time; retry shortly.',
          { retryAfterSeconds: 1 },
        );
      }
      await sleep(pollMs);
      pollMs = Math.min(MAX_POLL_MS, pollMs * 2);
      let state: SharedTokenState | undefined;
      try {
        state = await bounded(
          store.read(org.orgId, { consistent: true }),
          request.deadline.salesforceBy,
        );
      } catch (error) {
        return exchangeAlone(org, error, exchange, settle, request);
      }
      if (sinceVersion === 0) sinceVersion = state?.version ?? 0;
      current = decideAfterWait(state, sinceVersion, {
        now: time.now(),
        invalidatedAt: request.invalidatedAt,
        expiryMarginMs: EXPIRY_MARGIN_MS,
      });
    }
  }

  const decideOptions = (request: ObtainRequest) => ({
    now: time.now(),
    invalidatedAt: request.invalidatedAt,
    expiryMarginMs: EXPIRY_MARGIN_MS,
  });

  async function readState(
    orgId: string,
    salesforceBy = time.now() + 4 * STORE_BUDGET_MS,
  ): Promise<SharedTokenState | undefined> {
    return bounded(store.read(orgId), salesforceBy);
  }

  return {
    async obtain(org, request, exchange, settle) {
      let state: SharedTokenState | undefined;
      try {
        state = await readState(org.orgId, request.deadline.salesforceBy);
      } catch (error) {
        return exchangeAlone(org, error, exchange, settle, request);
      }
      return resolve(org, decideShared(state, decideOptions(request)), request, exchange, settle);
    },

    async refresh(org, request, exchange, settle) {
      let state: SharedTokenState | undefined;
      try {
        state = await readState(org.orgId, request.deadline.salesforceBy);
      } catch (error) {
        return {
          entry: await exchangeAlone(org, error, exchange, settle, request),
          suppressed: false,
        };
      }
      const token = state?.token;
      if (token && !mayDropToken(token, time.now(), minTokenAgeMs)) {
        const entry = await open(org, token);
        if (entry) {
          reporter.reportRefreshSuppressed(org.orgId);
          return { entry, suppressed: true };
        }
      }
      if (token) await store.dropToken(org.orgId, token.version).catch(() => false);
      // A caller that asks again past the floor gets a new attempt, not the remembered failure
      // (so `verify` after a fix made in Salesforce proves it); inside the floor it gets the memory.
      const failure =
        state?.failure && time.now() - state.failure.at < minTokenAgeMs ? state.failure : undefined;
      const fresh = decideShared(
        state && { ...state, token: undefined, failure },
        decideOptions(request),
      );
      const entry = await resolve(org, fresh, request, exchange, settle);
      return { entry, suppressed: false };
    },

    async drop(org) {
      const state = await readState(org.orgId);
      const token = state?.token;
      if (!token) return 'none';
      if (!mayDropToken(token, time.now(), minTokenAgeMs)) {
        reporter.reportRefreshSuppressed(org.orgId);
        return 'suppressed';
      }
      return (await store.dropToken(org.orgId, token.version)) ? 'dropped' : 'none';
    },

    async prove(org, request, exchange, settle) {
      const now = time.now();
      const lease = {
        owner,
        expiresAt: Math.max(now, request.deadline.respondBy) + LEASE_GRACE_MS,
      };
      let taken: Awaited<ReturnType<SharedTokenStore['acquireLease']>>;
      try {
        taken = await bounded(
          store.acquireLease(org.orgId, lease, { now, force: true }),
          request.deadline.salesforceBy,
        );
      } catch (error) {
        return exchangeAlone(org, error, exchange, settle, request);
      }
      if (!taken.acquired)
        return exchangeAlone(org, 'forced lease refused', exchange, settle, request);
      return exchangeUnderLease(org, taken.version, exchange, settle, request);
    },

    async describe(orgId) {
      const state = await readState(orgId);
      const now = time.now();
      return {
        loginsLastHour: state ? countLoginsLastHour(state.logins, now) : 0,
        sharedToken: state?.token
          ? {
              obtainedAt: new Date(state.token.obtainedAt).toISOString(),
              expiresAt: new Date(state.token.expiresAt).toISOString(),
            }
          : null,
        rememberedFailure:
          state?.failure && state.failure.until > now
            ? {
                category: state.failure.category,
                until: new Date(state.failure.until).toISOString(),
              }
            : null,
      };
    },
  };
}
