/**
 * `GET /services/oauth2/authorize` and its two pages (login, Allow/Deny). Bad `client_id` or
 * `redirect_uri` get an error page and no redirect; every other outcome goes back to the
 * registered redirect URI only (docs/emulator.md, Authorize).
 */
import { html, type Reply, readForm, redirect } from './http';
import { newAuthorizationCode, newHandle } from './ids';
import type { App, PendingAuthorization, User } from './model';
import { approvalPage, errorPage, loginPage } from './pages';
import { isAssignedToApp, recordLogin } from './sessions';
import type { EmulatorState } from './state';

export const AUTHORIZE_PATH = '/services/oauth2/authorize';
export const LOGIN_PATH = `${AUTHORIZE_PATH}/login`;
export const DECISION_PATH = `${AUTHORIZE_PATH}/decision`;

export interface AuthorizeRequest {
  readonly host: string;
  readonly query: URLSearchParams;
  readonly contentType: string | undefined;
  readonly body: string;
  readonly remoteAddress: string;
}

const LOGIN_FAILED =
  "Please check your username and password. If you still can't log in, contact your Salesforce administrator.";
const STALE_REQUEST = [
  'invalid_request',
  'this authorization request has expired or was already completed',
] as const;

/** Builds the redirect to the registered URI with `params` (and `state` when one was sent). */
function backToClient(
  pending: Pick<PendingAuthorization, 'redirectUri' | 'state'>,
  params: Record<string, string>,
): Reply {
  const url = new URL(pending.redirectUri);
  for (const [name, value] of Object.entries(params)) url.searchParams.append(name, value);
  if (pending.state !== undefined) url.searchParams.append('state', pending.state);
  return redirect(url.toString());
}

export function handleAuthorize(state: EmulatorState, request: AuthorizeRequest): Reply {
  const { query, host } = request;
  const app = state.appOnHost(host, query.get('client_id') ?? '');
  if (!app) return html(400, errorPage('invalid_client_id', 'client identifier invalid'));
  const redirectUri = query.get('redirect_uri') ?? '';
  if (!app.callbackUrls.includes(redirectUri))
    return html(
      400,
      errorPage(
        'redirect_uri_mismatch',
        'redirect_uri must match configuration',
        `redirect_uri received: ${redirectUri}`,
      ),
    );
  if (!app.installed && app.kind === 'connected_app')
    return html(400, errorPage('invalid_client', 'app must be installed into org'));

  const target = { redirectUri, state: query.get('state') ?? undefined };
  if (query.get('response_type') !== 'code')
    return backToClient(target, {
      error: 'unsupported_response_type',
      error_description: 'response type not supported',
    });
  const requested = (query.get('scope') ?? '').split(/[\s+]+/).filter(Boolean);
  if (requested.some((scope) => !app.scopes.includes(scope)))
    return backToClient(target, {
      error: 'invalid_scope',
      error_description: 'requested scope is invalid, unknown, or malformed',
    });
  const codeChallenge = query.get('code_challenge') ?? undefined;
  const method = query.get('code_challenge_method');
  if ((method !== null && method !== 'S256') || (app.requirePkce && !codeChallenge))
    return backToClient(target, {
      error: 'invalid_request',
      error_description: 'invalid code challenge',
    });

  const handle = newHandle();
  const pending: PendingAuthorization = {
    host,
    consumerKey: app.consumerKey,
    ...target,
    scopes: requested.length > 0 ? requested : app.scopes,
    codeChallenge,
    loginHint: query.get('login_hint') ?? undefined,
    forceConsent: (query.get('prompt') ?? '').split(' ').includes('consent'),
    userId: undefined,
  };
  state.pendingAuthorizations.set(handle, pending);
  return renderLogin(state, handle, pending, app);
}

