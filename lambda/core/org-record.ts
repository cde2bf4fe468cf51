/**
 * Validation of org registry input (docs/contracts.md#org-record): the CLI, the registry adapter and the local stack
 * all turn untrusted input into an {@link OrgRecord} here, so a bad record is rejected with every
 * problem named before it can produce a confusing Salesforce error later.
 */
import { normalizeCallerArn } from './caller';
import { BrokerError } from './errors';
import type { OrgEnvironment, OrgGrant, OrgRecord } from './types';

/** @default 1800: Salesforce sends no `expires_in`, and 30 minutes is well inside the usual session timeout. */
export const DEFAULT_TOKEN_TTL_SECONDS = 1800;
export const TOKEN_TTL_BOUNDS = { min: 60, max: 86_400 } as const;

export const PRODUCTION_AUDIENCE = 'https://login.salesforce.com';
export const SANDBOX_AUDIENCE = 'https://test.salesforce.com';

const ORG_ID = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const CONSUMER_KEY = /^[\x21-\x7e]{1,256}$/;
const USERNAME = /^[^\s@]{1,80}@[^\s@]{1,80}$/;
const SECRET_ID = /^[\w/+=.@:-]{1,2048}$/;
const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);
const ENVIRONMENTS: readonly OrgEnvironment[] = ['production', 'sandbox', 'site'];
export const ORG_GRANTS: readonly OrgGrant[] = ['jwt_bearer', 'client_credentials'];
/** The shared login hosts, which answer the client credentials grant with "request not supported on this domain". */
const SHARED_LOGIN_HOSTS = new Set(['login.salesforce.com', 'test.salesforce.com']);
/** Every field of a stored {@link OrgRecord}; anything else in registry input is refused. */
export const ORG_RECORD_FIELDS = [
  'orgId',
  'loginUrl',
  'environment',
  'audience',
  'consumerKey',
  'username',
  'grant',
  'signingKeySecretId',
  'consumerSecretId',
  'tokenTtlSeconds',
  'callers',
] as const satisfies readonly (keyof OrgRecord)[];
const KNOWN_FIELDS: ReadonlySet<string> = new Set(ORG_RECORD_FIELDS);

/** The grant an org logs in with: records written before `grant` existed use the JWT Bearer flow. */
export function grantOf(org: Pick<OrgRecord, 'grant'>): OrgGrant {
  return org.grant ?? 'jwt_bearer';
}

/**
 * The org's signing key secret id.
 * @throws BrokerError `signing_key_unavailable` when the record names none (a client credentials org)
 */
export function signingKeySecretIdOf(org: OrgRecord): string {
  if (org.signingKeySecretId !== undefined) return org.signingKeySecretId;
  throw new BrokerError(
    'signing_key_unavailable',
    `Org ${org.orgId} has no signingKeySecretId: its grant ${grantOf(org)} signs no assertion`,
  );
}

/**
 * The Salesforce host a login URL stands for: its hostname, or for an emulator URL
 * (`http://127.0.0.1:PORT/hosts/{host}`) the host it names.
 */
export function salesforceHostOf(loginUrl: string): string {
  const url = new URL(loginUrl);
  if (isLoopbackHost(url.hostname)) {
    const named = /^\/hosts\/([^/]+)/.exec(url.pathname)?.[1];
    if (named) return named.toLowerCase();
  }
  return url.hostname;
}

/** Whether a login URL is one of the shared login hosts rather than the org's own (My Domain, site). */
export function isSharedLoginHost(loginUrl: string): boolean {
  return SHARED_LOGIN_HOSTS.has(salesforceHostOf(loginUrl));
}

/** Whether `orgId` is a registry slug: lowercase letters, digits and inner hyphens, 1-63 characters. */
export function isValidOrgId(orgId: unknown): orgId is string {
  return typeof orgId === 'string' && ORG_ID.test(orgId);
}

export function isLoopbackHost(hostname: string): boolean {
  return LOOPBACK_HOSTS.has(hostname);
}

/**
 * The environment a login host belongs to: `test.salesforce.com` and sandbox My Domains are
 * sandboxes, Experience Cloud hosts (or any login URL with a path) are sites, anything else is
 * production. A loopback URL of the form `http://127.0.0.1:PORT/hosts/{host}` (the emulator)
 * is judged by the host it names.
 */
