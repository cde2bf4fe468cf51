/**
 * Shapes shared by the core, the adapters and the handlers. Pure data: no behaviour, no I/O.
 */

/** Milliseconds since the epoch; injected everywhere so tests control time. */
export type Clock = () => number;

/** Where an org's users log in, which decides the JWT `aud` default (docs/contracts.md#org-record). */
export type OrgEnvironment = 'production' | 'sandbox' | 'site';

/**
 * How the broker logs in to an org (docs/contracts.md#org-record): the JWT Bearer flow signed with
 * the org's key, or the client credentials flow with the app's consumer secret, as the run-as user
 * the app names.
 */
export type OrgGrant = 'jwt_bearer' | 'client_credentials';

/** One org registry record (docs/contracts.md#org-record), as stored and after validation. Holds no secret. */
export interface OrgRecord {
  /** Lowercase slug, e.g. `acme-prod`. */
  readonly orgId: string;
  /** Origin the token and authorize endpoints live under, no trailing slash. */
  readonly loginUrl: string;
  readonly environment: OrgEnvironment;
  /** JWT `aud`. */
  readonly audience: string;
  /** Connected App / External Client App consumer key (JWT `iss`, OAuth `client_id`). */
  readonly consumerKey: string;
  /** The integration user's username (JWT `sub`). */
  readonly username: string;
  /**
   * The grant the broker logs in with; validation always sets it, an absent value (a record
   * written before the field existed) means `jwt_bearer` (see `grantOf`). @default 'jwt_bearer'
   */
  readonly grant?: OrgGrant | undefined;
  /**
   * Secrets Manager id of the signing key secret (docs/contracts.md#signing-key-secret); required
   * for `jwt_bearer`, optional for `client_credentials` (which signs nothing).
   */
  readonly signingKeySecretId?: string | undefined;
  /**
   * Secrets Manager id of the consumer secret: required for `client_credentials`; for
   * `jwt_bearer` only when the app requires it for the web-server flow (the approval loop).
   */
  readonly consumerSecretId?: string | undefined;
  /** How long the broker serves a token from cache. @default 1800 */
  readonly tokenTtlSeconds: number;
  /** IAM principals (role ARNs, user ARNs) allowed to get this org's tokens. Default: nobody. */
  readonly callers: readonly string[];
}

/** What Salesforce answered on a failed call, reduced to what is safe to show. */
export interface SalesforceErrorDetail {
  /** HTTP status, or 0 when no response arrived (timeout, connection error). */
  readonly status: number;
  readonly error?: string | undefined;
  readonly error_description?: string | undefined;
}

/** What to do about a failure, in the product's own words (docs/events.md, `remediation`). */
export interface Remediation {
  /** One sentence: what is wrong. */
  readonly summary: string;
  /** Ordered steps an operator follows to fix it. */
  readonly steps: readonly string[];
  /** The broker's own approval endpoint for the org (`/oauth/authorize?org=...`). */
  readonly approvalLink?: string | undefined;
  /** The raw Salesforce authorize URL in the support article's format. */
  readonly salesforceAuthorizeUrl?: string | undefined;
  /** Anchor in docs/runbook.md. */
  readonly runbook?: string | undefined;
}

/** The token API's success body (docs/contracts.md#token-api): Salesforce's fields plus `expires_at` and `org_id`. */
export interface TokenGrant {
  readonly access_token: string;
  readonly instance_url: string;
  readonly id: string;
  readonly token_type: string;
  readonly scope?: string | undefined;
  readonly issued_at?: string | undefined;
  /** RFC 3339 UTC: when the broker stops serving this token from cache. */
  readonly expires_at: string;
  readonly org_id: string;
}

export const EVENT_TYPES = [
  'token_broker.incident.opened',
  'token_broker.incident.reminder',
  'token_broker.incident.resolved',
  'token_broker.approval.completed',
  'token_broker.approval.failed',
  'token_broker.key.rotated',
  'token_broker.certificate.expiring',
] as const;

export type EventType = (typeof EVENT_TYPES)[number];

/**
 * A CloudEvents 1.0 JSON envelope (docs/events.md). `data` is defined per type by the events module;
 * it never holds an access token, assertion, authorization code, private key or client secret.
 */
export interface BrokerEvent<TData extends object = Record<string, unknown>> {
  readonly specversion: '1.0';
  readonly id: string;
  readonly source: string;
  readonly type: EventType;
  /** `orgs/{orgId}` */
  readonly subject: string;
  /** RFC 3339 UTC */
  readonly time: string;
  readonly datacontenttype: 'application/json';
  readonly data: TData;
}
