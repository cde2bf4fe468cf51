/**
 * The emulator's world: orgs, apps, users, approvals, issued tokens and codes, login history,
 * faults and the clock. Plain data; behaviour lives in the endpoint modules.
 */

export type Environment = 'production' | 'sandbox';
/** Connected App "Permitted Users" policy (Salesforce Help, Manage OAuth Access Policies). */
export type PermittedUsers = 'self_authorize' | 'admin_approved';
export type AppKind = 'connected_app' | 'external_client_app';
/** `relax` = "Relax IP restrictions"; `enforce` = "Enforce IP restrictions" (same page). */
export type IpRelaxation = 'enforce' | 'relax';
export type GrantKind = 'jwt-bearer' | 'authorization_code' | 'authorize' | 'client_credentials';

export interface Org {
  readonly id: string;
  name: string;
  environment: Environment;
  /** e.g. `acme.my.salesforce.com` or `acme--uat.sandbox.my.salesforce.com`. */
  myDomainHost: string | undefined;
  /** Where `instance_url` points: the My Domain when there is one, else a pod host. */
  instanceHost: string;
  /** Experience Cloud site hosts, e.g. `acme.my.site.com`. */
  siteHosts: string[];
  /** false = locked, closed or suspended (`inactive_org`). */
  active: boolean;
}

export interface App {
  readonly orgId: string;
  readonly consumerKey: string;
  name: string;
  consumerSecret: string;
  /** "Require Secret for Web Server Flow". */
  requireSecret: boolean;
  /**
   * The X.509 certificate (PEM) uploaded under "Use digital signatures" (Connected App) or with
   * "Enable JWT Bearer Flow" (External Client App): at most one, as Salesforce keeps one per app.
   */
  certificates: string[];
  callbackUrls: string[];
  permittedUsers: PermittedUsers;
  kind: AppKind;
  installed: boolean;
  blocked: boolean;
  ipRelaxation: IpRelaxation;
  /** The OAuth scopes selected on the app. */
  scopes: string[];
  /** Profiles and permission sets assigned to the app (pre-authorization). */
  profiles: string[];
  permissionSets: string[];
  /** "Require Proof Key for Code Exchange (PKCE)". */
  requirePkce: boolean;
  /** "Enable Client Credentials Flow" (settings and policies both, for an External Client App). */
  clientCredentialsEnabled: boolean;
  /** The client credentials flow's Run As user (username); must exist in the app's org. */
  clientCredentialsUser: string | undefined;
}

export interface IpRange {
  readonly start: string;
  readonly end: string;
}

export interface User {
  readonly id: string;
  readonly orgId: string;
  readonly username: string;
  name: string;
  email: string;
  active: boolean;
  profile: string;
  permissionSets: string[];
  /** The profile's Login IP Ranges; empty = no restriction. */
  loginIpRanges: IpRange[];
}

export interface Approval {
  readonly userId: string;
  readonly consumerKey: string;
  readonly scopes: string[];
  /** ISO time on the emulator clock. */
  readonly approvedAt: string;
}

export interface LoginRecord {
  readonly at: string;
  readonly time: number;
  readonly orgId: string;
  readonly userId: string;
  readonly username: string;
  readonly consumerKey: string;
  readonly host: string;
  readonly grant: GrantKind;
  /** Login History status, e.g. `Success`, `Failed: Not approved for access`. */
  readonly status: string;
  readonly error?: string;
  readonly errorDescription?: string;
  /** JWT logins: SHA-256 of the certificate the assertion was verified with. */
  readonly certificateSha256?: string;
}

export interface AccessTokenRecord {
  readonly orgId: string;
  readonly userId: string;
  readonly consumerKey: string;
  readonly scopes: string[];
  readonly issuedAt: number;
  readonly refreshToken: string | undefined;
  revoked: boolean;
}

export interface CodeRecord {
  readonly consumerKey: string;
  readonly userId: string;
  readonly redirectUri: string;
  readonly scopes: string[];
  readonly codeChallenge: string | undefined;
  readonly issuedAt: number;
  used: boolean;
}

export type FaultKind = 'unknown_error' | 'maintenance' | 'latency';

export interface Fault {
  readonly host: string;
  readonly kind: FaultKind;
  /** Only requests whose in-host path starts with this; all paths when absent. */
  readonly path: string | undefined;
  /** HTTP status of the faulty response (not used for latency). */
  readonly status: number;
  readonly latencyMs: number;
  /** How many more matching requests get this fault; undefined = until cleared. */
  remaining: number | undefined;
}

export interface Settings {
  /** Logins per user per rolling hour before `rate_limit_exceeded`. @default 3600 */
  loginsPerHour: number;
  /** Authorization-code lifetime. @default 900 */
  codeLifetimeSeconds: number;
}

export const DEFAULT_SETTINGS: Settings = { loginsPerHour: 3600, codeLifetimeSeconds: 900 };

export const DEFAULT_APP_SCOPES = ['api', 'refresh_token', 'offline_access', 'web', 'openid', 'id'];

/** An authorize request between the login page and the redirect. */
export interface PendingAuthorization {
  readonly host: string;
  readonly consumerKey: string;
  readonly redirectUri: string;
  readonly state: string | undefined;
  readonly scopes: string[];
  readonly codeChallenge: string | undefined;
  readonly loginHint: string | undefined;
  readonly forceConsent: boolean;
  userId: string | undefined;
}
