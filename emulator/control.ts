/**
 * The control API under `/__control/`: JSON in, JSON out, for tests and the demo seeder to
 * shape the emulated world. Documented in docs/emulator.md; typed client in ./client.ts.
 */
import { checkCertificate } from './assertion';
import {
  ControlError,
  checkHostname,
  type Input,
  optionalBoolean,
  optionalChoice,
  optionalInteger,
  optionalString,
  optionalStrings,
  parseInput,
  requiredString,
} from './control-input';
import { readEcaMetadata } from './eca-metadata';
import { json, type Reply } from './http';
import { newConsumerKey, newConsumerSecret, newRecordId } from './ids';
import { isValidIpv4 } from './ip';
import {
  type App,
  DEFAULT_APP_SCOPES,
  type Environment,
  type FaultKind,
  type IpRange,
  type Org,
  type User,
} from './model';
import { hostUrl, instanceUrl } from './sessions';
import { acceptedAudiences, type EmulatorState, SHARED_LOGIN_HOSTS } from './state';

export interface ControlRequest {
  readonly method: string;
  /** Path after `/__control`, e.g. `/orgs`. */
  readonly path: string;
  readonly query: URLSearchParams;
  readonly body: string;
  readonly origin: string;
}

const ENVIRONMENTS = ['production', 'sandbox'] as const;
const POLICIES = ['self_authorize', 'admin_approved'] as const;
const KINDS = ['connected_app', 'external_client_app'] as const;
const RELAXATIONS = ['enforce', 'relax'] as const;
const FAULT_KINDS: readonly FaultKind[] = ['unknown_error', 'maintenance', 'latency'];

export function handleControlRequest(state: EmulatorState, request: ControlRequest): Reply {
  try {
    return route(state, request);
  } catch (error) {
    if (error instanceof ControlError) return json(error.status, { error: error.message });
    throw error;
  }
}

function route(state: EmulatorState, request: ControlRequest): Reply {
  const { method, path, origin } = request;
  const input = method === 'GET' || method === 'DELETE' ? {} : parseInput(request.body);
  const segments = path.split('/').filter(Boolean).map(decodeURIComponent);
  const [first, second, third] = segments;
  const key = `${method} /${first ?? ''}${second === undefined ? '' : '/:id'}${third === undefined ? '' : `/${third}`}`;
  switch (key) {
    case 'POST /reset':
      state.reset();
      return json(200, { ok: true });
    case 'GET /state':
      return json(200, describeState(state, origin));
    case 'POST /orgs':
      return json(201, describeOrg(createOrg(state, input), origin));
    case 'PATCH /orgs/:id':
      return json(200, describeOrg(updateOrg(state, orgById(state, second), input), origin));
    case 'POST /orgs/:id/apps':
      return json(201, createApp(state, orgById(state, second), input));
    case 'POST /orgs/:id/app-metadata':
      return json(201, createApp(state, orgById(state, second), readEcaMetadata(readFiles(input))));
    case 'POST /orgs/:id/refresh':
      return json(200, describeOrg(refreshSandbox(state, orgById(state, second), input), origin));
    case 'PATCH /apps/:id':
      return json(200, updateApp(appByKey(state, second), input));
    case 'POST /orgs/:id/users':
      return json(201, createUser(state, orgById(state, second), input));
    case 'PATCH /users/:id':
      return json(200, updateUser(userByName(state, second), input));
    case 'POST /approvals':
      return json(201, createApproval(state, input));
    case 'GET /approvals':
      return json(200, listApprovals(state, request.query));
    case 'DELETE /approvals':
      return json(200, { removed: removeApprovals(state, request.query) });
    case 'GET /login-history':
      return json(200, listLogins(state, request.query));
    case 'POST /faults':
      return json(201, addFault(state, input));
    case 'DELETE /faults':
      state.faults = [];
      return json(200, { ok: true });
    case 'GET /clock':
      return json(200, describeClock(state));
    case 'PUT /clock':
      state.clockOffsetMs = optionalInteger(input, 'offsetMs', LIMITS.offset) ?? 0;
      return json(200, describeClock(state));
    case 'POST /clock/:id':
      if (second !== 'advance') break;
      state.clockOffsetMs += (optionalInteger(input, 'seconds', LIMITS.offset) ?? 0) * 1000;
      return json(200, describeClock(state));
    case 'PUT /settings':
      return json(200, updateSettings(state, input));
    case 'GET /settings':
      return json(200, state.settings);
  }
  throw new ControlError(404, `no control route ${method} ${path}`);
}

