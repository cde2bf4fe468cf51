import { createHash, createHmac, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { signingMaterial } from '../test/support/keys';
import type { App } from './model';
import { type RunningEmulator, startEmulator } from './server';
import { JWT_BEARER, postTokenForm, signAssertion } from './testing/assertion';
import { authorizeWithForms } from './testing/oauth-forms';

const CALLBACK = 'http://127.0.0.1:9/oauth/callback';
const USER = 'integration@acme.example';
const ADMIN = 'admin@acme.example';

let emulator: RunningEmulator;
let privateKeyPem: string;
let app: App;
let orgId: string;
let loginUrl: string;
let certificatePem: string;

const verifier = randomBytes(32).toString('base64url');
const challenge = createHash('sha256').update(verifier).digest('base64url');

function authorizeParams(overrides: Record<string, string> = {}): Record<string, string> {
  return {
    response_type: 'code',
    client_id: app.consumerKey,
    redirect_uri: CALLBACK,
    state: 'st-1',
    scope: 'api refresh_token',
    code_challenge: challenge,
    code_challenge_method: 'S256',
    login_hint: USER,
    ...overrides,
  };
}

function callbackParams(location: string | undefined): Record<string, string> {
  expect(location?.startsWith(`${CALLBACK}?`)).toBe(true);
  return Object.fromEntries(new URL(location ?? '').searchParams);
}

async function codeFor(username = USER, overrides: Record<string, string> = {}): Promise<string> {
  const result = await authorizeWithForms(loginUrl, authorizeParams(overrides), username);
  const params = callbackParams(result.location);
  expect(params.state).toBe(overrides.state ?? 'st-1');
  return params.code ?? '';
}

function exchangeCode(code: string, overrides: Record<string, string> = {}) {
  return postTokenForm(loginUrl, {
    grant_type: 'authorization_code',
    code,
    client_id: app.consumerKey,
    redirect_uri: CALLBACK,
    code_verifier: verifier,
    ...overrides,
  });
}

function jwtExchange(sub: string) {
  return postTokenForm(loginUrl, {
    grant_type: JWT_BEARER,
    assertion: signAssertion(privateKeyPem, {
      iss: app.consumerKey,
      sub,
      aud: 'https://login.salesforce.com',
    }),
  });
}

beforeAll(async () => {
  const key = await signingMaterial('emulator');
  privateKeyPem = key.privateKeyPem;
  emulator = await startEmulator();
  loginUrl = emulator.hostUrl('login.salesforce.com');
  certificatePem = key.certificatePem;
});

beforeEach(async () => {
  const { control } = emulator;
  await control.reset();
  const org = await control.createOrg({ myDomainHost: 'acme.my.salesforce.com' });
  orgId = org.id;
  app = await control.createApp(org.id, {
    name: 'Token Broker',
    certificates: [certificatePem],
    callbackUrls: [CALLBACK],
  });
  await control.createUser(org.id, { username: USER });
  await control.createUser(org.id, { username: ADMIN, profile: 'System Administrator' });
});
afterAll(() => emulator.close());

describe('authorization_code exchange', () => {
  it('returns the documented fields, a refresh token for refresh_token scope, and a valid signature', async () => {
    const code = await codeFor();
    expect(code).toMatch(/==$/);
    const { status, body } = await exchangeCode(code);
    expect(status).toBe(200);
    expect(Object.keys(body)).toEqual([
      'access_token',
      'refresh_token',
      'signature',
      'scope',
      'instance_url',
      'id',
      'token_type',
      'issued_at',
    ]);
    expect(body.scope).toBe('api refresh_token');
    expect(body.issued_at).toMatch(/^\d{13}$/);
    expect(body.instance_url).toBe(emulator.hostUrl('acme.my.salesforce.com'));
    const expected = createHmac('sha256', app.consumerSecret)
      .update(`${body.id}${body.issued_at}`)
      .digest('base64');
    expect(body.signature).toBe(expected);
    const userinfo = await fetch(`${body.instance_url}/services/oauth2/userinfo`, {
      headers: { authorization: `Bearer ${body.access_token}` },
    });
    expect(await userinfo.json()).toMatchObject({ preferred_username: USER });
    // The approval was USER's and granted refresh_token, so the JWT flow now works for USER.
    expect((await jwtExchange(USER)).status).toBe(200);
    expect(await emulator.control.approvals({ username: USER })).toMatchObject([
      { consumerKey: app.consumerKey, scopes: ['api', 'refresh_token'] },
    ]);
    expect(await emulator.control.countTokenExchanges(USER)).toBe(2);
  });

  it('URL-encodes the code in the redirect and revokes access tokens and the approval with their refresh token', async () => {
    const result = await authorizeWithForms(loginUrl, authorizeParams(), USER);
    expect(result.location).toMatch(/[?&]code=aPrx[\w-]+%3D%3D&state=st-1$/);
    const { body } = await exchangeCode(callbackParams(result.location).code ?? '');
    const data = () =>
      fetch(`${body.instance_url}/services/data/`, {
        headers: { authorization: `Bearer ${body.access_token}` },
      });
    expect((await data()).status).toBe(200);
    const approvalsBefore = (await emulator.control.approvals({ username: USER })).length;
    expect(approvalsBefore).toBeGreaterThan(0);
    const revoke = await fetch(`${loginUrl}/services/oauth2/revoke`, {
      method: 'POST',
      body: new URLSearchParams({ token: String(body.refresh_token) }),
    });
    expect(revoke.status).toBe(200);
    expect((await data()).status).toBe(401);
    expect(await emulator.control.approvals({ username: USER })).toHaveLength(approvalsBefore - 1);
  });

  it('keeps at most five approvals per user and app, dropping the oldest', async () => {
    for (const scope of ['api', 'web', 'openid', 'id', 'refresh_token', 'offline_access']) {
      await emulator.control.approve(USER, app.consumerKey, [scope]);
    }
    const approvals = await emulator.control.approvals({ username: USER });
    expect(approvals.map((approval) => approval.scopes[0])).toEqual([
      'web',
      'openid',
      'id',
      'refresh_token',
      'offline_access',
    ]);
  });

  it('gives no refresh token without that scope, and such an approval does not serve JWT', async () => {
    const { body } = await exchangeCode(await codeFor(USER, { scope: 'api' }));
    expect(body).not.toHaveProperty('refresh_token');
    expect(body.scope).toBe('api');
    expect((await jwtExchange(USER)).body).toMatchObject({
      error_description: "user hasn't approved this consumer",
    });
  });

  it('approves for the user who logged in, not for the one the broker signs as', async () => {
    await exchangeCode(await codeFor(ADMIN));
    expect((await jwtExchange(ADMIN)).status).toBe(200);
    expect((await jwtExchange(USER)).body).toMatchObject({
      error: 'invalid_grant',
      error_description: "user hasn't approved this consumer",
    });
  });

  it('uses a code once and for 15 minutes only', async () => {
    const expired = { error: 'invalid_grant', error_description: 'expired authorization code' };
    const code = await codeFor();
    expect((await exchangeCode(code)).status).toBe(200);
    expect((await exchangeCode(code)).body).toEqual(expired);
    const late = await codeFor();
    await emulator.control.advanceClock(15 * 60 + 1);
    expect((await exchangeCode(late)).body).toEqual(expired);
    expect((await exchangeCode('made-up')).body).toMatchObject({ error: 'invalid_grant' });
  });

  it('requires the exact redirect_uri and the PKCE verifier', async () => {
    const code = await codeFor();
    expect((await exchangeCode(code, { redirect_uri: `${CALLBACK}/` })).body).toEqual({
      error: 'redirect_uri_mismatch',
      error_description: 'redirect_uri must match configuration',
    });
    const missing = await postTokenForm(loginUrl, {
      grant_type: 'authorization_code',
      code,
      client_id: app.consumerKey,
      redirect_uri: CALLBACK,
    });
    expect(missing.body).toMatchObject({ error: 'invalid_grant' });
    expect((await exchangeCode(code, { code_verifier: `${verifier}x` })).body).toMatchObject({
      error: 'invalid_request',
    });
    expect((await exchangeCode(code)).status).toBe(200);
  });

  it('checks the client secret when the app requires it, and any secret that is sent', async () => {
    const invalid = { error: 'invalid_client', error_description: 'invalid client credentials' };
    const code = await codeFor();
    expect((await exchangeCode(code, { client_secret: 'wrong' })).body).toEqual(invalid);
    await emulator.control.updateApp(app.consumerKey, { requireSecret: true });
    expect((await exchangeCode(code)).body).toEqual(invalid);
    const ok = await exchangeCode(code, { client_secret: app.consumerSecret });
    expect(ok.status).toBe(200);
    expect((await exchangeCode(code, { client_id: 'unknown' })).body).toEqual({
      error: 'invalid_client_id',
      error_description: 'client identifier invalid',
    });
  });
});

describe('authorize endpoint', () => {
  it('shows an error page, never a redirect, for an unknown client_id or redirect_uri', async () => {
    const unknownClient = await authorizeWithForms(
      loginUrl,
      authorizeParams({ client_id: 'nope' }),
      USER,
    );
    expect(unknownClient).toMatchObject({ status: 400, location: undefined });
    expect(unknownClient.html).toContain('client identifier invalid');
    const sandboxHost = await authorizeWithForms(
      emulator.hostUrl('test.salesforce.com'),
      authorizeParams(),
      USER,
    );
    expect(sandboxHost.html).toContain('invalid_client_id');
    const payload = `${CALLBACK}/"><script>alert(1)</script>`;
    const badRedirect = await authorizeWithForms(
      loginUrl,
      authorizeParams({ redirect_uri: payload }),
      USER,
    );
    expect(badRedirect).toMatchObject({ status: 400, location: undefined });
    expect(badRedirect.html).toContain('redirect_uri must match configuration');
    expect(badRedirect.html).not.toContain('<script>');
    expect(badRedirect.html).toContain('&lt;script&gt;');
  });

  it('redirects request errors to the registered URI with state', async () => {
    const responseType = await authorizeWithForms(
      loginUrl,
      authorizeParams({ response_type: 'token' }),
      USER,
    );
    expect(callbackParams(responseType.location)).toEqual({
      error: 'unsupported_response_type',
      error_description: 'response type not supported',
      state: 'st-1',
    });
    const scope = await authorizeWithForms(loginUrl, authorizeParams({ scope: 'api full' }), USER);
    expect(callbackParams(scope.location)).toMatchObject({ error: 'invalid_scope', state: 'st-1' });
  });

  it('redirects access_denied when the user clicks Deny', async () => {
    const result = await authorizeWithForms(loginUrl, authorizeParams(), USER, 'deny');
    expect(callbackParams(result.location)).toEqual({
      error: 'access_denied',
      error_description: 'end-user denied authorization',
      state: 'st-1',
    });
    expect(await emulator.control.approvals()).toEqual([]);
  });

  it('admin-approved: turns away unassigned users and pre-authorizes assigned ones', async () => {
    await emulator.control.updateApp(app.consumerKey, {
      permittedUsers: 'admin_approved',
      profiles: ['System Administrator'],
    });
    const denied = await authorizeWithForms(loginUrl, authorizeParams(), USER);
    expect(callbackParams(denied.location)).toEqual({
      error: 'OAUTH_APP_ACCESS_DENIED',
      error_description: 'user is not admin approved to access this app',
      state: 'st-1',
    });
    const start = await fetch(
      `${loginUrl}/services/oauth2/authorize?${new URLSearchParams(authorizeParams())}`,
    );
    const handle = /name="pending" value="([^"]+)"/.exec(await start.text())?.[1] ?? '';
    const login = await fetch(`${loginUrl}/services/oauth2/authorize/login`, {
      method: 'POST',
      redirect: 'manual',
      body: new URLSearchParams({ pending: handle, username: ADMIN }),
    });
    expect(login.status).toBe(302);
    expect(callbackParams(login.headers.get('location') ?? undefined).code).toBeTruthy();
  });

  it('redirects OAUTH_APP_BLOCKED and OAUTH_EC_APP_NOT_FOUND; shows an uninstalled connected app as an error page', async () => {
    await emulator.control.updateApp(app.consumerKey, { blocked: true });
    const blocked = await authorizeWithForms(loginUrl, authorizeParams(), USER);
    expect(callbackParams(blocked.location)).toEqual({
      error: 'OAUTH_APP_BLOCKED',
      error_description: 'this app is blocked by admin',
      state: 'st-1',
    });
    await emulator.control.updateApp(app.consumerKey, {
      blocked: false,
      installed: false,
      kind: 'external_client_app',
    });
    const notFound = await authorizeWithForms(loginUrl, authorizeParams(), USER);
    expect(callbackParams(notFound.location)).toEqual({
      error: 'OAUTH_EC_APP_NOT_FOUND',
      state: 'st-1',
    });
    await emulator.control.updateApp(app.consumerKey, { kind: 'connected_app' });
    const uninstalled = await authorizeWithForms(loginUrl, authorizeParams(), USER);
    expect(uninstalled).toMatchObject({ status: 400, location: undefined });
    expect(uninstalled.html).toContain('app must be installed into org');
  });

  it('skips the Allow page when an earlier approval covers the scopes, unless prompt=consent', async () => {
    await emulator.control.approve(USER, app.consumerKey, ['api', 'refresh_token', 'web']);
    const skipped = await authorizeWithForms(loginUrl, authorizeParams(), USER, 'deny');
    expect(callbackParams(skipped.location).code).toBeTruthy();
    const consent = await authorizeWithForms(
      loginUrl,
      authorizeParams({ prompt: 'login consent' }),
      USER,
      'deny',
    );
    expect(callbackParams(consent.location).error).toBe('access_denied');
  });

  it('keeps the login page for an unknown or inactive user and refuses a replayed form', async () => {
    await emulator.control.updateUser(USER, { active: false });
    const inactive = await authorizeWithForms(loginUrl, authorizeParams(), USER);
    expect(inactive.status).toBe(401);
    expect(inactive.html).toContain('Please check your username and password');
    const start = await fetch(
      `${loginUrl}/services/oauth2/authorize?${new URLSearchParams(authorizeParams())}`,
    );
    const handle = /name="pending" value="([^"]+)"/.exec(await start.text())?.[1] ?? '';
    const post = () =>
      fetch(`${loginUrl}/services/oauth2/authorize/login`, {
        method: 'POST',
        redirect: 'manual',
        body: new URLSearchParams({ pending: handle, username: ADMIN }),
      });
    expect((await post()).status).toBe(200);
    const decide = () =>
      fetch(`${loginUrl}/services/oauth2/authorize/decision`, {
        method: 'POST',
        redirect: 'manual',
        body: new URLSearchParams({ pending: handle, decision: 'allow' }),
      });
    expect((await decide()).status).toBe(302);
    expect((await decide()).status).toBe(400);
    expect(orgId).toBeTruthy();
  });
});
