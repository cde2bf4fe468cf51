/**
 * What an issued token unlocks: `/services/data/` (REST), `/services/oauth2/userinfo`, the identity
 * URL `/id/{orgId}/{userId}`, and `/services/oauth2/revoke` (docs/emulator.md#using-a-token).
 */
import { json, oauthError, type Reply, readForm, text } from './http';
import type { Org, User } from './model';
import { findSession, hostUrl, identityUrl, instanceUrl, revokeToken } from './sessions';
import type { EmulatorState } from './state';

export interface ResourceRequest {
  readonly method: string;
  readonly host: string;
  /** Path inside the host, e.g. `/services/data/v62.0/`. */
  readonly path: string;
  readonly query: URLSearchParams;
  readonly authorization: string | undefined;
  readonly contentType: string | undefined;
  readonly body: string;
  readonly origin: string;
}

const API_VERSIONS = ['60.0', '61.0', '62.0', '63.0', '64.0'];
const INVALID_SESSION = [
  { message: 'Session expired or invalid', errorCode: 'INVALID_SESSION_ID' },
];

function bearerToken(request: ResourceRequest): string | undefined {
  const match = /^(?:Bearer|OAuth)\s+(\S+)$/i.exec(request.authorization ?? '');
  return match?.[1] ?? request.query.get('oauth_token') ?? undefined;
}

export function handleData(state: EmulatorState, request: ResourceRequest): Reply {
  const session = findSession(state, request.host, bearerToken(request));
  if (!session) return json(401, INVALID_SESSION);
  const rest = request.path.replace(/^\/services\/data\/?/, '').replace(/\/$/, '');
  if (rest === '')
    return json(
      200,
      API_VERSIONS.map((version) => ({
        label: `v${version}`,
        url: `/services/data/v${version}`,
        version,
      })),
    );
  const [version, ...resource] = rest.split('/');
  if (!API_VERSIONS.includes(version?.replace(/^v/, '') ?? ''))
    return json(404, [
      { errorCode: 'NOT_FOUND', message: 'The requested resource does not exist' },
    ]);
  const base = `/services/data/${version}`;
  if (resource.length === 0)
    return json(200, {
      sobjects: `${base}/sobjects`,
      query: `${base}/query`,
      limits: `${base}/limits`,
    });
  const [sobjects, type, id] = resource;
  if (sobjects === 'sobjects' && type === 'User' && id && resource.length === 3) {
    const user = [...state.users.values()].find(
      (candidate) => candidate.orgId === session.org.id && candidate.id.startsWith(id),
    );
    if (user) return json(200, describeUserRecord(user, base));
  }
  return json(404, [{ errorCode: 'NOT_FOUND', message: 'The requested resource does not exist' }]);
}

function describeUserRecord(user: User, base: string) {
  return {
    attributes: { type: 'User', url: `${base}/sobjects/User/${user.id}` },
    Id: user.id,
    Username: user.username,
    Name: user.name,
    Email: user.email,
    IsActive: user.active,
  };
}

function urlsFor(origin: string, org: Org, user: User) {
  const instance = instanceUrl(origin, org);
  return {
    enterprise: `${instance}/services/Soap/c/{version}/${org.id.slice(0, 15)}`,
    rest: `${instance}/services/data/v{version}/`,
    sobjects: `${instance}/services/data/v{version}/sobjects/`,
    query: `${instance}/services/data/v{version}/query/`,
    profile: `${instance}/${user.id}`,
    custom_domain: instance,
  };
}

export function handleUserinfo(state: EmulatorState, request: ResourceRequest): Reply {
  const session = findSession(state, request.host, bearerToken(request));
  if (!session) return text(403, 'Bad_OAuth_Token');
  const { org, user } = session;
  return json(200, {
    sub: identityUrl(request.origin, org, user),
    user_id: user.id,
    organization_id: org.id,
    preferred_username: user.username,
    nickname: user.name,
    name: user.name,
    email: user.email,
    email_verified: true,
    active: user.active,
    user_type: 'STANDARD',
    language: 'en_US',
    locale: 'en_US',
    utcOffset: 0,
    is_app_installed: true,
    urls: urlsFor(request.origin, org, user),
  });
}

export function handleIdentity(state: EmulatorState, request: ResourceRequest): Reply {
  const session = findSession(state, request.host, bearerToken(request));
  if (!session) return text(403, 'Bad_OAuth_Token');
  const [, , orgId, userId] = request.path.split('/');
  const user = userId ? state.users.get(userId) : undefined;
  if (orgId !== session.org.id || !user || user.orgId !== orgId) return text(404, 'Bad_Id');
  return json(200, {
    id: identityUrl(request.origin, session.org, user),
    asserted_user: user.id === session.user.id,
    user_id: user.id,
    organization_id: orgId,
    username: user.username,
    nick_name: user.name,
    display_name: user.name,
    email: user.email,
    active: user.active,
    user_type: 'STANDARD',
    language: 'en_US',
    locale: 'en_US',
    utcOffset: 0,
    last_modified_date: new Date(state.now()).toISOString(),
    is_app_installed: true,
    urls: {
      ...urlsFor(request.origin, session.org, user),
      login: hostUrl(request.origin, request.host),
    },
  });
}

export function handleRevoke(state: EmulatorState, request: ResourceRequest): Reply {
  const token =
    request.method === 'GET'
      ? request.query.get('token')
      : readForm(request.contentType, request.body)?.get('token');
  if (!token || !revokeToken(state, token)) return oauthError('invalid_token', 'Token was invalid');
  return { status: 200, headers: { 'cache-control': 'no-store' }, body: '' };
}
