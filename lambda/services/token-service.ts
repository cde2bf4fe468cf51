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
  SigningKey,
  SigningKeyProvider,
  TokenEndpointClient,
  TokenEndpointResult,
  TokenExchanger,
} from '../core/ports';
import { buildRemediation } from '../core/remediation';
import { type CachedGrant, computeExpiry, TokenCache } from '../core/token-cache';
import type { Clock, OrgRecord, SalesforceErrorDetail, TokenGrant } from '../core/types';

export const JWT_BEARER_GRANT_TYPE = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

/**
 * How long past the request deadline an exchange still waits for its side effects (incident
 * tracking, the outcome record), ms. The token handler keeps 500 ms after the deadline to answer.
 */
const SIDE_EFFECT_GRACE_MS = 200;

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
}

export interface TokenServiceDeps {
  readonly registry: OrgRegistry & Partial<ExchangeOutcomeStore>;
  readonly signingKeys: SigningKeyProvider;
  readonly tokenEndpoint: TokenEndpointClient;
  /** The API's public base URL, for approval links in remediations and status. */
  readonly publicBaseUrl: string;
  /** @default a tracker that does nothing */
  readonly incidents?: IncidentTracker;
  readonly onExchange?: (report: ExchangeReport) => void;
  readonly logger?: ServiceLogger;
  readonly clock?: Clock;
  /**
   * How long an org record (and its callers list) is trusted from memory, ms. A removed caller
   * loses access within this time.
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
  /** @returns whether this instance held a cached token for the org */
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

export function createTokenService(deps: TokenServiceDeps): TokenService {
  const clock = deps.clock ?? Date.now;
  const incidents = deps.incidents ?? NO_INCIDENTS;
  const orgCacheTtlMs = deps.orgCacheTtlMs ?? 30_000;
  const cache = new TokenCache(clock);
  const orgs = new Map<string, KnownOrg>();
  const orgLoads = new Map<string, Promise<KnownOrg | undefined>>();

  async function fetchOrg(orgId: string): Promise<KnownOrg | undefined> {
    const org = await deps.registry.getOrg(orgId);
    if (!org) {
      orgs.delete(orgId);
      return undefined;
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

  async function settle(
    org: OrgRecord,
    context: RequestContext,
    report: ExchangeReport,
    error: BrokerError | undefined,
  ): Promise<void> {
    deps.onExchange?.(report);
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
    const sideEffects = Promise.all([
      tracked,
      recordOutcome &&
        safely('Recording the exchange outcome', org.orgId, () =>
          recordOutcome(org.orgId, outcome),
        ),
    ]);
    // A hanging DynamoDB or SNS must not hold the answer (a token, or the failure) past the
    // deadline; the side effects keep running and report their own failures.
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'deadline'>((resolve) => {
      const waitMs = context.deadline + SIDE_EFFECT_GRACE_MS - Date.now();
      timer = setTimeout(() => resolve('deadline'), Math.max(0, waitMs));
    });
    const first = await Promise.race([sideEffects, deadline]);
    clearTimeout(timer);
    if (first === 'deadline') {
      deps.logger?.warn('Incident tracking still running at the deadline; answering without it', {
        orgId: org.orgId,
        category: report.category,
      });
    }
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
      return cache.getOrLoad(orgId, () => exchange(known.org, context), {
        forceRefresh: context.forceRefresh ?? false,
      });
    },

    async invalidate(orgId, context) {
      authorize(await loadOrg(orgId), context.caller);
      return cache.invalidate(orgId);
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
