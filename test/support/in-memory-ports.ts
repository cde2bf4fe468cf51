/**
 * Small in-memory implementations of the broker's ports for service and handler tests, where the
 * port's own adapter is not what is under test (each adapter has its own tests against dynalite,
 * the local Secrets Manager or a loopback HTTP server).
 */

import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { importSigningKey } from '../../lambda/adapters/signing-keys';
import { buildApprovalLinkMessage, decodeApprovalLinkMac } from '../../lambda/core/approval-links';
import { SYSTEM_TIME, type TimeSource } from '../../lambda/core/deadline';
import type {
  ApprovalLinkSigner,
  ExchangeOutcome,
  ExchangeOutcomeStore,
  ExchangeReport,
  ExchangeReporter,
  GrantExchange,
  IncidentService,
  LoginCount,
  OpenIncident,
  OrgRegistry,
  ServiceLogger,
  SharedTokenStore,
  SigningKey,
  SigningKeyProvider,
  TokenEndpointClient,
  TokenInvalidationStore,
  TokenSealer,
} from '../../lambda/core/ports';
import { loginBucketOf, type SharedTokenState } from '../../lambda/core/shared-token';
import type { OrgRecord } from '../../lambda/core/types';
import { type ApprovalLinks, createApprovalLinks } from '../../lambda/services/approval-links';
import { createFleetTokens, type FleetTokens } from '../../lambda/services/fleet-tokens';
import { createJwtExchange } from '../../lambda/services/jwt-exchange';

/**
 * An approval-link signer with a key in process memory: the KMS adapter's contract (same message,
 * same MAC encoding) without KMS, for service tests. The adapter has its own test on local KMS.
 */
export function createMemoryApprovalLinkSigner(key: Buffer = randomBytes(32)): ApprovalLinkSigner {
  const macOf = (orgId: string, expiresAt: number) =>
    createHmac('sha256', key).update(buildApprovalLinkMessage(orgId, expiresAt)).digest();
  return {
    async sign(orgId, expiresAt) {
      return macOf(orgId, expiresAt).toString('base64url');
    },
    async verify(link) {
      const given = decodeApprovalLinkMac(link.mac);
      return given !== undefined && timingSafeEqual(given, macOf(link.orgId, link.expiresAt));
    },
  };
}

/** Approval links over {@link createMemoryApprovalLinkSigner}, valid for 7 days. */
export function createMemoryApprovalLinks(deps: {
  readonly publicBaseUrl: string;
  readonly time?: TimeSource;
  readonly signer?: ApprovalLinkSigner;
}): ApprovalLinks {
  const time = deps.time ?? SYSTEM_TIME;
  return createApprovalLinks({
    signer: deps.signer ?? createMemoryApprovalLinkSigner(),
    publicBaseUrl: deps.publicBaseUrl,
    lifetimeSeconds: 7 * 86_400,
    clock: () => time.now(),
    logger: { info: () => undefined, warn: () => undefined },
  });
}

export function createMemoryRegistry(records: readonly OrgRecord[] = []): OrgRegistry &
  ExchangeOutcomeStore &
  TokenInvalidationStore & {
    outcomes: Map<string, ExchangeOutcome>;
    invalidations: Map<string, number>;
    gets: number;
  } {
  const orgs = new Map(records.map((record) => [record.orgId, record]));
  const outcomes = new Map<string, ExchangeOutcome>();
  const invalidations = new Map<string, number>();
  return {
    outcomes,
    invalidations,
    gets: 0,
    async getOrgTokenState(orgId) {
      this.gets += 1;
      const org = orgs.get(orgId);
      return org && { org, tokenInvalidatedAt: invalidations.get(orgId) };
    },
    async recordTokenInvalidation(orgId, at) {
      invalidations.set(orgId, Math.max(at, invalidations.get(orgId) ?? 0));
    },
    async getOrg(orgId) {
      this.gets += 1;
      return orgs.get(orgId);
    },
    async putOrg(record) {
      orgs.set(record.orgId, record);
    },
    async deleteOrg(orgId) {
      return orgs.delete(orgId);
    },
    async listOrgs() {
      return [...orgs.values()];
    },
    async recordExchangeOutcome(orgId, outcome, options = {}) {
      const previous = outcomes.get(orgId);
      const unchanged =
        previous !== undefined &&
        previous.ok === outcome.ok &&
        previous.category === outcome.category &&
        Date.parse(outcome.at) - Date.parse(previous.at) < (options.refreshAfterMs ?? 0);
      if (unchanged) return { written: false };
      outcomes.set(orgId, outcome);
      return { written: true, previous };
    },
    async getExchangeOutcome(orgId) {
      return outcomes.get(orgId);
    },
  };
}