const LIMITS = {
  offset: { min: -1e12, max: 1e12 },
  count: { min: 1, max: 1_000_000 },
  status: { min: 200, max: 599 },
  latency: { min: 0, max: 120_000 },
  logins: { min: 1, max: 1_000_000 },
  codeLifetime: { min: 1, max: 86_400 },
};

function orgById(state: EmulatorState, id: string | undefined): Org {
  const org = id === undefined ? undefined : state.orgs.get(id);
  if (!org) throw new ControlError(404, `unknown org ${id}`);
  return org;
}

function appByKey(state: EmulatorState, consumerKey: string | undefined): App {
  const app = consumerKey === undefined ? undefined : state.apps.get(consumerKey);
  if (!app) throw new ControlError(404, 'unknown app');
  return app;
}

function userByName(state: EmulatorState, username: string | undefined): User {
  const user = username === undefined ? undefined : state.findUser(username);
  if (!user) throw new ControlError(404, `unknown user ${username}`);
  return user;
}

function checkNewHost(state: EmulatorState, key: string, host: string): string {
  checkHostname(key, host);
  if (SHARED_LOGIN_HOSTS.has(host) || state.hostsInUse().has(host))
    throw new ControlError(409, `${key} ${host} is already in use`);
  return host;
}

function checkMyDomain(environment: Environment, host: string): void {
  const sandbox = host.endsWith('.sandbox.my.salesforce.com');
  if (environment === 'sandbox' ? !sandbox : sandbox || !host.endsWith('.my.salesforce.com'))
    throw new ControlError(
      400,
      environment === 'sandbox'
        ? 'a sandbox My Domain looks like name--sandbox.sandbox.my.salesforce.com'
        : 'a production My Domain looks like name.my.salesforce.com',
    );
}

function createOrg(state: EmulatorState, input: Input): Org {
  const environment = optionalChoice(input, 'environment', ENVIRONMENTS) ?? 'production';
  const myDomainHost = optionalString(input, 'myDomainHost');
  if (myDomainHost) {
    checkNewHost(state, 'myDomainHost', myDomainHost);
    checkMyDomain(environment, myDomainHost);
  }
  const siteHosts = optionalStrings(input, 'siteHosts') ?? [];
  for (const host of siteHosts) checkNewHost(state, 'siteHosts', host);
  const org: Org = {
    id: newRecordId('00D'),
    name: optionalString(input, 'name') ?? `Org ${state.orgs.size + 1}`,
    environment,
    myDomainHost,
    instanceHost: myDomainHost ?? state.nextPodHost(environment),
    siteHosts,
    active: optionalBoolean(input, 'active') ?? true,
  };
  state.orgs.set(org.id, org);
  return org;
}

function updateOrg(state: EmulatorState, org: Org, input: Input): Org {
  org.active = optionalBoolean(input, 'active') ?? org.active;
  org.name = optionalString(input, 'name') ?? org.name;
  const siteHosts = optionalStrings(input, 'siteHosts');
  if (siteHosts) {
    for (const host of siteHosts)
      if (!org.siteHosts.includes(host)) checkNewHost(state, 'siteHosts', host);
    org.siteHosts = siteHosts;
  }
  return org;
}

export function describeOrg(org: Org, origin: string) {
  const sharedLogin =
    org.environment === 'sandbox' ? 'test.salesforce.com' : 'login.salesforce.com';
  return {
    ...org,
    instanceUrl: instanceUrl(origin, org),
    audiences: acceptedAudiences(org),
    loginUrls: {
      shared: hostUrl(origin, sharedLogin),
      ...(org.myDomainHost ? { myDomain: hostUrl(origin, org.myDomainHost) } : {}),
      sites: org.siteHosts.map((host) => hostUrl(origin, host)),
    },
  };
}

/** Like Salesforce's "Use digital signatures": one certificate per app; an upload replaces it. */
function readCertificates(input: Input): string[] | undefined {
  const certificates = optionalStrings(input, 'certificates');
  if (certificates && certificates.length > 1) {
    throw new ControlError(
      400,
      'certificates: an app holds one certificate, as in Salesforce; upload the new one to replace it',
    );
  }
  for (const pem of certificates ?? []) {
    try {
      checkCertificate(pem);
    } catch (error) {
      throw new ControlError(400, `certificates: ${(error as Error).message}`);
    }
  }
  return certificates;
}

function readCallbackUrls(input: Input): string[] | undefined {
  const urls = optionalStrings(input, 'callbackUrls');
  for (const url of urls ?? [])
    if (!URL.canParse(url)) throw new ControlError(400, `callbackUrls: not a URL: ${url}`);
  return urls;
}

