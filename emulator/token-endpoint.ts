/**
 * `POST /services/oauth2/token`: the JWT bearer, authorization-code and client credentials grants, with the exact
 * error pairs listed in docs/emulator.md. The order of the JWT checks is assumed (docs/emulator.md).
 */
import { createHash, createHmac, X509Certificate } from 'node:crypto';
import { decodeAssertion, readExpiry, verifiesWithCertificate } from './assertion';
import { json, oauthError, type Reply, readForm } from './http';
import { isWithinRanges } from './ip';
import type { App, GrantKind, Org, User } from './model';
import {
  identityUrl,
  instanceUrl,
  isAssignedToApp,
  issueSession,
  REFRESH_SCOPES,
  recordLogin,
} from './sessions';
import { acceptedAudiences, type EmulatorState, SHARED_LOGIN_HOSTS } from './state';

export const JWT_BEARER_GRANT = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

export interface TokenRequest {
  /** The emulated Salesforce host the request was sent to. */
  readonly host: string;
  /** The emulator's own origin, e.g. `http://127.0.0.1:4010`. */
  readonly origin: string;
  readonly remoteAddress: string;
  /** The Authorization header: client credentials may come as HTTP Basic. */
  readonly authorization?: string | undefined;
  readonly contentType: string | undefined;
  readonly body: string;
}

const NOT_APPROVED = ['invalid_grant', "user hasn't approved this consumer"] as const;

export function handleTokenRequest(state: EmulatorState, request: TokenRequest): Reply {
  const form = readForm(request.contentType, request.body);
  const grantType = form?.get('grant_type');
  if (form && grantType === JWT_BEARER_GRANT) return exchangeAssertion(state, request, form);
  if (form && grantType === 'authorization_code') return exchangeCode(state, request, form);
  if (form && grantType === 'client_credentials')
    return exchangeClientCredentials(state, request, form);
  return oauthError('unsupported_grant_type', 'grant type not supported');
}

/** SHA-256 of the certificate's DER, lowercase hex: which certificate verified an assertion. */
function certificateFingerprint(pem: string | undefined): string | undefined {
  return pem
    ? new X509Certificate(pem).fingerprint256.replaceAll(':', '').toLowerCase()
    : undefined;
}

function orgOf(state: EmulatorState, app: App): Org {
  const org = state.orgs.get(app.orgId);
  if (!org) throw new Error(`app ${app.name} has no org`);
  return org;
}

function exchangeAssertion(
  state: EmulatorState,
  request: TokenRequest,
  form: Map<string, string>,
): Reply {
  const decoded = decodeAssertion(form.get('assertion') ?? '');
  if (!decoded) return oauthError('invalid_grant', 'invalid assertion');
  const { claims } = decoded;
  const app =
    typeof claims.iss === 'string' ? state.appOnHost(request.host, claims.iss) : undefined;
  if (!app) return oauthError('invalid_client_id', 'client identifier invalid');
  const org = orgOf(state, app);
  if (!org.active)
    return oauthError('inactive_org', 'organization is locked, closed, or suspended');
  if (!verifiesWithCertificate(decoded, app.certificates))
    return oauthError('invalid_grant', 'invalid assertion');
  if (typeof claims.aud !== 'string' || !acceptedAudiences(org).includes(claims.aud))
    return oauthError('invalid_grant', 'audience is invalid');
  const exp = readExpiry(claims.exp);
  if (exp === undefined) return oauthError('invalid_grant', 'invalid assertion');
  if (exp * 1000 <= state.now()) return oauthError('invalid_grant', 'expired authorization code');
  // "If both are specified, prn is used." (Salesforce Help, article 000204593)
  const subject = claims.prn ?? claims.sub;
  const user = typeof subject === 'string' ? state.userByUsername(org.id, subject) : undefined;
  if (!user) return oauthError(...NOT_APPROVED);

  const context = { state, user, app, host: request.host, grant: 'jwt-bearer' as const };
  const refused = refuseLogin(context, request.remoteAddress);
  if (refused) return refused;
  const scopes = jwtScopes(state, user, app);
  if (scopes.length === 0) {
    const [error, description] =
      app.permittedUsers === 'admin_approved' && app.kind === 'external_client_app'
        ? (['invalid_app_access', 'user is not admin approved to access this app'] as const)
        : NOT_APPROVED;
    return failLogin(context, 'Failed: Not approved for access', error, description);
  }
  recordLogin(state, {
    ...context,
    status: 'Success',
    certificateSha256: certificateFingerprint(app.certificates[0]),
  });
  const session = issueSession(state, { org, user, app, scopes, withRefreshToken: false });
  return json(200, {
    access_token: session.accessToken,
    scope: scopes.join(' '),
    instance_url: instanceUrl(request.origin, org),
    id: identityUrl(request.origin, org, user),
    token_type: 'Bearer',
  });
}

