/**
 * The token service: what the token API does (get a token, drop it, report an org's status), plus
 * `exchangeFresh` for the approval callback, composed from org access, the JWT exchange, the
 * exchange's bookkeeping and the token cache. No SDK import and no environment read: the
 * composition root injects the adapters.
 */
import { buildRedirectUri, buildSalesforceAuthorizeUrl } from '../core/approval-links';
import { type RequestDeadline, SYSTEM_TIME, type TimeSource } from '../core/deadline';
import { BrokerError, isBrokerError } from '../core/errors';
import { signingKeySecretIdOf } from '../core/org-record';
import type {
  AfterResponse,
  CertificateInfo,
  ExchangeOutcome,
  ExchangeOutcomeStore,
  ExchangeReporter,
  ExchangeResult,
  GrantExchange,
  IncidentService,
  OpenIncident,
  OrgRegistry,
  ServiceLogger,
  SigningKeyProvider,
  TokenExchanger,
  TokenInvalidationStore,
} from '../core/ports';
import type { SigningKeyKind } from '../core/signing-key-secret';
import { TokenCache } from '../core/token-cache';
import type { OrgRecord, TokenGrant } from '../core/types';
import type { ApprovalLinks } from './approval-links';
import {
  createExchangeBookkeeping,
  type ExchangeContext,
  recoverWith,
} from './exchange-bookkeeping';
import type { FleetStatus, FleetTokens } from './fleet-tokens';
import { createOrgAccess } from './org-access';

export interface TokenServiceDeps {
  /** Org records with the token state kept on them (outcome, invalidation time). */
  readonly registry: OrgRegistry & ExchangeOutcomeStore & TokenInvalidationStore;
  /** The org's login: the JWT Bearer exchange (see createJwtExchange). */
  readonly exchange: GrantExchange;
  /** The fleet tier under this environment's memory: shared token, lease, failure memory. */
  readonly fleet: FleetTokens;
  /** For the status route's certificate check. */
  readonly signingKeys: SigningKeyProvider;
  /** The API's public base URL, for the redirect URI in status. */
  readonly publicBaseUrl: string;
  /** Mints the status route's approval link. */
  readonly approvalLinks: Pick<ApprovalLinks, 'mintForRemediation'>;
  readonly incidents: IncidentService;
  readonly reporter: ExchangeReporter;
  readonly logger: ServiceLogger;
  /** @default real time */
  readonly time?: TimeSource;
  /**
   * How long an org record (and its callers list) is trusted from memory, ms. A removed caller
   * loses access, and an invalidation made on another instance takes effect, within this time.
   * @default 30000
   */
  readonly orgCacheTtlMs?: number;
}

export interface CallerContext {
  /** The IAM principal ARN API Gateway reported; `null` when there is none. */
  readonly caller: string | null | undefined;
}

export interface TokenRequest extends CallerContext {
  readonly requestId: string;
  readonly deadline: RequestDeadline;
  readonly forceRefresh?: boolean;
  /** Where work the answer need not wait for goes. @default awaited before answering */
  readonly afterResponse?: AfterResponse | undefined;
}

export interface TokenResult {
  readonly grant: TokenGrant;
  readonly cacheHit: boolean;
}

export interface OrgStatus {
  readonly org: OrgRecord;
  /** `null` when the link could not be signed (logged). */
  readonly approvalLink: string | null;
  readonly redirectUri: string;
  readonly salesforceAuthorizeUrl: string;
  readonly lastExchange: ExchangeOutcome | null;
  readonly openIncidents: readonly OpenIncident[];
  /** Salesforce logins in the last hour, the shared token's times, a remembered failure. */
  readonly fleet: FleetStatus;
  readonly signingKey:
    | {
        readonly available: true;
        /** Where the private key is: in the secret, or held in KMS. */
        readonly kind: SigningKeyKind;
        readonly certificate: CertificateInfo | null;
      }
    | { readonly available: false; readonly message: string };
}

export interface TokenService extends TokenExchanger {
  exchangeFresh(
    org: OrgRecord,
    context: Parameters<TokenExchanger['exchangeFresh']>[1],
  ): Promise<TokenGrant>;
  /**
   * {@link exchangeFresh} for an org named by id, its record read here (consistently): what the
   * OAuth function's internal event asks for, so no caller can hand the signer a record.
   * @throws BrokerError `org_not_found`, or the exchange's failure
   */
  exchangeFreshFor(
    orgId: string,
    context: Parameters<TokenExchanger['exchangeFresh']>[1],
  ): Promise<TokenGrant>;
  getToken(orgId: string, request: TokenRequest): Promise<TokenResult>;
  /**
   * Drops this instance's token and records the invalidation for the others (which apply it when
   * they next reload the org record, within `orgCacheTtlMs`).
   * @returns whether this instance held a cached token for the org
   */
  invalidate(orgId: string, context: CallerContext): Promise<boolean>;
  status(orgId: string, context: CallerContext): Promise<OrgStatus>;
}

/** What status shows when the fleet state cannot be read (the failure is logged). */
const UNKNOWN_FLEET_STATUS: FleetStatus = {
  loginsLastHour: 0,
  sharedToken: null,
  rememberedFailure: null,
};

