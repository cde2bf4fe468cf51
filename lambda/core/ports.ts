/**
 * Every port of the broker: the interfaces the services depend on. Adapters (AWS SDK, HTTP)
 * implement them; tests and the local stack can supply their own. Nothing here does I/O.
 */
import type { SignedApprovalLink } from './approval-links';
import type { AssertionSigner } from './assertion';
import type { Category } from './categories';
import type { CertificateAlert } from './certificate-expiry';
import type { Classification, TokenEndpointAnswer } from './classify';
import type { RequestDeadline } from './deadline';
import type { BrokerError } from './errors';
import type { FailureRecord, StoredIncident } from './incidents';
import type { InternalEvent, InternalEventResult } from './internal-events';
import type { KeyRotation } from './key-rotation';
import type { OAuthStateRecord } from './oauth-state';
import type { Lease, RememberedFailure, SharedToken, SharedTokenState } from './shared-token';
import type { SigningKeyKind } from './signing-key-secret';
import type { CachedGrant } from './token-cache';
import type { BrokerEvent, OrgRecord, SalesforceErrorDetail } from './types';

/** Structured log sink of the services (the Powertools Logger fits). Never handed a secret. */
export interface ServiceLogger {
  info(message: string, extra: Record<string, unknown>): void;
  warn(message: string, extra: Record<string, unknown>): void;
}

/** The org registry (docs/contracts.md#org-record). */
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
 * Storage of incidents. Each method is one atomic DynamoDB operation, which is what makes the
 * decisions in incidents.ts correct under concurrency; implementations throw on storage errors.
 */
export interface IncidentStore {
  /**
   * Counts a failure, creating the incident if none is open, atomically.
   * @returns the incident after this failure; `count === 1` for exactly one caller per incident
   */
  recordFailure(failure: FailureRecord): Promise<StoredIncident>;
  /**
   * Moves `lastNotifiedAt` from `previous` to `at` only if nobody else did.
   * @returns whether this caller won the right to publish the reminder
   */
  claimReminder(incident: StoredIncident, at: number): Promise<boolean>;
  listOpen(orgId: string): Promise<StoredIncident[]>;
  /**
   * Removes an open incident atomically.
   * @returns the incident as it was, or undefined if another caller closed it first
   */
  close(orgId: string, category: Category): Promise<StoredIncident | undefined>;
}

/**
 * Turns exchange outcomes into the incident lifecycle (docs/contracts.md#events). Called only
 * on fresh exchanges, never on cache hits. Implementations never throw: the token path must not
 * depend on them.
 */