export function detectEnvironment(loginUrl: string): OrgEnvironment {
  const url = new URL(loginUrl);
  if (isLoopbackHost(url.hostname)) {
    const named = /^\/hosts\/([^/]+)(\/.*)?$/.exec(url.pathname);
    return named?.[1] ? environmentOfHost(named[1].toLowerCase(), named[2] ?? '') : 'production';
  }
  return environmentOfHost(url.hostname, url.pathname);
}

function environmentOfHost(host: string, path: string): OrgEnvironment {
  if (host === 'test.salesforce.com' || host.endsWith('.sandbox.my.salesforce.com'))
    return 'sandbox';
  // Pre-enhanced sandbox My Domains: `mydomain--sandboxname.my.salesforce.com`.
  if (host.endsWith('.my.salesforce.com') && host.includes('--')) return 'sandbox';
  if (host.endsWith('.my.site.com') || host.endsWith('.force.com')) return 'site';
  if (path.replace(/\/+$/, '') !== '') return 'site';
  return 'production';
}

/**
 * The JWT `aud` Salesforce expects for an environment: a site is its own audience. For an emulator
 * URL (`http://127.0.0.1:PORT/hosts/{host}/path`) the site is the https host it stands in for.
 */
export function defaultAudience(environment: OrgEnvironment, loginUrl: string): string {
  if (environment === 'sandbox') return SANDBOX_AUDIENCE;
  if (environment === 'production') return PRODUCTION_AUDIENCE;
  const url = new URL(loginUrl);
  const named = isLoopbackHost(url.hostname) ? /^\/hosts\/(.+)$/.exec(url.pathname) : null;
  return named?.[1] ? `https://${named[1]}` : loginUrl;
}

/**
 * Checks a login URL and returns it without a trailing slash, or the reason it is unusable.
 * `http:` is accepted only for loopback hosts (the local emulator). A path is kept: on a public host
 * it marks an Experience Cloud site, on loopback it names the host the emulator stands in for.
 */
export function normalizeLoginUrl(raw: string): { url: string } | { problem: string } {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { problem: `loginUrl must be an absolute URL such as https://login.salesforce.com` };
  }
  const loopback = isLoopbackHost(url.hostname);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) {
    return { problem: 'loginUrl must use https (http is accepted only for 127.0.0.1/localhost)' };
  }
  if (url.username || url.password) return { problem: 'loginUrl must not contain credentials' };
  if (url.search || url.hash || raw.includes('?') || raw.includes('#')) {
    return { problem: 'loginUrl must not have a query or fragment' };
  }
  if (/\/services\/oauth2(\/|$)/.test(url.pathname)) {
    return { problem: 'loginUrl is the host only: drop /services/oauth2/... from it' };
  }
  return { url: `${url.origin}${url.pathname.replace(/\/+$/, '')}` };
}

function checkAudience(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'audience must be an absolute URL with its scheme, e.g. https://login.salesforce.com';
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopbackHost(url.hostname))) {
    return 'audience must use https';
  }
  if (value.endsWith('/')) return 'audience must not end with a slash';
  return undefined;
}

/**
 * Validates registry input into an {@link OrgRecord}, applying the defaults in docs/contracts.md#org-record.
 * Callers are stored normalised (roles without path), duplicates dropped.
 *
 * @throws BrokerError `invalid_request` naming every problem found.
 */
