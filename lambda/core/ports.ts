/**
 * The small interfaces the core and the services depend on. Adapters (AWS SDK, HTTP) implement
 * them; tests and the local runtime can supply their own. Nothing here does I/O.
 */
import type { BrokerError } from './errors';
import type { BrokerEvent, OrgRecord } from './types';

/** The org registry (SPEC §3.3). */
export interface OrgRegistry {
  getOrg(orgId: string): Promise<OrgRecord | undefined>;
  putOrg(record: OrgRecord): Promise<void>;
  /** @returns whether a record existed. */
  deleteOrg(orgId: string): Promise<boolean>;
  listOrgs(): Promise<OrgRecord[]>;
}

/**
 * Delivers events (SNS in AWS, console + JSON lines locally).
 * Implementations never throw: an event that cannot be delivered is logged in full with a marker
 * and counted (`EventDeliveryFailed`), so that nothing is lost and no caller is broken by it.
 */
export interface EventPublisher {
  publish(event: BrokerEvent): Promise<void>;
}

export type ResolutionCause = 'token_exchange' | 'approval_callback';

/** An incident as listed by the status route. */
export interface OpenIncident {
  readonly category: string;
  readonly count: number;
  readonly firstSeenAt: string;
  readonly lastSeenAt: string;
}

/**
 * Turns exchange outcomes into the incident lifecycle (SPEC §3.6). Called only on fresh exchanges,
 * never on cache hits. Implementations never throw: the token path must not depend on them.
 */
export interface IncidentTracker {
  recordFailure(input: {
    readonly org: OrgRecord;
    readonly error: BrokerError;
    readonly requestId: string;
  }): Promise<void>;
  recordSuccess(input: {
    readonly org: OrgRecord;
    readonly requestId: string;
    readonly cause: ResolutionCause;
  }): Promise<void>;
  listOpen(orgId: string): Promise<OpenIncident[]>;
}

/**
 * Runs a fresh JWT Bearer exchange for an org, bypassing and then refreshing the token cache.
 * Throws a `BrokerError` carrying the category, Salesforce detail and remediation on failure.
 * The approval callback uses it to prove a fix.
 */
export interface TokenExchanger {
  exchangeFresh(
    org: OrgRecord,
    context: { readonly requestId: string; readonly deadline: number },
  ): Promise<import('./types').TokenGrant>;
}

/** What may be shown about a signing key's certificate (SPEC §3.4): never the key itself. */
export interface CertificateInfo {
  /** Lowercase hex SHA-256 of the certificate's DER, as Salesforce and openssl show it. */
  readonly fingerprintSha256: string;
  /** RFC 3339 UTC. */
  readonly notAfter: string;
  readonly subject: string;
  /** Whether the certificate carries the public half of the private key in the secret. */
  readonly matchesPrivateKey: boolean;
}

/** A signing key ready to sign assertions. `privateKey` is a non-extractable handle. */
export interface SigningKey {
  readonly secretId: string;
  /** The secret version the key was read from; a re-read returning the same version changed nothing. */
  readonly versionId: string | undefined;
  readonly privateKey: import('jose').CryptoKey;
  /** Absent when the secret holds a bare PEM key. */
  readonly certificate: CertificateInfo | undefined;
}

/** Signing keys by secret id (Secrets Manager in AWS, a local endpoint or folder locally). */
export interface SigningKeyProvider {
  /**
   * The key for `secretId`, from memory while younger than the max age. `forceRefresh` re-reads it
   * (after `invalid_assertion`: it may have been rotated).
   * @throws BrokerError `signing_key_unavailable`
   */
  getSigningKey(
    secretId: string,
    options?: { readonly forceRefresh?: boolean },
  ): Promise<SigningKey>;
}

/** The result of POSTing to a token endpoint, retries included: the last answer, raw. */
export interface TokenEndpointResult {
  readonly answer: import('./classify').TokenEndpointAnswer;
  readonly attempts: number;
  /** Milliseconds spent across all attempts and backoff. */
  readonly latencyMs: number;
}

/** POSTs form-encoded requests to Salesforce's `/services/oauth2/token`. */
export interface TokenEndpointClient {
  /**
   * @param buildForm called once per attempt, so each attempt can carry a fresh assertion
   * @param options.deadline ms since the epoch after which no attempt starts
   */
  postForm(
    url: string,
    buildForm: () => Promise<Record<string, string>>,
    options: { readonly deadline: number },
  ): Promise<TokenEndpointResult>;
}

/** The outcome of the latest fresh exchange for an org, shown by the status route. No secret. */
export interface ExchangeOutcome {
  /** RFC 3339 UTC. */
  readonly at: string;
  readonly ok: boolean;
  readonly category?: string | undefined;
  readonly salesforce?: import('./types').SalesforceErrorDetail | undefined;
  readonly requestId: string;
  readonly latencyMs: number;
}

/** Keeps the last exchange outcome per org (the registry adapter stores it on the org item). */
export interface ExchangeOutcomeStore {
  recordExchangeOutcome(orgId: string, outcome: ExchangeOutcome): Promise<void>;
  getExchangeOutcome(orgId: string): Promise<ExchangeOutcome | undefined>;
}

/** An org record with the token function's per-org state, read from the same item. */
export interface OrgTokenState {
  readonly org: OrgRecord;
  /**
   * When the org's tokens were last invalidated (DELETE or forceRefresh on any instance), ms
   * since the epoch: a token obtained before it must not be served.
   */
  readonly tokenInvalidatedAt: number | undefined;
}

/**
 * Token invalidation across function instances (the registry adapter keeps it on the org item).
 * Each instance reads it whenever it reloads the org record, so it costs the hot path nothing.
 */
export interface TokenInvalidationStore {
  /** The org record and its last token invalidation, in one read. */
  getOrgTokenState(orgId: string): Promise<OrgTokenState | undefined>;
  /** Records an invalidation at `at` (ms since the epoch); an earlier time never replaces a later one. */
  recordTokenInvalidation(orgId: string, at: number): Promise<void>;
}
