/**
 * Typed client of the emulator's control API (`/__control/`), for test suites and seeders.
 * Talks HTTP only, so it works against an emulator in another process too.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import type {
  App,
  AppKind,
  Environment,
  FaultKind,
  GrantKind,
  IpRange,
  IpRelaxation,
  Org,
  PermittedUsers,
  Settings,
  User,
} from './model';

export interface OrgView extends Org {
  readonly instanceUrl: string;
  /** The `aud` values this org accepts. */
  readonly audiences: string[];
  /** `loginUrl`s that know this org's apps. */
  readonly loginUrls: { shared: string; myDomain?: string; sites: string[] };
}

export interface CreateOrg {
  /** @default 'production' */
  environment?: Environment;
  name?: string;
  /** `name.my.salesforce.com`, or `name--sbx.sandbox.my.salesforce.com` for a sandbox. */
  myDomainHost?: string;
  siteHosts?: string[];
  /** @default true */
  active?: boolean;
}

export interface AppSettings {
  name?: string;
  consumerSecret?: string;
  /** "Require Secret for Web Server Flow". @default false */
  requireSecret?: boolean;
  /** X.509 certificate PEMs. @default [] */
  certificates?: string[];
  callbackUrls?: string[];
  /** @default 'self_authorize' */
  permittedUsers?: PermittedUsers;
  /** @default 'connected_app' */
  kind?: AppKind;
  /** @default true */
  installed?: boolean;
  /** @default false */
  blocked?: boolean;
  /** @default 'enforce' */
  ipRelaxation?: IpRelaxation;
  /** @default ['api','refresh_token','offline_access','web','openid','id'] */
  scopes?: string[];
  profiles?: string[];
  permissionSets?: string[];
  /** @default false */
  requirePkce?: boolean;
  /** "Enable Client Credentials Flow". @default false */
  clientCredentialsEnabled?: boolean;
  /** The client credentials flow's Run As username. */
  clientCredentialsUser?: string;
}

export interface CreateApp extends AppSettings {
  /** Generated (`3MVG9...`) when absent. */
  consumerKey?: string;
}

export interface UserSettings {
  name?: string;
  email?: string;
  /** @default true */
  active?: boolean;
  /** @default 'Standard User' */
  profile?: string;
  permissionSets?: string[];
  /** Login IP Ranges of the user's profile. @default [] (unrestricted) */
  loginIpRanges?: IpRange[];
}

export interface CreateUser extends UserSettings {
  username: string;
}

export interface ApprovalView {
  readonly userId: string;
  readonly username: string | undefined;
  readonly consumerKey: string;
  readonly scopes: string[];
  readonly approvedAt: string;
}

export interface LoginView {
  readonly at: string;
  readonly orgId: string;
  readonly userId: string;
  readonly username: string;
  readonly consumerKey: string;
  readonly host: string;
  readonly grant: GrantKind;
  readonly status: string;
  readonly error?: string;
  readonly errorDescription?: string;
  /** JWT logins: SHA-256 of the certificate the assertion was verified with. */
  readonly certificateSha256?: string;
}

export interface LoginQuery {
  username?: string;
  consumerKey?: string;
  grant?: GrantKind;
  status?: string;
  orgId?: string;
}

export interface FaultSpec {
  /** Emulated hostname, e.g. `login.salesforce.com`. */
  host: string;
  /** @default 'unknown_error' */
  kind?: FaultKind;
  /** Only paths starting with this, e.g. `/services/oauth2/token`. @default all paths */
  path?: string;
  /** @default 500 for unknown_error, 503 for maintenance */
  status?: number;
  /** Delay before answering (the only effect of kind `latency`). @default 0 */
  latencyMs?: number;
  /** Only the next N matching requests. @default until cleared */
  count?: number;
}

export class EmulatorControlError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export class EmulatorClient {
  /** @param origin the emulator's URL, e.g. `http://127.0.0.1:4010` */
  constructor(readonly origin: string) {}

  /** `{origin}/hosts/{hostname}`: the `loginUrl` for an emulated Salesforce host. */
  hostUrl(hostname: string): string {
    return `${this.origin}/hosts/${hostname}`;
  }

  private async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const response = await fetch(`${this.origin}/__control${path}`, {
      method,
      ...(body === undefined
        ? {}
        : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
    });
    const payload = (await response.json()) as unknown;
    if (!response.ok) {
      const message = (payload as { error?: string }).error ?? `HTTP ${response.status}`;
      throw new EmulatorControlError(response.status, `${method} ${path}: ${message}`);
    }
    return payload as T;
  }