function createApp(state: EmulatorState, org: Org, input: Input): App {
  const consumerKey = optionalString(input, 'consumerKey') ?? newConsumerKey();
  if (state.apps.has(consumerKey)) throw new ControlError(409, 'consumerKey is already in use');
  const app: App = {
    orgId: org.id,
    consumerKey,
    name: optionalString(input, 'name') ?? `App ${state.apps.size + 1}`,
    consumerSecret: optionalString(input, 'consumerSecret') ?? newConsumerSecret(),
    requireSecret: false,
    certificates: [],
    callbackUrls: [],
    permittedUsers: 'self_authorize',
    kind: 'connected_app',
    installed: true,
    blocked: false,
    ipRelaxation: 'enforce',
    scopes: [...DEFAULT_APP_SCOPES],
    profiles: [],
    permissionSets: [],
    requirePkce: false,
    clientCredentialsEnabled: false,
    clientCredentialsUser: undefined,
  };
  state.apps.set(consumerKey, updateApp(app, input));
  return app;
}

function updateApp(app: App, input: Input): App {
  app.name = optionalString(input, 'name') ?? app.name;
  app.consumerSecret = optionalString(input, 'consumerSecret') ?? app.consumerSecret;
  app.requireSecret = optionalBoolean(input, 'requireSecret') ?? app.requireSecret;
  app.certificates = readCertificates(input) ?? app.certificates;
  app.callbackUrls = readCallbackUrls(input) ?? app.callbackUrls;
  app.permittedUsers = optionalChoice(input, 'permittedUsers', POLICIES) ?? app.permittedUsers;
  app.kind = optionalChoice(input, 'kind', KINDS) ?? app.kind;
  app.installed = optionalBoolean(input, 'installed') ?? app.installed;
  app.blocked = optionalBoolean(input, 'blocked') ?? app.blocked;
  app.ipRelaxation = optionalChoice(input, 'ipRelaxation', RELAXATIONS) ?? app.ipRelaxation;
  app.scopes = optionalStrings(input, 'scopes') ?? app.scopes;
  app.profiles = optionalStrings(input, 'profiles') ?? app.profiles;
  app.permissionSets = optionalStrings(input, 'permissionSets') ?? app.permissionSets;
  app.requirePkce = optionalBoolean(input, 'requirePkce') ?? app.requirePkce;
  app.clientCredentialsEnabled =
    optionalBoolean(input, 'clientCredentialsEnabled') ?? app.clientCredentialsEnabled;
  app.clientCredentialsUser =
    optionalString(input, 'clientCredentialsUser') ?? app.clientCredentialsUser;
  return app;
}

function readFiles(input: Input): Record<string, string> {
  const files = input.files;
  const valid =
    files !== null &&
    typeof files === 'object' &&
    !Array.isArray(files) &&
    Object.values(files).every((content) => typeof content === 'string');
  if (!valid) throw new ControlError(400, 'files must be {"relative/path": "file content"}');
  return files as Record<string, string>;
}

/**
 * A sandbox refresh: the sandbox becomes a copy of production, so External Client Apps created
 * in it are no longer installed, and it answers on a new My Domain (the old one stops resolving).
 */
function refreshSandbox(state: EmulatorState, org: Org, input: Input): Org {
  if (org.environment !== 'sandbox') throw new ControlError(400, 'only a sandbox can be refreshed');
  const previous = org.myDomainHost;
  let next = optionalString(input, 'myDomainHost');
  if (next) checkNewHost(state, 'myDomainHost', next);
  else if (previous) {
    const [name, rest] = previous.split(/\.(.*)/, 2);
    for (let n = 2; !next || state.hostsInUse().has(next); n += 1) next = `${name}${n}.${rest}`;
  }
  if (next) {
    checkMyDomain(org.environment, next);
    if (org.instanceHost === previous) org.instanceHost = next;
    org.myDomainHost = next;
  }
  for (const app of state.apps.values())
    if (app.orgId === org.id && app.kind === 'external_client_app') app.installed = false;
  return org;
}

function readIpRanges(input: Input): IpRange[] | undefined {
  const value = input.loginIpRanges;
  if (value === undefined) return undefined;
  const valid =
    Array.isArray(value) &&
    value.every(
      (range: unknown) =>
        range !== null &&
        typeof range === 'object' &&
        isValidIpv4(String((range as Input).start)) &&
        isValidIpv4(String((range as Input).end)),
    );
  if (!valid) throw new ControlError(400, 'loginIpRanges must be [{"start":IPv4,"end":IPv4}]');
  return (value as Input[]).map((range) => ({
    start: String(range.start),
    end: String(range.end),
  }));
}