export function validateOrgRecord(input: unknown): OrgRecord {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new BrokerError('invalid_request', 'Invalid org record: expected a JSON object');
  }
  const raw = input as Record<string, unknown>;
  const problems: string[] = [];
  const text = (field: string, pattern: RegExp, hint: string): string => {
    const value = raw[field];
    if (value === undefined || value === null || value === '')
      problems.push(`${field} is required`);
    else if (typeof value !== 'string' || !pattern.test(value)) problems.push(`${field} ${hint}`);
    return typeof value === 'string' ? value : '';
  };

  for (const field of Object.keys(raw)) {
    if (!KNOWN_FIELDS.has(field)) problems.push(`unknown field ${JSON.stringify(field)}`);
  }
  const orgId = text('orgId', ORG_ID, 'must be a lowercase slug (a-z, 0-9, inner hyphens, max 63)');
  const consumerKey = text('consumerKey', CONSUMER_KEY, 'must be the app consumer key, no spaces');
  const username = text('username', USERNAME, 'must be a Salesforce username (name@domain)');
  let grant: OrgGrant = 'jwt_bearer';
  if (raw.grant !== undefined && raw.grant !== null) {
    if (ORG_GRANTS.includes(raw.grant as OrgGrant)) grant = raw.grant as OrgGrant;
    else problems.push(`grant must be one of ${ORG_GRANTS.join(', ')}`);
  }
  const secretId = (field: string): string | undefined =>
    raw[field] === undefined || raw[field] === null
      ? undefined
      : text(field, SECRET_ID, 'must be a Secrets Manager secret name or ARN');
  const signingKeySecretId = secretId('signingKeySecretId');
  const consumerSecretId = secretId('consumerSecretId');
  if (grant === 'jwt_bearer' && signingKeySecretId === undefined) {
    problems.push('signingKeySecretId is required for grant jwt_bearer');
  }
  if (grant === 'client_credentials' && consumerSecretId === undefined) {
    problems.push(
      'consumerSecretId is required for grant client_credentials (the app consumer secret)',
    );
  }

  let loginUrl = '';
  const rawLoginUrl = raw.loginUrl;
  if (typeof rawLoginUrl !== 'string' || rawLoginUrl === '') problems.push('loginUrl is required');
  else {
    const checked = normalizeLoginUrl(rawLoginUrl);
    if ('problem' in checked) problems.push(checked.problem);
    else loginUrl = checked.url;
  }
  if (loginUrl && grant === 'client_credentials' && isSharedLoginHost(loginUrl)) {
    problems.push(
      `loginUrl ${loginUrl} is a shared login host: the client credentials grant works only on the org's My Domain (https://NAME.my.salesforce.com); Salesforce answers "request not supported on this domain" anywhere else`,
    );
  }

  let environment: OrgEnvironment = 'production';
  if (raw.environment !== undefined && raw.environment !== null) {
    if (ENVIRONMENTS.includes(raw.environment as OrgEnvironment)) {
      environment = raw.environment as OrgEnvironment;
    } else problems.push(`environment must be one of ${ENVIRONMENTS.join(', ')}`);
  } else if (loginUrl) environment = detectEnvironment(loginUrl);

  let audience = loginUrl ? defaultAudience(environment, loginUrl) : '';
  if (raw.audience !== undefined && raw.audience !== null) {
    if (typeof raw.audience !== 'string') problems.push('audience must be a URL string');
    else {
      const problem = checkAudience(raw.audience);
      if (problem) problems.push(problem);
      audience = raw.audience;
    }
  }

  let tokenTtlSeconds = DEFAULT_TOKEN_TTL_SECONDS;
  if (raw.tokenTtlSeconds !== undefined && raw.tokenTtlSeconds !== null) {
    const ttl = raw.tokenTtlSeconds;
    if (
      typeof ttl !== 'number' ||
      !Number.isInteger(ttl) ||
      ttl < TOKEN_TTL_BOUNDS.min ||
      ttl > TOKEN_TTL_BOUNDS.max
    ) {
      problems.push(
        `tokenTtlSeconds must be an integer from ${TOKEN_TTL_BOUNDS.min} to ${TOKEN_TTL_BOUNDS.max}`,
      );
    } else tokenTtlSeconds = ttl;
  }

  const callers: string[] = [];
  if (raw.callers !== undefined && raw.callers !== null) {
    if (!Array.isArray(raw.callers))
      problems.push('callers must be a list of IAM role or user ARNs');
    else {
      for (const caller of raw.callers) {
        const normalized =
          typeof caller === 'string' ? normalizeCallerArn(caller.trim()) : undefined;
        if (!normalized)
          problems.push(`callers: ${JSON.stringify(caller)} is not an IAM role or user ARN`);
        else if (!callers.includes(normalized)) callers.push(normalized);
      }
    }
  }

  if (problems.length > 0) {
    throw new BrokerError('invalid_request', `Invalid org record: ${problems.join('; ')}`);
  }
  return {
    orgId,
    loginUrl,
    environment,
    audience,
    consumerKey,
    username,
    grant,
    ...(signingKeySecretId ? { signingKeySecretId } : {}),
    ...(consumerSecretId ? { consumerSecretId } : {}),
    tokenTtlSeconds,
    callers,
  };
}