/** Keys from SecretStrings held in memory; `versions` lets a test rotate a key. */
export function createMemoryKeys(secrets: Record<string, string>): SigningKeyProvider & {
  reads: string[];
  rotate(secretId: string, secretString: string): void;
} {
  const versions = new Map<string, number>();
  const reads: string[] = [];
  return {
    reads,
    rotate(secretId, secretString) {
      secrets[secretId] = secretString;
      versions.set(secretId, (versions.get(secretId) ?? 1) + 1);
    },
    async getSigningKey(secretId, options): Promise<SigningKey> {
      reads.push(`${secretId}${options?.forceRefresh ? ' (forced)' : ''}`);
      const secret = secrets[secretId];
      if (secret === undefined) {
        const { BrokerError } = await import('../../lambda/core/errors');
        throw new BrokerError(
          'signing_key_unavailable',
          `Signing key secret ${secretId} could not be read (ResourceNotFoundException)`,
        );
      }
      return importSigningKey(secretId, `v${versions.get(secretId) ?? 1}`, secret);
    },
  };
}

export interface RecordingIncidents extends IncidentService {
  readonly calls: string[];
}

/** Records calls; `failWith` makes every call throw, as a broken store would. */
export function createRecordingIncidents(
  options: { failWith?: Error; open?: OpenIncident[] } = {},
): RecordingIncidents {
  const calls: string[] = [];
  return {
    calls,
    async recordFailure({ org, error, requestId }) {
      calls.push(`failure ${org.orgId} ${error.category} ${requestId}`);
      if (options.failWith) throw options.failWith;
    },
    async recordSuccess({ org, cause, requestId }) {
      calls.push(`success ${org.orgId} ${cause} ${requestId}`);
      if (options.failWith) throw options.failWith;
    },
    async listOpen() {
      if (options.failWith) throw options.failWith;
      return options.open ?? [];
    },
  };
}

/** An incident service that records nothing. */
export const NO_INCIDENTS: IncidentService = {
  recordFailure: async () => undefined,
  recordSuccess: async () => undefined,
  listOpen: async () => [],
};

/** Keeps every exchange report, and those whose bookkeeping was abandoned. */
export function createRecordingReporter(): ExchangeReporter & {
  readonly reports: ExchangeReport[];
  readonly abandoned: ExchangeReport[];
} {
  const reports: ExchangeReport[] = [];
  const abandoned: ExchangeReport[] = [];
  return {
    reports,
    abandoned,
    reportExchange: (report) => reports.push(report),
    reportBookkeepingAbandoned: (report) => abandoned.push(report),
    reportCertificateDaysToExpiry: () => undefined,
    reportFleetHit: () => undefined,
    reportRememberedFailure: () => undefined,
    reportRefreshSuppressed: () => undefined,
    reportLoginBudget: () => undefined,
  };
}

/** Keeps `message {extra}` lines by level. */
export function createRecordingLogger(): ServiceLogger & {
  readonly infos: string[];
  readonly warnings: string[];
} {
  const infos: string[] = [];
  const warnings: string[] = [];
  return {
    infos,
    warnings,
    info: (message, extra) => infos.push(`${message} ${JSON.stringify(extra)}`),
    warn: (message, extra) => warnings.push(`${message} ${JSON.stringify(extra)}`),
  };
}

/** The token service's exchange and status ports over one key provider and token endpoint. */
export function withJwtExchange(deps: {
  readonly signingKeys: SigningKeyProvider;
  readonly tokenEndpoint: TokenEndpointClient;
  readonly publicBaseUrl: string;
  readonly time?: TimeSource;
}): {
  exchange: GrantExchange;
  signingKeys: SigningKeyProvider;
  publicBaseUrl: string;
  approvalLinks: ApprovalLinks;
} {
  const time = deps.time ?? SYSTEM_TIME;
  const approvalLinks = createMemoryApprovalLinks({ publicBaseUrl: deps.publicBaseUrl, time });
  return {
    exchange: createJwtExchange({
      signingKeys: deps.signingKeys,
      tokenEndpoint: deps.tokenEndpoint,
      publicBaseUrl: deps.publicBaseUrl,
      approvalLinks,
      clock: () => time.now(),
    }),
    signingKeys: deps.signingKeys,
    publicBaseUrl: deps.publicBaseUrl,
    approvalLinks,
  };
}

