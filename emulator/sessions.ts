/**
 * Issued sessions: access and refresh tokens, the URLs a token response points at, and the
 * Login History rows every login attempt writes.
 */
import { newAccessToken, newRefreshToken } from './ids';
import type { AccessTokenRecord, App, GrantKind, Org, User } from './model';
import type { EmulatorState } from './state';

/** Scopes that ask for a refresh token; an approval with one of them counts for JWT (docs/emulator.md, JWT bearer check 14). */
export const REFRESH_SCOPES = ['refresh_token', 'offline_access'];

export function hostUrl(origin: string, host: string): string {
  return `${origin}/hosts/${host}`;
}

export function instanceUrl(origin: string, org: Org): string {
  return hostUrl(origin, org.myDomainHost ?? org.instanceHost);
}

export function identityUrl(origin: string, org: Org, user: User): string {
  return `${instanceUrl(origin, org)}/id/${org.id}/${user.id}`;
}

export interface IssuedSession {
  readonly accessToken: string;
  readonly refreshToken: string | undefined;
  readonly issuedAt: number;
}

export function issueSession(
  state: EmulatorState,
  grant: { org: Org; user: User; app: App; scopes: string[]; withRefreshToken: boolean },
): IssuedSession {
  const accessToken = newAccessToken(grant.org.id);
  const refreshToken = grant.withRefreshToken ? newRefreshToken() : undefined;
  const issuedAt = state.now();
  state.accessTokens.set(accessToken, {
    orgId: grant.org.id,
    userId: grant.user.id,
    consumerKey: grant.app.consumerKey,
    scopes: grant.scopes,
    issuedAt,
    refreshToken,
    revoked: false,
  });
  if (refreshToken) {
    // The approval this code came from: the user's latest for the app.
    const approval = state.approvalsOf(grant.user.id, grant.app.consumerKey).at(-1);
    state.refreshTokens.set(refreshToken, {
      consumerKey: grant.app.consumerKey,
      approval,
      revoked: false,
    });
  }
  return { accessToken, refreshToken, issuedAt };
}

/**
 * The live session for a bearer token presented on `host`. A token is good on the shared login
 * hosts and on its own org's hosts, not on another org's.
 */
export function findSession(
  state: EmulatorState,
  host: string,
  token: string | undefined,
): { record: AccessTokenRecord; org: Org; user: User } | undefined {
  if (!token) return undefined;
  const record = state.accessTokens.get(token);
  if (!record || record.revoked) return undefined;
  const org = state.orgs.get(record.orgId);
  const user = state.users.get(record.userId);
  if (!org?.active || !user?.active) return undefined;
  const owner = state.orgOwningHost(host);
  if (owner && owner.id !== org.id) return undefined;
  return { record, org, user };
}

/** Revokes an access token, or a refresh token with the access tokens it issued and the approval it stood for. */
export function revokeToken(state: EmulatorState, token: string): boolean {
  const access = state.accessTokens.get(token);
  if (access && !access.revoked) {
    access.revoked = true;
    return true;
  }
  const refresh = state.refreshTokens.get(token);
  if (refresh && !refresh.revoked) {
    refresh.revoked = true;
    for (const record of state.accessTokens.values())
      if (record.refreshToken === token) record.revoked = true;
    // Revoking a refresh token removes the user's approval of the app it stood for.
    state.approvals = state.approvals.filter((approval) => approval !== refresh.approval);
    return true;
  }
  return false;
}

export function recordLogin(
  state: EmulatorState,
  entry: {
    user: User;
    app: App;
    host: string;
    grant: GrantKind;
    status: string;
    error?: string;
    errorDescription?: string;
    /** For a JWT login: the certificate the assertion was verified with. */
    certificateSha256?: string | undefined;
  },
): void {
  const time = state.now();
  state.loginHistory.push({
    at: new Date(time).toISOString(),
    time,
    orgId: entry.user.orgId,
    userId: entry.user.id,
    username: entry.user.username,
    consumerKey: entry.app.consumerKey,
    host: entry.host,
    grant: entry.grant,
    status: entry.status,
    ...(entry.error ? { error: entry.error, errorDescription: entry.errorDescription } : {}),
    ...(entry.certificateSha256 ? { certificateSha256: entry.certificateSha256 } : {}),
  });
}

/** Whether the user's profile or one of its permission sets is assigned to the app. */
export function isAssignedToApp(user: User, app: App): boolean {
  return (
    app.profiles.includes(user.profile) ||
    user.permissionSets.some((permissionSet) => app.permissionSets.includes(permissionSet))
  );
}
