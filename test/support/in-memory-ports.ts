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
  OpenIncident,
  OrgRegistry,
  ServiceLogger,
  SigningKey,
  SigningKeyProvider,
  TokenEndpointClient,
  TokenInvalidationStore,
} from '../../lambda/core/ports';
import type { OrgRecord } from '../../lambda/core/types';
import { type ApprovalLinks, createApprovalLinks } from '../../lambda/services/approval-links';
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
    async recordExchangeOutcome(orgId, outcome) {
      outcomes.set(orgId, outcome);
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