/**
 * The shared token item in memory, with the DynamoDB adapter's conditions (the adapter itself is
 * tested against dynalite in test/adapters/shared-token-store.test.ts).
 */
export function createMemorySharedTokenStore(): SharedTokenStore & {
  readonly items: Map<string, SharedTokenState>;
} {
  const items = new Map<string, SharedTokenState>();
  const empty: SharedTokenState = {
    version: 0,
    lease: undefined,
    token: undefined,
    failure: undefined,
    logins: {},
  };
  const count = (state: SharedTokenState, logins: LoginCount): SharedTokenState => {
    const bucket = loginBucketOf(logins.at);
    return {
      ...state,
      logins: { ...state.logins, [bucket]: (state.logins[bucket] ?? 0) + logins.count },
    };
  };
  return {
    items,
    async read(orgId) {
      return items.get(orgId);
    },
    async acquireLease(orgId, lease, { now, force }) {
      const state = items.get(orgId) ?? empty;
      const free =
        !state.lease || state.lease.expiresAt <= now || state.lease.owner === lease.owner;
      if (!force && !free) return { acquired: false };
      const version = state.version + 1;
      items.set(orgId, { ...state, version, lease });
      return { acquired: true, version };
    },
    async publishToken(orgId, token, logins) {
      const state = items.get(orgId) ?? empty;
      if (state.version !== token.version) return { stored: false, state: undefined };
      const next = count({ ...state, token, failure: undefined, lease: undefined }, logins);
      items.set(orgId, next);
      return { stored: true, state: next };
    },
    async rememberFailure(orgId, failure, logins) {
      const state = items.get(orgId) ?? empty;
      if (state.version !== failure.version) return { stored: false, state: undefined };
      const next = count({ ...state, failure, lease: undefined }, logins);
      items.set(orgId, next);
      return { stored: true, state: next };
    },
    async countLogins(orgId, logins) {
      const next = count(items.get(orgId) ?? empty, logins);
      items.set(orgId, next);
      return next;
    },
    async releaseLease(orgId, owner) {
      const state = items.get(orgId);
      if (state?.lease?.owner === owner) items.set(orgId, { ...state, lease: undefined });
    },
    async dropToken(orgId, version) {
      const state = items.get(orgId);
      if (state?.token?.version !== version) return false;
      items.set(orgId, { ...state, token: undefined });
      return true;
    },
    async clearFailure(orgId) {
      const state = items.get(orgId);
      if (state) items.set(orgId, { ...state, failure: undefined });
    },
  };
}

/** Seals by authenticating the context only: for service tests, where KMS is not under test. */
export const TEST_SEALER: TokenSealer = {
  async seal(plaintext, context) {
    return `${Buffer.from(JSON.stringify(context)).toString('base64url')}.${Buffer.from(plaintext).toString('base64url')}`;
  },
  async open(sealed, context) {
    const [sealedContext = '', body = ''] = sealed.split('.');
    if (sealedContext !== Buffer.from(JSON.stringify(context)).toString('base64url')) {
      throw new Error('context mismatch');
    }
    return Buffer.from(body, 'base64url');
  },
};

/** A fleet tier over an in-memory shared item, for service tests of one environment. */
export function createMemoryFleet(
  options: {
    readonly store?: SharedTokenStore;
    readonly time?: TimeSource;
    readonly reporter?: ExchangeReporter;
    readonly failureMemoryMs?: number;
    readonly minTokenAgeMs?: number;
  } = {},
): FleetTokens {
  return createFleetTokens({
    store: options.store ?? createMemorySharedTokenStore(),
    sealer: TEST_SEALER,
    tableName: 'memory',
    reporter: options.reporter ?? createRecordingReporter(),
    logger: createRecordingLogger(),
    time: options.time ?? SYSTEM_TIME,
    ...(options.failureMemoryMs === undefined ? {} : { failureMemoryMs: options.failureMemoryMs }),
    minTokenAgeMs: options.minTokenAgeMs ?? 0,
  });
}