function renderLogin(
  state: EmulatorState,
  handle: string,
  pending: PendingAuthorization,
  app: App,
  error?: string,
): Reply {
  return html(
    error ? 401 : 200,
    loginPage({
      action: `/hosts/${pending.host}${LOGIN_PATH}`,
      pending: handle,
      users: state.usersOf(app.orgId),
      loginHint: pending.loginHint,
      hostLabel: pending.host,
      ...(error ? { error } : {}),
    }),
    new URL(pending.redirectUri).origin,
  );
}

function readPending(state: EmulatorState, request: AuthorizeRequest) {
  const form = readForm(request.contentType, request.body);
  const handle = form?.get('pending') ?? '';
  const pending = state.pendingAuthorizations.get(handle);
  const app = pending && state.apps.get(pending.consumerKey);
  if (!form || !pending || !app || pending.host !== request.host) return undefined;
  return { form, handle, pending, app };
}

export function handleLogin(state: EmulatorState, request: AuthorizeRequest): Reply {
  const found = readPending(state, request);
  if (!found) return html(400, errorPage(...STALE_REQUEST));
  const { form, handle, pending, app } = found;
  const user = state.userByUsername(app.orgId, form.get('username') ?? '');
  if (!user?.active) return renderLogin(state, handle, pending, app, LOGIN_FAILED);
  pending.userId = user.id;
  recordLogin(state, { user, app, host: pending.host, grant: 'authorize', status: 'Success' });

  if (app.blocked)
    return finish(state, handle, {
      error: 'OAUTH_APP_BLOCKED',
      error_description: 'this app is blocked by admin',
    });
  if (!app.installed) return finish(state, handle, { error: 'OAUTH_EC_APP_NOT_FOUND' });
  if (app.permittedUsers === 'admin_approved') {
    // Pre-authorized users skip the Allow page; everyone else is turned away (docs/emulator.md, Authorize).
    if (isAssignedToApp(user, app)) return issueCode(state, handle, pending, user);
    return finish(state, handle, {
      error: 'OAUTH_APP_ACCESS_DENIED',
      error_description: 'user is not admin approved to access this app',
    });
  }
  if (!pending.forceConsent && alreadyApproved(state, user, app, pending.scopes))
    return issueCode(state, handle, pending, user);
  return html(
    200,
    approvalPage({
      action: `/hosts/${pending.host}${DECISION_PATH}`,
      pending: handle,
      app,
      user,
      scopes: pending.scopes,
    }),
    new URL(pending.redirectUri).origin,
  );
}

export function handleDecision(state: EmulatorState, request: AuthorizeRequest): Reply {
  const found = readPending(state, request);
  const user = found?.pending.userId ? state.users.get(found.pending.userId) : undefined;
  if (!found || !user) return html(400, errorPage(...STALE_REQUEST));
  const { form, handle, pending } = found;
  if (form.get('decision') !== 'allow')
    return finish(state, handle, {
      error: 'access_denied',
      error_description: 'end-user denied authorization',
    });
  state.recordApproval(user.id, pending.consumerKey, pending.scopes);
  return issueCode(state, handle, pending, user);
}

/** Whether an earlier approval by this user already covers every requested scope. */
function alreadyApproved(state: EmulatorState, user: User, app: App, scopes: string[]): boolean {
  return state
    .approvalsOf(user.id, app.consumerKey)
    .some((approval) => scopes.every((scope) => approval.scopes.includes(scope)));
}

function finish(state: EmulatorState, handle: string, params: Record<string, string>): Reply {
  const pending = state.pendingAuthorizations.get(handle);
  state.pendingAuthorizations.delete(handle);
  if (!pending) return html(400, errorPage(...STALE_REQUEST));
  return backToClient(pending, params);
}

function issueCode(
  state: EmulatorState,
  handle: string,
  pending: PendingAuthorization,
  user: User,
): Reply {
  const code = newAuthorizationCode();
  state.codes.set(code, {
    consumerKey: pending.consumerKey,
    userId: user.id,
    redirectUri: pending.redirectUri,
    scopes: pending.scopes,
    codeChallenge: pending.codeChallenge,
    issuedAt: state.now(),
    used: false,
  });
  return finish(state, handle, { code });
}
