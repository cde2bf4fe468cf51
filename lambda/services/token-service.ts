/**
 * The token service: the core and the ports composed into the three things the token API does
 * (get a token, drop it, report an org's status), plus `exchangeFresh` for the approval callback.
 * No SDK import and no environment read: the handler (or a test, or the local stack) injects the
 * adapters.
 */
import {
  buildApprovalLink,
  buildRedirectUri,
  buildSalesforceAuthorizeUrl,
} from '../core/approval-links';
import { buildAssertionClaims, signAssertion } from '../core/assertion';
import { normalizeCallerArn } from '../core/caller';
import type { Category } from '../core/categories';
import { classifyTokenAnswer, type SalesforceToken } from '../core/classify';
import { BrokerError, isBrokerError } from '../core/errors';
import { isIncidentCategory } from '../core/incidents';
import type {
  CertificateInfo,
  ExchangeOutcome,
  ExchangeOutcomeStore,
  IncidentTracker,
  OpenIncident,
  OrgRegistry,
  OrgTokenState,
  SigningKey,
  SigningKeyProvider,
  TokenEndpointClient,
  TokenEndpointResult,
  TokenExchanger,
  TokenInvalidationStore,
} from '../core/ports';
import { buildRemediation } from '../core/remediation';
import { type CachedGrant, computeExpiry, TokenCache } from '../core/token-cache';
import type { Clock, OrgRecord, SalesforceErrorDetail, TokenGrant } from '../core/types';

export const JWT_BEARER_GRANT_TYPE = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

/**
 * How long past the Salesforce deadline an exchange waits for its bookkeeping when the caller
 * sets no `respondBy`, ms.
 */
const DEFAULT_BOOKKEEPING_GRACE_MS = 200;

/** Reported once per fresh exchange, for metrics and logs. Holds no secret. */
export interface ExchangeReport {
  readonly orgId: string;
  readonly requestId: string;
  readonly ok: boolean;
  readonly category: Category | undefined;
  readonly salesforce: SalesforceErrorDetail | undefined;
  /** Time spent in Salesforce's token endpoint, all attempts. */
  readonly latencyMs: number;
  readonly attempts: number;
  /** Whether the key was re-read after `invalid_assertion`. */
  readonly keyReread: boolean;
}

/** Where the service reports what it cannot return (a failing side effect). */
export interface ServiceLogger {
  warn(message: string, extra: Record<string, unknown>): void;
  info?(message: string, extra: Record<string, unknown>): void;
}

export interface TokenServiceDeps {
  /**
   * With a {@link TokenInvalidationStore}, DELETE and forceRefresh reach every instance: each one
   * drops a token obtained before the recorded time when it next reloads the org record.
   */
  readonly registry: OrgRegistry & Partial<ExchangeOutcomeStore> & Partial<TokenInvalidationStore>;
  readonly signingKeys: SigningKeyProvider;
  readonly tokenEndpoint: TokenEndpointClient;
  /** The API's public base URL, for approval links in remediations and status. */
  readonly publicBaseUrl: string;
  /** @default a tracker that does nothing */
  readonly incidents?: IncidentTracker;
  readonly onExchange?: (report: ExchangeReport) => void;
  /** Told when an exchange's bookkeeping was abandoned at `respondBy` (see {@link RequestContext}). */
  readonly onBookkeepingAbandoned?: (report: ExchangeReport) => void;
  readonly logger?: ServiceLogger;
  readonly clock?: Clock;
  /**
   * How long an org record (and its callers list) is trusted from memory, ms. A removed caller
   * loses access, and an invalidation made on another instance takes effect, within this time.
   * @default 30000
   */
  readonly orgCacheTtlMs?: number;
  /** Retry-After for `salesforce_unavailable`, seconds. @default 5 */
  readonly unavailableRetryAfterSeconds?: number;
  /** Retry-After for `login_rate_exceeded`, seconds. @default 300 */
  readonly rateLimitRetryAfterSeconds?: number;
}

export interface RequestContext {
  readonly requestId: string;
  /** Ms since the epoch after which no Salesforce attempt starts. */
  readonly deadline: number;
  /**
   * Ms since the epoch by which the service answers. An exchange's bookkeeping (incident
   * tracking, events, the outcome record) still running then is abandoned, logged and reported
   * through `onBookkeepingAbandoned`: the response is never held past it. Leave time between
   * `deadline` and this for the bookkeeping to finish normally.
   * @default deadline + 200 ms
   */
  readonly respondBy?: number;
}