export function createTokenService(deps: TokenServiceDeps): TokenService {
  const { registry, logger } = deps;
  const time = deps.time ?? SYSTEM_TIME;
  const clock = () => time.now();
  const cache = new TokenCache(clock);
  const access = createOrgAccess({
    registry,
    cache,
    clock,
    logger,
    ...(deps.orgCacheTtlMs === undefined ? {} : { ttlMs: deps.orgCacheTtlMs }),
  });
  const settle = createExchangeBookkeeping({
    incidents: deps.incidents,
    outcomes: registry,
    reporter: deps.reporter,
    logger,
    time,
  });

  /** The login and its bookkeeping, as the fleet tier runs them under the org's lease. */
  function loginFor(org: OrgRecord, context: ExchangeContext) {
    return {
      exchange: () =>
        deps.exchange.run(org, {
          requestId: context.requestId,
          salesforceBy: context.deadline.salesforceBy,
        }),
      settle: (result: ExchangeResult) => settle(org, result, context),
    };
  }

  return {
    async getToken(orgId, request) {
      const org = await access.authorize(orgId, request.caller);
      // The login and its context are built only on a miss, off the memory-hit path.
      const fleetArgs = () => {
        const { exchange, settle: settleExchange } = loginFor(org, {
          requestId: request.requestId,
          deadline: request.deadline,
          cause: 'token_exchange',
        });
        const fleetRequest = {
          requestId: request.requestId,
          deadline: request.deadline,
          invalidatedAt: access.invalidatedAt(orgId),
          afterResponse: request.afterResponse,
        };
        return [org, fleetRequest, exchange, settleExchange] as const;
      };
      if (!request.forceRefresh) {
        return cache.getOrLoad(orgId, () => deps.fleet.obtain(...fleetArgs()));
      }
      // Taken before the exchange starts, so the token it brings is not dropped by the same record.
      const startedAt = clock();
      let suppressed = false;
      const result = await cache.getOrLoad(
        orgId,
        async () => {
          const refreshed = await deps.fleet.refresh(...fleetArgs());
          suppressed = refreshed.suppressed;
          return refreshed.entry;
        },
        { forceRefresh: true },
      );
      // The caller found the token bad: other environments must drop their copies of it too.
      if (!suppressed) {
        const record = () =>
          recoverWith(logger, 'Recording the token invalidation', orgId, undefined, () =>
            registry.recordTokenInvalidation(orgId, startedAt),
          );
        if (request.afterResponse) request.afterResponse(record);
        else await record();
      }
      return result;
    },

    async invalidate(orgId, context) {
      const org = await access.authorize(orgId, context.caller);
      // Inside the minimum token age nothing is dropped: the next request gets the same token.
      if ((await deps.fleet.drop(org)) === 'suppressed') return false;
      const dropped = cache.invalidate(orgId);
      // Not degraded to local-only on failure: the caller retries a 500, a 204 would mislead.
      await registry.recordTokenInvalidation(orgId, clock());
      return dropped;
    },

    async status(orgId, context) {
      const org = await access.authorize(orgId, context.caller, { fresh: true });
      const redirectUri = buildRedirectUri(deps.publicBaseUrl);
      const [lastExchange, openIncidents, signingKey, fleet, approvalLink] = await Promise.all([
        // The status route degrades rather than fails: each part that cannot be read is logged.
        recoverWith(logger, 'Reading the last exchange outcome', orgId, undefined, () =>
          registry.getExchangeOutcome(orgId),
        ),
        recoverWith(logger, 'Listing open incidents', orgId, [], () =>
          deps.incidents.listOpen(orgId),
        ),
        // A client credentials org names no key: reported as unavailable, with the reason.
        Promise.resolve(org)
          .then((record) => deps.signingKeys.getSigningKey(signingKeySecretIdOf(record)))
          .then(
            (key) =>
              ({ available: true, kind: key.kind, certificate: key.certificate ?? null }) as const,
            (error: unknown) =>
              ({
                available: false,
                message: isBrokerError(error)
                  ? error.message
                  : 'The signing key could not be loaded',
              }) as const,
          ),
        recoverWith(logger, 'Reading the fleet state', orgId, UNKNOWN_FLEET_STATUS, () =>
          deps.fleet.describe(orgId),
        ),
        deps.approvalLinks.mintForRemediation(orgId),
      ]);
      return {
        org,
        approvalLink: approvalLink ?? null,
        redirectUri,
        salesforceAuthorizeUrl: buildSalesforceAuthorizeUrl(org, redirectUri),
        lastExchange: lastExchange ?? null,
        openIncidents,
        fleet,
        signingKey,
      };
    },

    exchangeFresh,

    async exchangeFreshFor(orgId, context) {
      const org = await registry.getOrg(orgId);
      if (!org) throw new BrokerError('org_not_found', `No org ${orgId} is registered`);
      return exchangeFresh(org, context);
    },
  };

  async function exchangeFresh(
    org: OrgRecord,
    context: Parameters<TokenExchanger['exchangeFresh']>[1],
  ): Promise<TokenGrant> {
    // Never joins an exchange in flight: that one may have started before the fix it must prove.
    const { exchange, settle: settleExchange } = loginFor(org, context);
    const entry = await deps.fleet.prove(
      org,
      { requestId: context.requestId, deadline: context.deadline, invalidatedAt: undefined },
      exchange,
      settleExchange,
    );
    cache.put(org.orgId, entry);
    return entry.grant;
  }
}