/**
 * The scopes a JWT exchange gets: admin-approved apps give assigned users the app's scopes;
 * self-authorize apps give the union of the user's approvals that granted a refresh token.
 * Empty means not approved.
 */
function jwtScopes(state: EmulatorState, user: User, app: App): string[] {
  let granted: string[] = [];
  if (app.permittedUsers === 'admin_approved') {
    if (isAssignedToApp(user, app)) granted = app.scopes;
  } else {
    granted = state
      .approvalsOf(user.id, app.consumerKey)
      .filter((approval) => approval.scopes.some((scope) => REFRESH_SCOPES.includes(scope)))
      .flatMap((approval) => approval.scopes);
  }
  return [...new Set(granted)].filter((scope) => !REFRESH_SCOPES.includes(scope));
}

interface LoginContext {
  readonly state: EmulatorState;
  readonly user: User;
  readonly app: App;
  readonly host: string;
  readonly grant: GrantKind;
}

function failLogin(
  context: LoginContext,
  status: string,
  error: string,
  errorDescription: string,
): Reply {
  recordLogin(context.state, { ...context, status, error, errorDescription });
  return oauthError(error, errorDescription);
}

/**
 * The checks every login of a known user goes through, whatever the grant (order assumed):
 * active user, hourly login limit, blocked app, uninstalled External Client App, IP ranges.
 */
export function refuseLogin(context: LoginContext, remoteAddress: string): Reply | undefined {
  const { state, user, app } = context;
  if (!user.active) return failLogin(context, 'User is Inactive', 'invalid_grant', 'inactive user');
  if (state.loginsInLastHour(user.id) >= state.settings.loginsPerHour)
    return failLogin(
      context,
      'Login Rate Exceeded',
      'rate_limit_exceeded',
      'number of logins exceeded',
    );
  if (app.blocked)
    return failLogin(
      context,
      'Failed: App blocked',
      'invalid_grant',
      'this app is blocked by admin',
    );
  if (!app.installed && app.kind === 'external_client_app')
    return failLogin(
      context,
      'Failed: App not installed',
      'invalid_grant',
      'External client app is not installed in this org',
    );
  if (app.ipRelaxation === 'enforce' && !isWithinRanges(remoteAddress, user.loginIpRanges))
    return failLogin(context, 'Restricted IP', 'invalid_grant', 'ip restricted');
  return undefined;
}