export interface IncidentService {
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
 * The approval callback uses it to prove a fix; a success resolves the org's incidents with
 * `cause`. Only the token function signs: the OAuth function's exchanger invokes it.
 */
export interface TokenExchanger {
  exchangeFresh(
    org: OrgRecord,
    context: {
      readonly requestId: string;
      readonly deadline: RequestDeadline;
      readonly cause: ResolutionCause;
    },
  ): Promise<unknown>;
}

/**
 * Takes work the answer must not wait for (sharing a fresh token, the exchange's bookkeeping): it
 * starts once the response is returned (not even its synchronous part, such as signing requests,
 * runs before), and the environment serves no other request until it has settled. The work
 * reports its own failures; a rejection is ignored.
 */
export type AfterResponse = (work: () => Promise<unknown>) => void;

/** Delivers an internal event to the token function: Lambda Invoke in AWS, in-process locally. */
export interface TokenFunctionInvoker {
  /** @throws when the token function cannot be reached or answers with a function error */
  invoke(event: InternalEvent): Promise<InternalEventResult>;
}

/** One exchange's result and its report; the error carries category, detail and remediation. */
export type ExchangeResult =
  | { readonly ok: true; readonly entry: CachedGrant; readonly report: ExchangeReport }
  | { readonly ok: false; readonly error: BrokerError; readonly report: ExchangeReport };

/** One Salesforce login for an org with the org's grant, turned into a grant or an error. */
export interface GrantExchange {
  /** Never throws a {@link BrokerError}: failures come back as results, with their report. */
  run(
    org: OrgRecord,
    context: { readonly requestId: string; readonly salesforceBy: number },
  ): Promise<ExchangeResult>;
}

/** Reported once per fresh exchange, for metrics and logs. Holds no secret. */
export interface ExchangeReport {
  readonly orgId: string;
  readonly requestId: string;
  readonly ok: boolean;
  readonly category: Category | undefined;
  readonly salesforce: SalesforceErrorDetail | undefined;
  /** Time spent in Salesforce's token endpoint, all attempts. */
  readonly latencyMs: number;
  /** Salesforce logins made: 0 when the key could not be loaded. */
  readonly attempts: number;
  /** Whether the key was re-read after `invalid_assertion`. */
  readonly keyReread: boolean;
  /** Days until the certificate of the key that signed expires, when the secret carries one. */
  readonly certificateDaysToExpiry?: number | undefined;
  /** SHA-256 fingerprint of the certificate whose key signed the (last) assertion, when known. */
  readonly keyFingerprint?: string | undefined;
}

/**
 * The last certificate-expiry alert per org (the registry adapter keeps it on the org item as
 * `certificateAlerts`, an attribute the token role may write).
 */
export interface CertificateAlertStore {
  /**
   * Records `alert` unless one at that threshold or below was already recorded for the same
   * certificate, atomically, so one instance of many announces it.
   * @returns whether this call recorded it
   */
  claimCertificateAlert(orgId: string, alert: CertificateAlert): Promise<boolean>;
}

/** Where a function's exchanges are counted (metrics and log lines). */
export interface ExchangeReporter {
  /** Once per fresh exchange. */
  reportExchange(report: ExchangeReport): void;
  /**
   * `CertificateDaysToExpiry`, overall and per org: by every fresh exchange that knows its
   * certificate, and by the daily certificate check.
   */
  reportCertificateDaysToExpiry(orgId: string, days: number): void;
  /** When an exchange's bookkeeping was still running at `respondBy` and was left behind. */
  reportBookkeepingAbandoned(report: ExchangeReport): void;
  /** A token served from the fleet's shared cache (another environment's login). */
  reportFleetHit(orgId: string): void;
  /** A failure answered from the fleet's memory, without a login. */
  reportRememberedFailure(orgId: string, category: Category): void;
  /** A forceRefresh or DELETE inside the minimum token age: no login made. */
  reportRefreshSuppressed(orgId: string): void;
  /** The org's logins in the last hour, fleet-wide, after a login was counted. */
  reportLoginBudget(orgId: string, loginsLastHour: number): void;
}

/** What may be shown about a signing key's certificate: never the key itself. */
export interface CertificateInfo {
  /** Lowercase hex SHA-256 of the certificate's DER, as Salesforce and openssl show it. */
  readonly fingerprintSha256: string;
  /** RFC 3339 UTC. */
  readonly notAfter: string;
  readonly subject: string;
  /** Whether the certificate carries the public half of the private key in the secret. */
  readonly matchesPrivateKey: boolean;
}

/**
 * A signing key ready to sign assertions: a non-extractable key in this function's memory, or a
 * KMS key that never leaves KMS. Either way only `sign` is exposed.
 */
export interface SigningKey extends AssertionSigner {
  readonly secretId: string;
  /** The secret version the key was read from; a re-read returning the same version changed nothing. */
  readonly versionId: string | undefined;
  /** Where the private key is: in the secret (`secret`) or in KMS (`kms`). */
  readonly kind: SigningKeyKind;
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

/** Consumer secrets by Secrets Manager id, for the client credentials grant. */
export interface ConsumerSecretProvider {
  /**
   * The secret for `secretId`, from memory while younger than the max age. The value is a
   * credential: callers put it only into the token request's form, never into a log or error.
   * @throws BrokerError `consumer_secret_unavailable`
   */
  getConsumerSecret(secretId: string): Promise<string>;
}

/** The result of POSTing to a token endpoint, retries included: the last answer and its meaning. */
export interface TokenEndpointResult {
  readonly answer: TokenEndpointAnswer;
  /** The answer classified, once: the retry decision and the caller's both use it. */
  readonly classification: Classification;
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
  readonly salesforce?: SalesforceErrorDetail | undefined;
  readonly requestId: string;
  readonly latencyMs: number;
}

/** What {@link ExchangeOutcomeStore.recordExchangeOutcome} did. */
export interface OutcomeWrite {
  /** False when the stored outcome was the same and younger than `refreshAfterMs` (or the org is gone). */
  readonly written: boolean;
  /** The outcome it replaced, when it wrote; `undefined` for an org's first. */
  readonly previous?: ExchangeOutcome | undefined;
}

/** Keeps the last exchange outcome per org (the registry adapter stores it on the org item). */
export interface ExchangeOutcomeStore {
  /**
   * Stores `outcome` when it differs from the stored one (success or failure, and the category),
   * or when the stored one is older than `options.refreshAfterMs`: a steady state costs no write.
   */
  recordExchangeOutcome(
    orgId: string,
    outcome: ExchangeOutcome,
    options?: { readonly refreshAfterMs?: number },
  ): Promise<OutcomeWrite>;
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
  /** The staged rotation state on the same item, so a login needs no second read of it. */
  readonly keyRotation?: KeyRotation | undefined;
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

/**
 * Staged rotation state on the org item (the registry adapter keeps it in `keyRotation`, an
 * attribute the token role may write; the registry's own fields it may not).
 */
export interface KeyRotationStore {
  /** @param options.fresh read consistently, past any copy kept of an earlier read */
  getKeyRotation(
    orgId: string,
    options?: { readonly fresh?: boolean },
  ): Promise<KeyRotation | undefined>;
  /**
   * Makes `staged` current, atomically and only while it is still the staged key, so that of
   * many instances promoting at once exactly one wins.
   * @returns whether this call promoted it
   */
  promoteStagedKey(
    orgId: string,
    promotion: { readonly staged: string; readonly previous: string; readonly at: string },
  ): Promise<boolean>;
  /** Stages the next key (`keys rotate`); replaces an earlier staged key. */
  stageKey(orgId: string, secretId: string, at: string): Promise<void>;
  /** Forgets the rotation once `keys rotate --finish` folded it into the registry. */
  clearKeyRotation(orgId: string): Promise<void>;
}

/** Server-side storage of approval attempts. */
export interface OAuthStateStore {
  save(record: OAuthStateRecord): Promise<void>;
  /**
   * Atomically removes the attempt and returns it as it was, or `undefined` when there is none
   * (never created, already consumed, or cleaned up), so that a replayed callback fails.
   */
  consume(stateHash: string): Promise<OAuthStateRecord | undefined>;
}

/** Who approved, and what Salesforce granted: all the callback keeps of the code exchange. */
export interface ApprovalIdentity {
  /** The approving user's Salesforce username. */
  readonly username: string;
  /** The scopes Salesforce granted, from the token response's `scope`. */
  readonly grantedScopes: readonly string[];
  /**
   * Revokes the token the code brought at Salesforce's revoke endpoint (the refresh token when
   * there is one: that removes the user's approval of the app). For a stray approval by someone
   * other than the integration user. The token stays inside the adapter; never throws.
   * @returns whether Salesforce confirmed the revocation
   */
  revokeApproval(): Promise<boolean>;
}

/** Redeems an authorization code at the org's login host and reads who approved. */
export interface AuthorizationCodeClient {
  /**
   * Exchanges the code (PKCE, exact redirect URI) and reads the approver's identity with the
   * token obtained. The code and the token are used once, inside this call, and never returned.
   * @param input.deadline ms since the epoch after which no Salesforce call starts
   * @throws BrokerError `code_exchange_failed`
   */
  redeemCode(input: {
    readonly org: OrgRecord;
    readonly code: string;
    readonly codeVerifier: string;
    readonly redirectUri: string;
    readonly deadline: number;
  }): Promise<ApprovalIdentity>;
}

/** Seals values under the stack's KMS key; the context is authenticated, never stored. */
export interface TokenSealer {
  seal(plaintext: Uint8Array, context: Readonly<Record<string, string>>): Promise<string>;
  /** @throws when the value was sealed with another context, or was tampered with */
  open(sealed: string, context: Readonly<Record<string, string>>): Promise<Uint8Array>;
}

/** The result of a conditional write: whether it was made, and the item after it. */
export interface SharedWrite {
  readonly stored: boolean;
  readonly state: SharedTokenState | undefined;
}

/** Logins to count on a write: how many, and when. */
export interface LoginCount {
  readonly count: number;
  readonly at: number;
}

/**
 * The org's shared token state in the table (see shared-token.ts): one item per org, every change
 * one conditional write.
 */
export interface SharedTokenStore {
  read(
    orgId: string,
    options?: { readonly consistent?: boolean },
  ): Promise<SharedTokenState | undefined>;
  /**
   * Takes the lease if it is free, expired or already the owner's; with `force`, whoever holds it.
   * @returns the new fencing version when taken
   */
  acquireLease(
    orgId: string,
    lease: Lease,
    options: { readonly now: number; readonly force?: boolean },
  ): Promise<{ readonly acquired: true; readonly version: number } | { readonly acquired: false }>;
  /** Stores the token if `token.version` is still the latest lease's; clears any failure. */
  publishToken(orgId: string, token: SharedToken, logins: LoginCount): Promise<SharedWrite>;
  /** Stores the failure if `failure.version` is still the latest lease's. */
  rememberFailure(
    orgId: string,
    failure: RememberedFailure,
    logins: LoginCount,
  ): Promise<SharedWrite>;
  /** Counts logins that no other write carried (a fenced-out exchange, a CLI check). */
  countLogins(orgId: string, logins: LoginCount): Promise<SharedTokenState | undefined>;
  /** Gives the lease up, if `owner` still holds it. */
  releaseLease(orgId: string, owner: string): Promise<void>;
  /** Drops the shared token if it is still the one of `version`. @returns whether it was dropped */
  dropToken(orgId: string, version: number): Promise<boolean>;
  /** Forgets the remembered failure (a fix was verified). */
  clearFailure(orgId: string): Promise<void>;
}

/**
 * MACs over approval links, with a key the broker never holds (a KMS HMAC key in AWS), so a link
 * cannot be made up for an org nor have its expiry moved.
 */
export interface ApprovalLinkSigner {
  /**
   * @param expiresAt seconds since the epoch
   * @returns the MAC of the org and expiry, base64url without padding
   */
  sign(orgId: string, expiresAt: number): Promise<string>;
  /**
   * @returns whether `link.mac` is this key's MAC of the link's org and expiry; `false` for any
   * MAC that is not, however malformed. Throws only when the signer cannot answer.
   */
  verify(link: SignedApprovalLink): Promise<boolean>;
}