export interface CallerContext {
  /** The IAM principal ARN API Gateway reported; `null` when there is none. */
  readonly caller: string | null | undefined;
}

export interface TokenResult {
  readonly grant: TokenGrant;
  readonly cacheHit: boolean;
}

export interface OrgStatus {
  readonly org: OrgRecord;
  readonly approvalLink: string;
  readonly redirectUri: string;
  readonly salesforceAuthorizeUrl: string;
  readonly lastExchange: ExchangeOutcome | null;
  readonly openIncidents: readonly OpenIncident[];
  readonly signingKey:
    | { readonly available: true; readonly certificate: CertificateInfo | null }
    | { readonly available: false; readonly message: string };
}

export interface TokenService extends TokenExchanger {
  getToken(
    orgId: string,
    context: RequestContext & CallerContext & { readonly forceRefresh?: boolean },
  ): Promise<TokenResult>;
  /**
   * Drops this instance's token and records the invalidation for the others (which apply it when
   * they next reload the org record, within `orgCacheTtlMs`).
   * @returns whether this instance held a cached token for the org
   */
  invalidate(orgId: string, context: CallerContext): Promise<boolean>;
  status(orgId: string, context: CallerContext): Promise<OrgStatus>;
}

const NO_INCIDENTS: IncidentTracker = {
  recordFailure: async () => undefined,
  recordSuccess: async () => undefined,
  listOpen: async () => [],
};

interface KnownOrg {
  readonly org: OrgRecord;
  readonly callers: ReadonlySet<string>;
  readonly loadedAt: number;
}

function toGrant(token: SalesforceToken, org: OrgRecord, expiresAt: string): TokenGrant {
  return {
    access_token: token.access_token,
    instance_url: token.instance_url,
    id: token.id,
    token_type: token.token_type,
    ...(token.scope === undefined ? {} : { scope: token.scope }),
    ...(token.issued_at === undefined ? {} : { issued_at: token.issued_at }),
    expires_at: expiresAt,
    org_id: org.orgId,
  };
}

/**
 * Whether `work` settles before `deadline` (ms since the epoch, real time: it arms a real timer).
 */