  /** Empties the world: orgs, apps, users, approvals, tokens, history, faults, clock, settings. */
  reset(): Promise<{ ok: true }> {
    return this.call('POST', '/reset');
  }

  createOrg(spec: CreateOrg = {}): Promise<OrgView> {
    return this.call('POST', '/orgs', spec);
  }

  updateOrg(orgId: string, changes: { name?: string; active?: boolean; siteHosts?: string[] }) {
    return this.call<OrgView>('PATCH', `/orgs/${encodeURIComponent(orgId)}`, changes);
  }

  createApp(orgId: string, spec: CreateApp = {}): Promise<App> {
    return this.call('POST', `/orgs/${encodeURIComponent(orgId)}/apps`, spec);
  }

  /**
   * Deploys an External Client App from its source-format metadata files (relative path to
   * content), as `sf project deploy start` would: the app gets a generated consumer key and secret.
   */
  deployAppMetadata(orgId: string, files: Record<string, string>): Promise<App> {
    return this.call('POST', `/orgs/${encodeURIComponent(orgId)}/app-metadata`, { files });
  }

  /** {@link deployAppMetadata} with every `*-meta.xml` file under a project directory. */
  async deployAppProject(orgId: string, directory: string): Promise<App> {
    const entries = await readdir(directory, { recursive: true, withFileTypes: true });
    const files: Record<string, string> = {};
    for (const entry of entries) {
      if (!entry.isFile() || !entry.name.endsWith('-meta.xml')) continue;
      const path = join(entry.parentPath, entry.name);
      files[relative(directory, path)] = await readFile(path, 'utf8');
    }
    return this.deployAppMetadata(orgId, files);
  }

  /**
   * Simulates a sandbox refresh: the org's External Client Apps are no longer installed and it
   * answers on a new My Domain (`myDomainHost`, or one derived from the old).
   */
  refreshSandbox(orgId: string, changes: { myDomainHost?: string } = {}): Promise<OrgView> {
    return this.call('POST', `/orgs/${encodeURIComponent(orgId)}/refresh`, changes);
  }

  updateApp(consumerKey: string, changes: AppSettings): Promise<App> {
    return this.call('PATCH', `/apps/${encodeURIComponent(consumerKey)}`, changes);
  }

  createUser(orgId: string, spec: CreateUser): Promise<User> {
    return this.call('POST', `/orgs/${encodeURIComponent(orgId)}/users`, spec);
  }

  updateUser(username: string, changes: UserSettings): Promise<User> {
    return this.call('PATCH', `/users/${encodeURIComponent(username)}`, changes);
  }

  /** Records an approval as if `username` had clicked Allow for these scopes. */
  approve(username: string, consumerKey: string, scopes?: string[]): Promise<ApprovalView> {
    return this.call('POST', '/approvals', { username, consumerKey, scopes });
  }

  approvals(query: { username?: string; consumerKey?: string } = {}): Promise<ApprovalView[]> {
    return this.call('GET', `/approvals?${new URLSearchParams(query)}`);
  }

  /** Revokes the matching approvals; resolves to how many were removed. */
  async revokeApprovals(query: { username?: string; consumerKey?: string }): Promise<number> {
    const result = await this.call<{ removed: number }>(
      'DELETE',
      `/approvals?${new URLSearchParams(query)}`,
    );
    return result.removed;
  }

  loginHistory(query: LoginQuery = {}): Promise<LoginView[]> {
    return this.call('GET', `/login-history?${new URLSearchParams({ ...query })}`);
  }

  /** How many successful token exchanges (JWT or code) a user has made. */
  async countTokenExchanges(username: string): Promise<number> {
    const logins = await this.loginHistory({ username, status: 'Success' });
    return logins.filter((login) => login.grant !== 'authorize').length;
  }

  addFault(spec: FaultSpec): Promise<FaultSpec> {
    return this.call('POST', '/faults', spec);
  }

  clearFaults(): Promise<{ ok: true }> {
    return this.call('DELETE', '/faults');
  }

  /** Sets the emulator clock to real time plus `offsetMs`. */
  setClockOffset(offsetMs: number): Promise<{ offsetMs: number; now: string }> {
    return this.call('PUT', '/clock', { offsetMs });
  }

  advanceClock(seconds: number): Promise<{ offsetMs: number; now: string }> {
    return this.call('POST', '/clock/advance', { seconds });
  }

  updateSettings(changes: Partial<Settings>): Promise<Settings> {
    return this.call('PUT', '/settings', changes);
  }

  state(): Promise<Record<string, unknown>> {
    return this.call('GET', '/state');
  }
}