function createUser(state: EmulatorState, org: Org, input: Input): User {
  const username = requiredString(input, 'username');
  if (state.findUser(username)) throw new ControlError(409, `username ${username} is taken`);
  const user: User = {
    id: newRecordId('005'),
    orgId: org.id,
    username,
    name: username.split('@')[0] ?? username,
    email: username,
    active: true,
    profile: 'Standard User',
    permissionSets: [],
    loginIpRanges: [],
  };
  state.users.set(user.id, updateUser(user, input));
  return user;
}

function updateUser(user: User, input: Input): User {
  user.name = optionalString(input, 'name') ?? user.name;
  user.email = optionalString(input, 'email') ?? user.email;
  user.active = optionalBoolean(input, 'active') ?? user.active;
  user.profile = optionalString(input, 'profile') ?? user.profile;
  user.permissionSets = optionalStrings(input, 'permissionSets') ?? user.permissionSets;
  user.loginIpRanges = readIpRanges(input) ?? user.loginIpRanges;
  return user;
}

function describeApproval(state: EmulatorState, approval: { userId: string }) {
  return { ...approval, username: state.users.get(approval.userId)?.username };
}

function createApproval(state: EmulatorState, input: Input) {
  const user = userByName(state, requiredString(input, 'username'));
  const app = appByKey(state, requiredString(input, 'consumerKey'));
  if (app.orgId !== user.orgId) throw new ControlError(400, 'user and app are in different orgs');
  const scopes = optionalStrings(input, 'scopes') ?? app.scopes;
  return describeApproval(state, state.recordApproval(user.id, app.consumerKey, scopes));
}

function matchesApprovalQuery(state: EmulatorState, query: URLSearchParams) {
  const username = query.get('username');
  const consumerKey = query.get('consumerKey');
  return (approval: { userId: string; consumerKey: string }) =>
    (username === null || state.users.get(approval.userId)?.username === username) &&
    (consumerKey === null || approval.consumerKey === consumerKey);
}

function listApprovals(state: EmulatorState, query: URLSearchParams) {
  return state.approvals
    .filter(matchesApprovalQuery(state, query))
    .map((approval) => describeApproval(state, approval));
}

function removeApprovals(state: EmulatorState, query: URLSearchParams): number {
  const matches = matchesApprovalQuery(state, query);
  const before = state.approvals.length;
  state.approvals = state.approvals.filter((approval) => !matches(approval));
  return before - state.approvals.length;
}

function listLogins(state: EmulatorState, query: URLSearchParams) {
  const filters = ['username', 'consumerKey', 'grant', 'status', 'orgId'] as const;
  return state.loginHistory
    .filter((entry) =>
      filters.every((name) => query.get(name) === null || entry[name] === query.get(name)),
    )
    .map(({ time: _time, ...entry }) => entry);
}

function addFault(state: EmulatorState, input: Input) {
  const host = checkHostname('host', requiredString(input, 'host'));
  const kind = optionalChoice(input, 'kind', FAULT_KINDS) ?? 'unknown_error';
  const path = optionalString(input, 'path');
  if (path !== undefined && !path.startsWith('/'))
    throw new ControlError(400, 'path must start with /');
  const fault = {
    host,
    kind,
    path,
    status: optionalInteger(input, 'status', LIMITS.status) ?? (kind === 'maintenance' ? 503 : 500),
    latencyMs: optionalInteger(input, 'latencyMs', LIMITS.latency) ?? 0,
    remaining: optionalInteger(input, 'count', LIMITS.count),
  };
  state.faults.push(fault);
  return fault;
}

function describeClock(state: EmulatorState) {
  return { offsetMs: state.clockOffsetMs, now: new Date(state.now()).toISOString() };
}

function updateSettings(state: EmulatorState, input: Input) {
  state.settings = {
    loginsPerHour:
      optionalInteger(input, 'loginsPerHour', LIMITS.logins) ?? state.settings.loginsPerHour,
    codeLifetimeSeconds:
      optionalInteger(input, 'codeLifetimeSeconds', LIMITS.codeLifetime) ??
      state.settings.codeLifetimeSeconds,
  };
  return state.settings;
}

function describeState(state: EmulatorState, origin: string) {
  return {
    orgs: [...state.orgs.values()].map((org) => describeOrg(org, origin)),
    apps: [...state.apps.values()],
    users: [...state.users.values()],
    approvals: state.approvals.map((approval) => describeApproval(state, approval)),
    faults: state.faults,
    settings: state.settings,
    clock: describeClock(state),
  };
}