function exchangeCode(
  state: EmulatorState,
  request: TokenRequest,
  form: Map<string, string>,
): Reply {
  const clientId = form.get('client_id');
  const app = clientId ? state.appOnHost(request.host, clientId) : undefined;
  if (!app) return oauthError('invalid_client_id', 'client identifier invalid');
  const secret = form.get('client_secret');
  // A secret that is sent is checked even when the app does not require one (docs/emulator.md, Authorization code).
  if ((app.requireSecret || secret !== undefined) && secret !== app.consumerSecret)
    return oauthError('invalid_client', 'invalid client credentials');
  const code = state.codes.get(form.get('code') ?? '');
  if (!code || code.consumerKey !== app.consumerKey)
    return oauthError('invalid_grant', 'invalid authorization code');
  const ageMs = state.now() - code.issuedAt;
  if (code.used || ageMs > state.settings.codeLifetimeSeconds * 1000)
    return oauthError('invalid_grant', 'expired authorization code');
  if (form.get('redirect_uri') !== code.redirectUri)
    return oauthError('redirect_uri_mismatch', 'redirect_uri must match configuration');
  if (code.codeChallenge !== undefined) {
    const verifier = form.get('code_verifier');
    if (verifier === undefined) return oauthError('invalid_grant', 'code verifier missing');
    if (createHash('sha256').update(verifier).digest('base64url') !== code.codeChallenge)
      return oauthError('invalid_request', 'invalid code verifier');
  }
  const org = orgOf(state, app);
  const user = state.users.get(code.userId);
  if (!user) return oauthError('invalid_grant', 'invalid authorization code');
  const context = { state, user, app, host: request.host, grant: 'authorization_code' as const };
  const refused = refuseLogin(context, request.remoteAddress);
  if (refused) return refused;

  code.used = true;
  recordLogin(state, { ...context, status: 'Success' });
  const withRefreshToken = code.scopes.some((scope) => REFRESH_SCOPES.includes(scope));
  const session = issueSession(state, { org, user, app, scopes: code.scopes, withRefreshToken });
  const id = identityUrl(request.origin, org, user);
  const issuedAt = String(session.issuedAt);
  return json(200, {
    access_token: session.accessToken,
    ...(session.refreshToken ? { refresh_token: session.refreshToken } : {}),
    signature: createHmac('sha256', app.consumerSecret)
      .update(id + issuedAt)
      .digest('base64'),
    scope: code.scopes.join(' '),
    instance_url: instanceUrl(request.origin, org),
    id,
    token_type: 'Bearer',
    issued_at: issuedAt,
  });
}

/** The client id and secret from an HTTP Basic header, else from the form. */
function clientCredentials(
  authorization: string | undefined,
  form: Map<string, string>,
): { readonly id: string | undefined; readonly secret: string | undefined } {
  const basic = /^Basic\s+(\S+)$/i.exec(authorization ?? '')?.[1];
  if (basic) {
    const decoded = Buffer.from(basic, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon > 0)
      return {
        id: decodeURIComponent(decoded.slice(0, colon)),
        secret: decodeURIComponent(decoded.slice(colon + 1)),
      };
  }
  return { id: form.get('client_id'), secret: form.get('client_secret') };
}

/**
 * The client credentials grant (order assumed, docs/emulator.md): the org's own host only, a
 * known app with its secret, then the app's run-as user, who goes through the usual login checks.
 */
function exchangeClientCredentials(
  state: EmulatorState,
  request: TokenRequest,
  form: Map<string, string>,
): Reply {
  if (SHARED_LOGIN_HOSTS.has(request.host))
    return oauthError('invalid_grant', 'request not supported on this domain');
  const credentials = clientCredentials(request.authorization, form);
  const app = credentials.id ? state.appOnHost(request.host, credentials.id) : undefined;
  if (!app) return oauthError('invalid_client_id', 'client identifier invalid');
  if (credentials.secret !== app.consumerSecret)
    return oauthError('invalid_client', 'invalid client credentials');
  const org = orgOf(state, app);
  if (!org.active)
    return oauthError('inactive_org', 'organization is locked, closed, or suspended');
  const user =
    app.clientCredentialsEnabled && app.clientCredentialsUser
      ? state.userByUsername(org.id, app.clientCredentialsUser)
      : undefined;
  if (!user) return oauthError('invalid_grant', 'no client credentials user enabled');
  const context = { state, user, app, host: request.host, grant: 'client_credentials' as const };
  const refused = refuseLogin(context, request.remoteAddress);
  if (refused) return refused;
  recordLogin(state, { ...context, status: 'Success' });
  const scopes = app.scopes.filter((scope) => !REFRESH_SCOPES.includes(scope));
  const session = issueSession(state, { org, user, app, scopes, withRefreshToken: false });
  const id = identityUrl(request.origin, org, user);
  const issuedAt = String(session.issuedAt);
  return json(200, {
    access_token: session.accessToken,
    signature: createHmac('sha256', app.consumerSecret)
      .update(id + issuedAt)
      .digest('base64'),
    scope: scopes.join(' '),
    instance_url: instanceUrl(request.origin, org),
    id,
    token_type: 'Bearer',
    issued_at: issuedAt,
  });
}
