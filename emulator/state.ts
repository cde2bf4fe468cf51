/**
 * In-memory store of the emulated world, with the clock (real time plus a controllable offset)
 * and the lookups every endpoint needs. One instance per running emulator.
 */
import {
  type AccessTokenRecord,
  type App,
  type Approval,
  type CodeRecord,
  DEFAULT_SETTINGS,
  type Fault,
  type LoginRecord,
  type Org,
  type PendingAuthorization,
  type Settings,
  type User,
} from './model';

/** Each user may hold at most five approvals per app; the oldest goes (docs/emulator.md, Authorize: Allow). */
const MAX_APPROVALS_PER_USER_AND_APP = 5;
const HOUR_MS = 3_600_000;

export class EmulatorState {
  readonly orgs = new Map<string, Org>();
  readonly apps = new Map<string, App>();
  readonly users = new Map<string, User>();
  approvals: Approval[] = [];
  loginHistory: LoginRecord[] = [];
  readonly accessTokens = new Map<string, AccessTokenRecord>();
  /**
   * Each refresh token stands for one approval (Salesforce: "five unique approvals per user" are
   * five refresh tokens); revoking it removes that approval.
   */
  readonly refreshTokens = new Map<
    string,
    { consumerKey: string; approval: Approval | undefined; revoked: boolean }
  >();
  readonly codes = new Map<string, CodeRecord>();
  readonly pendingAuthorizations = new Map<string, PendingAuthorization>();
  faults: Fault[] = [];
  settings: Settings = { ...DEFAULT_SETTINGS };
  clockOffsetMs = 0;
  private podCounter = 0;

  now(): number {
    return Date.now() + this.clockOffsetMs;
  }

  reset(): void {
    this.orgs.clear();
    this.apps.clear();
    this.users.clear();
    this.approvals = [];
    this.loginHistory = [];
    this.accessTokens.clear();
    this.refreshTokens.clear();
    this.codes.clear();
    this.pendingAuthorizations.clear();
    this.faults = [];
    this.settings = { ...DEFAULT_SETTINGS };
    this.clockOffsetMs = 0;
  }

  nextPodHost(environment: Org['environment']): string {
    this.podCounter += 1;
    return `${environment === 'sandbox' ? 'cs' : 'na'}${100 + this.podCounter}.salesforce.com`;
  }

  /** Every hostname some org already answers on (My Domain, instance, sites). */
  hostsInUse(): Set<string> {
    const hosts = new Set<string>();
    for (const org of this.orgs.values()) for (const host of orgHosts(org)) hosts.add(host);
    return hosts;
  }

  /** The org that owns `host`, when it is an org-specific host (not login/test). */
  orgOwningHost(host: string): Org | undefined {
    for (const org of this.orgs.values()) if (orgHosts(org).includes(host)) return org;
    return undefined;
  }

  /** Whether `host` is an emulated Salesforce host at all. */
  isKnownHost(host: string): boolean {
    return SHARED_LOGIN_HOSTS.has(host) || this.orgOwningHost(host) !== undefined;
  }

  /**
   * The app with `consumerKey` if it is known on `host`: production apps on login.salesforce.com,
   * sandbox apps on test.salesforce.com, and any app on its own org's hosts (docs/emulator.md#host-model).
   */
  appOnHost(host: string, consumerKey: string): App | undefined {
    const app = this.apps.get(consumerKey);
    if (!app) return undefined;
    const org = this.orgs.get(app.orgId);
    if (!org) return undefined;
    const shared = SHARED_LOGIN_HOSTS.get(host);
    if (shared) return shared === org.environment ? app : undefined;
    return orgHosts(org).includes(host) ? app : undefined;
  }

  userByUsername(orgId: string, username: string): User | undefined {
    for (const user of this.users.values())
      if (user.orgId === orgId && user.username === username) return user;
    return undefined;
  }

  findUser(username: string): User | undefined {
    for (const user of this.users.values()) if (user.username === username) return user;
    return undefined;
  }

  usersOf(orgId: string): User[] {
    return [...this.users.values()].filter((user) => user.orgId === orgId);
  }

  recordApproval(userId: string, consumerKey: string, scopes: string[]): Approval {
    const approval: Approval = {
      userId,
      consumerKey,
      scopes,
      approvedAt: new Date(this.now()).toISOString(),
    };
    this.approvals.push(approval);
    const mine = this.approvals.filter((a) => a.userId === userId && a.consumerKey === consumerKey);
    if (mine.length > MAX_APPROVALS_PER_USER_AND_APP) {
      const oldest = mine[0];
      this.approvals = this.approvals.filter((a) => a !== oldest);
    }
    return approval;
  }

  approvalsOf(userId: string, consumerKey: string): Approval[] {
    return this.approvals.filter((a) => a.userId === userId && a.consumerKey === consumerKey);
  }

  /** Logins in the rolling hour that count against the limit (rate-limited attempts do not). */
  loginsInLastHour(userId: string): number {
    const since = this.now() - HOUR_MS;
    return this.loginHistory.filter(
      (entry) =>
        entry.userId === userId && entry.time > since && entry.status !== 'Login Rate Exceeded',
    ).length;
  }

  /** Takes the first live fault for this host and path, counting it down. */
  takeFault(host: string, path: string): Fault | undefined {
    const fault = this.faults.find(
      (f) =>
        f.host === host &&
        (f.path === undefined || path.startsWith(f.path)) &&
        (f.remaining === undefined || f.remaining > 0),
    );
    if (fault?.remaining !== undefined) fault.remaining -= 1;
    return fault;
  }
}

/** Hosts shared by every org of one environment. */
export const SHARED_LOGIN_HOSTS = new Map<string, Org['environment']>([
  ['login.salesforce.com', 'production'],
  ['test.salesforce.com', 'sandbox'],
]);

/** The org-specific hosts: My Domain, instance (pod) host and sites. */
export function orgHosts(org: Org): string[] {
  const hosts = [org.instanceHost, ...org.siteHosts];
  if (org.myDomainHost && org.myDomainHost !== org.instanceHost) hosts.push(org.myDomainHost);
  return hosts;
}

/** The `aud` values an org accepts: its environment's login URL and its site URLs (docs/emulator.md#host-model). */
export function acceptedAudiences(org: Org): string[] {
  const environmentAudience =
    org.environment === 'sandbox' ? 'https://test.salesforce.com' : 'https://login.salesforce.com';
  return [environmentAudience, ...org.siteHosts.map((host) => `https://${host}`)];
}