async function finishesBy(work: Promise<unknown>, deadline: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expiry = new Promise<false>((resolve) => {
    timer = setTimeout(resolve, Math.max(0, deadline - Date.now()), false);
  });
  try {
    return await Promise.race([
      work.then(
        () => true,
        () => true,
      ),
      expiry,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

export function createTokenService(deps: TokenServiceDeps): TokenService {
  const clock = deps.clock ?? Date.now;
  const incidents = deps.incidents ?? NO_INCIDENTS;
  const orgCacheTtlMs = deps.orgCacheTtlMs ?? 30_000;
  const cache = new TokenCache(clock);
  const orgs = new Map<string, KnownOrg>();
  const orgLoads = new Map<string, Promise<KnownOrg | undefined>>();

  async function readOrgState(orgId: string): Promise<OrgTokenState | undefined> {
    const { registry } = deps;
    if (registry.getOrgTokenState) return registry.getOrgTokenState(orgId);
    const org = await registry.getOrg(orgId);
    return org && { org, tokenInvalidatedAt: undefined };
  }

  async function fetchOrg(orgId: string): Promise<KnownOrg | undefined> {
    const state = await readOrgState(orgId);
    if (!state) {
      orgs.delete(orgId);
      return undefined;
    }
    const { org, tokenInvalidatedAt } = state;
    if (tokenInvalidatedAt !== undefined && cache.dropObtainedBefore(orgId, tokenInvalidatedAt)) {
      deps.logger?.info?.('Cached token dropped: invalidated on another instance', {
        org_id: orgId,
        token_invalidated_at: new Date(tokenInvalidatedAt).toISOString(),
      });
    }
    const callers = new Set<string>();
    for (const caller of org.callers) {
      const normalized = normalizeCallerArn(caller);
      if (normalized) callers.add(normalized);
    }
    const known: KnownOrg = { org, callers, loadedAt: clock() };
    orgs.set(orgId, known);
    return known;
  }

  async function loadOrg(orgId: string, fresh = false): Promise<KnownOrg> {
    const cached = orgs.get(orgId);
    if (!fresh && cached && clock() - cached.loadedAt < orgCacheTtlMs) return cached;
    let running = orgLoads.get(orgId);
    if (!running) {
      running = fetchOrg(orgId).finally(() => orgLoads.delete(orgId));
      orgLoads.set(orgId, running);
    }
    const known = await running;
    if (!known) throw new BrokerError('org_not_found', `No org ${orgId} is registered`);
    return known;
  }

  function authorize(known: KnownOrg, caller: string | null | undefined): void {
    const normalized = caller ? normalizeCallerArn(caller) : undefined;
    if (!normalized || !known.callers.has(normalized)) {
      throw new BrokerError(
        'caller_not_authorized',
        `The caller is not allowed to use org ${known.org.orgId}`,
      );
    }
  }

  async function recover<T, F>(
    what: string,
    orgId: string,
    fallback: F,
    action: () => Promise<T> | undefined,
  ): Promise<T | F> {
    try {
      return (await action()) ?? fallback;
    } catch (error) {
      deps.logger?.warn(`${what} failed; the response is unaffected`, {
        org_id: orgId,
        error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
      });
      return fallback;
    }
  }

  const safely = (what: string, orgId: string, action: () => Promise<void>) =>
    recover(what, orgId, undefined, action);

  function post(org: OrgRecord, key: SigningKey, deadline: number): Promise<TokenEndpointResult> {
    return deps.tokenEndpoint.postForm(
      `${org.loginUrl}/services/oauth2/token`,
      async () => ({
        grant_type: JWT_BEARER_GRANT_TYPE,
        assertion: await signAssertion(buildAssertionClaims(org, clock()), key.privateKey),
      }),
      { deadline },
    );
  }

  function failure(
    category: Category,
    org: OrgRecord,
    salesforce: SalesforceErrorDetail | undefined,
    cause?: unknown,
  ): BrokerError {
    const remediation = buildRemediation(category, { org, publicBaseUrl: deps.publicBaseUrl });
    const retryAfterSeconds =
      category === 'salesforce_unavailable'
        ? (deps.unavailableRetryAfterSeconds ?? 5)
        : category === 'login_rate_exceeded'
          ? (deps.rateLimitRetryAfterSeconds ?? 300)
          : undefined;
    return new BrokerError(category, remediation.summary, {
      cause,
      salesforce,
      remediation,
      retryAfterSeconds,
    });
  }

  /**
   * Reports the exchange and records it (incidents, outcome), waiting for the records at most
   * until `respondBy`. Abandoned work is not cancelled: it keeps running and, like all of this
   * bookkeeping, reports its own failures instead of throwing.
   */
  async function settle(
    org: OrgRecord,
    context: RequestContext,
    report: ExchangeReport,
    error: BrokerError | undefined,
  ): Promise<void> {
    deps.onExchange?.(report);
    const respondBy = context.respondBy ?? context.deadline + DEFAULT_BOOKKEEPING_GRACE_MS;
    if (await finishesBy(record(org, context, report, error), respondBy)) return;
    deps.logger?.warn('Exchange bookkeeping abandoned to answer before the function times out', {
      org_id: org.orgId,
      request_id: context.requestId,
      exchange_ok: report.ok,
      category: report.category,
    });
    deps.onBookkeepingAbandoned?.(report);
  }

  async function record(
    org: OrgRecord,
    context: RequestContext,
    report: ExchangeReport,
    error: BrokerError | undefined,
  ): Promise<void> {
    const outcome: ExchangeOutcome = {
      at: new Date(clock()).toISOString(),
      ok: report.ok,
      category: report.category,
      salesforce: report.salesforce,
      requestId: context.requestId,
      latencyMs: report.latencyMs,
    };
    const tracked = error
      ? isIncidentCategory(error.category)
        ? safely('Incident tracking', org.orgId, () =>
            incidents.recordFailure({ org, error, requestId: context.requestId }),
          )
        : undefined
      : safely('Incident tracking', org.orgId, () =>
          incidents.recordSuccess({ org, requestId: context.requestId, cause: 'token_exchange' }),
        );
    const recordOutcome = deps.registry.recordExchangeOutcome?.bind(deps.registry);
    await Promise.all([
      tracked,
      recordOutcome &&
        safely('Recording the exchange outcome', org.orgId, () =>
          recordOutcome(org.orgId, outcome),
        ),
    ]);
  }

  async function exchange(org: OrgRecord, context: RequestContext): Promise<CachedGrant> {
    const base = { orgId: org.orgId, requestId: context.requestId };
    let key: SigningKey;
    try {
      key = await deps.signingKeys.getSigningKey(org.signingKeySecretId);
    } catch (cause) {
      const error = isBrokerError(cause)
        ? cause
        : new BrokerError('signing_key_unavailable', 'The signing key could not be loaded', {
            cause,
          });
      const report = {
        ...base,
        ok: false,
        category: error.category,
        salesforce: undefined,
        latencyMs: 0,
        attempts: 0,
        keyReread: false,
      };
      await settle(org, context, report, error);
      throw error;
    }

    let result = await post(org, key, context.deadline);
    let latencyMs = result.latencyMs;
    let attempts = result.attempts;
    let outcome = classifyTokenAnswer(result.answer);
    let keyReread = false;
    if (!outcome.ok && outcome.category === 'invalid_assertion') {
      // The key may have been rotated since it was cached: re-read once, retry only if it changed.
      const reread = await deps.signingKeys
        .getSigningKey(org.signingKeySecretId, { forceRefresh: true })
        .catch(() => undefined);
      keyReread = true;
      if (reread && (reread.versionId === undefined || reread.versionId !== key.versionId)) {
        result = await post(org, reread, context.deadline);
        latencyMs += result.latencyMs;
        attempts += result.attempts;
        outcome = classifyTokenAnswer(result.answer);
      }
    }

    if (outcome.ok) {
      const { expiresAtMs, expiresAt } = computeExpiry(clock(), org.tokenTtlSeconds);
      const grant = toGrant(outcome.token, org, expiresAt);
      const report = {
        ...base,
        ok: true,
        category: undefined,
        salesforce: undefined,
        latencyMs,
        attempts,
        keyReread,
      };
      await settle(org, context, report, undefined);
      return { grant, expiresAtMs };
    }
    const error = failure(outcome.category, org, outcome.salesforce);
    const report = {
      ...base,
      ok: false,
      category: outcome.category,
      salesforce: outcome.salesforce,
      latencyMs,
      attempts,
      keyReread,
    };
    await settle(org, context, report, error);
    throw error;
  }

  return {
    async getToken(orgId, context) {
      const known = await loadOrg(orgId);
      authorize(known, context.caller);
      const load = () => exchange(known.org, context);
      if (!context.forceRefresh) return cache.getOrLoad(orgId, load);
      // The caller found the token bad: other instances must drop it too. The time is taken
      // before this exchange starts, so the token it brings is not dropped by the same record.
      const recorded = safely('Recording the token invalidation', orgId, async () => {
        await deps.registry.recordTokenInvalidation?.(orgId, clock());
      });
      try {
        return await cache.getOrLoad(orgId, load, { forceRefresh: true });
      } finally {
        await recorded;
      }
    },

    async invalidate(orgId, context) {
      authorize(await loadOrg(orgId), context.caller);
      const dropped = cache.invalidate(orgId);
      // Not degraded to local-only on failure: the caller retries a 500, a 204 would mislead.
      await deps.registry.recordTokenInvalidation?.(orgId, clock());
      return dropped;
    },

    async status(orgId, context) {
      const known = await loadOrg(orgId, true);
      authorize(known, context.caller);
      const { org } = known;
      const redirectUri = buildRedirectUri(deps.publicBaseUrl);
      const [lastExchange, openIncidents, signingKey] = await Promise.all([
        // The status route degrades rather than fails: each part that cannot be read is logged.
        recover('Reading the last exchange outcome', orgId, undefined, () =>
          deps.registry.getExchangeOutcome?.(orgId),
        ),
        recover('Listing open incidents', orgId, [], () => incidents.listOpen(orgId)),
        deps.signingKeys.getSigningKey(org.signingKeySecretId).then(
          (key) => ({ available: true, certificate: key.certificate ?? null }) as const,
          (error: unknown) =>
            ({
              available: false,
              message: isBrokerError(error) ? error.message : 'The signing key could not be loaded',
            }) as const,
        ),
      ]);
      return {
        org,
        approvalLink: buildApprovalLink(deps.publicBaseUrl, orgId),
        redirectUri,
        salesforceAuthorizeUrl: buildSalesforceAuthorizeUrl(org, redirectUri),
        lastExchange: lastExchange ?? null,
        openIncidents,
        signingKey,
      };
    },

    async exchangeFresh(org, context) {
      // Never joins an exchange in flight: that one may have started before the fix it must prove.
      const entry = await exchange(org, context);
      cache.put(org.orgId, entry);
      return entry.grant;
    },
  };
}
