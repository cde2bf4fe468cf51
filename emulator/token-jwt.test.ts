import { importPKCS8, SignJWT } from 'jose';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type SigningMaterial, signingMaterial } from '../test/support/keys';
import type { OrgView } from './client';
import type { App } from './model';
import { type RunningEmulator, startEmulator } from './server';
import {
  type AssertionClaims,
  JWT_BEARER,
  postTokenForm,
  signAssertion,
} from './testing/assertion';

const LOGIN = 'https://login.salesforce.com';
const TEST = 'https://test.salesforce.com';

let emulator: RunningEmulator;
let key: SigningMaterial;
let otherKey: SigningMaterial;
let prod: OrgView;
let sandbox: OrgView;
let app: App;
let sandboxApp: App;

const nowSeconds = () => Math.floor(Date.now() / 1000);

function exchange(host: string, claims: AssertionClaims, privateKeyPem = key.privateKeyPem) {
  return postTokenForm(emulator.hostUrl(host), {
    grant_type: JWT_BEARER,
    assertion: signAssertion(privateKeyPem, claims),
  });
}

const claimsFor = (sub: string, extra: AssertionClaims = {}): AssertionClaims => ({
  iss: app.consumerKey,
  sub,
  aud: LOGIN,
  ...extra,
});

function expectError(
  result: { status: number; body: unknown },
  error: string,
  description: string,
) {
  expect(result).toEqual({ status: 400, body: { error, error_description: description } });
}

beforeAll(async () => {
  [key, otherKey] = await Promise.all([signingMaterial('emulator'), signingMaterial('other')]);
  emulator = await startEmulator();
});
afterAll(() => emulator.close());

beforeEach(async () => {
  const { control } = emulator;
  await control.reset();
  prod = await control.createOrg({
    myDomainHost: 'acme.my.salesforce.com',
    siteHosts: ['acme.my.site.com'],
  });
  sandbox = await control.createOrg({
    environment: 'sandbox',
    myDomainHost: 'acme--uat.sandbox.my.salesforce.com',
  });
  app = await control.createApp(prod.id, { certificates: [key.certificatePem] });
  sandboxApp = await control.createApp(sandbox.id, { certificates: [key.certificatePem] });
  await control.createUser(prod.id, { username: 'integration@acme.example' });
  await control.createUser(sandbox.id, { username: 'integration@acme.example.uat' });
});

describe('jwt-bearer success', () => {
  it('answers exactly the documented five fields for an approved user', async () => {
    await emulator.control.approve('integration@acme.example', app.consumerKey, [
      'api',
      'refresh_token',
      'web',
    ]);
    const { status, body } = await exchange(
      'login.salesforce.com',
      claimsFor('integration@acme.example'),
    );
    expect(status).toBe(200);
    expect(Object.keys(body)).toEqual([
      'access_token',
      'scope',
      'instance_url',
      'id',
      'token_type',
    ]);
    expect(body.access_token).toMatch(new RegExp(`^${prod.id.slice(0, 15)}![A-Za-z0-9._]+$`));
    expect(body.scope).toBe('api web');
    expect(body.instance_url).toBe(emulator.hostUrl('acme.my.salesforce.com'));
    expect(body.id).toMatch(new RegExp(`^${body.instance_url}/id/${prod.id}/005\\w{15}$`));
    expect(body.token_type).toBe('Bearer');
    const data = await fetch(`${body.instance_url}/services/data/`, {
      headers: { authorization: `Bearer ${body.access_token}` },
    });
    expect(data.status).toBe(200);
  });

  it('verifies an assertion signed with jose and accepted on the My Domain and site hosts', async () => {
    await emulator.control.approve('integration@acme.example', app.consumerKey, [
      'api',
      'refresh_token',
    ]);
    const signed = await new SignJWT({
      iss: app.consumerKey,
      sub: 'integration@acme.example',
      aud: LOGIN,
    })
      .setProtectedHeader({ alg: 'RS256', typ: 'JWT' })
      .setIssuedAt()
      .setJti('j1')
      .setExpirationTime('3m')
      .sign(await importPKCS8(key.privateKeyPem, 'RS256'));
    for (const host of ['acme.my.salesforce.com', 'acme.my.site.com', 'login.salesforce.com']) {
      const result = await postTokenForm(emulator.hostUrl(host), {
        grant_type: JWT_BEARER,
        assertion: signed,
      });
      expect(result.status, host).toBe(200);
    }
  });

  it('accepts the site URL as aud, a string exp and a millisecond exp', async () => {
    await emulator.control.approve('integration@acme.example', app.consumerKey, [
      'api',
      'refresh_token',
    ]);
    const user = 'integration@acme.example';
    const cases: AssertionClaims[] = [
      claimsFor(user, { aud: 'https://acme.my.site.com' }),
      claimsFor(user, { exp: String(nowSeconds() + 120) }),
      claimsFor(user, { exp: Date.now() + 300 }),
    ];
    for (const claims of cases) {
      expect((await exchange('acme.my.site.com', claims)).status, JSON.stringify(claims)).toBe(200);
    }
  });

  it('uses prn over sub when both are present', async () => {
    await emulator.control.approve('integration@acme.example', app.consumerKey, [
      'api',
      'refresh_token',
    ]);
    const preferred = await exchange(
      'login.salesforce.com',
      claimsFor('nobody@acme.example', { prn: 'integration@acme.example' }),
    );
    expect(preferred.status).toBe(200);
    const ignored = await exchange(
      'login.salesforce.com',
      claimsFor('integration@acme.example', { prn: 'nobody@acme.example' }),
    );
    expectError(ignored, 'invalid_grant', "user hasn't approved this consumer");
  });

  it('serves sandbox apps on test.salesforce.com with the test audience only', async () => {
    await emulator.control.approve('integration@acme.example.uat', sandboxApp.consumerKey, [
      'api',
      'refresh_token',
    ]);
    const claims = { iss: sandboxApp.consumerKey, sub: 'integration@acme.example.uat', aud: TEST };
    expect((await exchange('test.salesforce.com', claims)).status).toBe(200);
    expect((await exchange('acme--uat.sandbox.my.salesforce.com', claims)).status).toBe(200);
    expectError(
      await exchange('test.salesforce.com', { ...claims, aud: LOGIN }),
      'invalid_grant',
      'audience is invalid',
    );
  });
});

describe('jwt-bearer refusals', () => {
  it('refuses a consumer key that is unknown on the host', async () => {
    const unknown = {
      status: 400,
      body: { error: 'invalid_client_id', error_description: 'client identifier invalid' },
    };
    expect(await exchange('login.salesforce.com', claimsFor('x', { iss: 'nope' }))).toEqual(
      unknown,
    );
    // A production app is unknown on test.salesforce.com and on another org's My Domain (docs/emulator.md#host-model).
    expect(await exchange('test.salesforce.com', claimsFor('integration@acme.example'))).toEqual(
      unknown,
    );
    expect(
      await exchange('acme--uat.sandbox.my.salesforce.com', claimsFor('integration@acme.example')),
    ).toEqual(unknown);
    expect(
      await exchange('login.salesforce.com', { iss: sandboxApp.consumerKey, sub: 'u', aud: TEST }),
    ).toEqual(unknown);
  });

  it('refuses a signature from another key, a malformed JWT and a non-RS256 header', async () => {
    const claims = claimsFor('integration@acme.example');
    expectError(
      await exchange('login.salesforce.com', claims, otherKey.privateKeyPem),
      'invalid_grant',
      'invalid assertion',
    );
    const hs256 = signAssertion(key.privateKeyPem, claims, { alg: 'HS256' });
    for (const assertion of ['not-a-jwt', 'a.b.c', hs256, '']) {
      const result = await postTokenForm(emulator.hostUrl('login.salesforce.com'), {
        grant_type: JWT_BEARER,
        assertion,
      });
      expectError(result, 'invalid_grant', 'invalid assertion');
    }
  });

  it('holds one certificate per app: an upload replaces it, and the old key stops working', async () => {
    await emulator.control.approve('integration@acme.example', app.consumerKey, [
      'api',
      'refresh_token',
    ]);
    await expect(
      emulator.control.updateApp(app.consumerKey, {
        certificates: [key.certificatePem, otherKey.certificatePem],
      }),
    ).rejects.toThrow(/one certificate/);
    await emulator.control.updateApp(app.consumerKey, { certificates: [otherKey.certificatePem] });
    const claims = () => claimsFor('integration@acme.example');
    expect((await exchange('login.salesforce.com', claims(), otherKey.privateKeyPem)).status).toBe(
      200,
    );
    const old = await exchange('login.salesforce.com', claims(), key.privateKeyPem);
    expectError(old, 'invalid_grant', 'invalid assertion');
    await emulator.control.updateApp(app.consumerKey, { certificates: [key.certificatePem] });
  });

  it('refuses every aud but the environment and site URLs', async () => {
    const auds: unknown[] = [
      'https://acme.my.salesforce.com',
      'login.salesforce.com',
      'http://login.salesforce.com',
      'https://login.salesforce.com/',
      [LOGIN],
      TEST,
      undefined,
    ];
    for (const aud of auds) {
      const result = await exchange(
        'acme.my.salesforce.com',
        claimsFor('integration@acme.example', { aud }),
      );
      expectError(result, 'invalid_grant', 'audience is invalid');
    }
  });

  it('answers expired authorization code for an exp in the past, also by the emulator clock', async () => {
    await emulator.control.approve('integration@acme.example', app.consumerKey, [
      'api',
      'refresh_token',
    ]);
    const past = claimsFor('integration@acme.example', { exp: nowSeconds() - 1 });
    expectError(
      await exchange('login.salesforce.com', past),
      'invalid_grant',
      'expired authorization code',
    );
    await emulator.control.advanceClock(600);
    expectError(
      await exchange('login.salesforce.com', claimsFor('integration@acme.example')),
      'invalid_grant',
      'expired authorization code',
    );
    const malformed = claimsFor('integration@acme.example', { exp: 'soon' });
    expectError(
      await exchange('login.salesforce.com', malformed),
      'invalid_grant',
      'invalid assertion',
    );
  });

  it('refuses unknown and inactive users', async () => {
    expectError(
      await exchange('login.salesforce.com', claimsFor('ghost@acme.example')),
      'invalid_grant',
      "user hasn't approved this consumer",
    );
    await emulator.control.updateUser('integration@acme.example', { active: false });
    expectError(
      await exchange('login.salesforce.com', claimsFor('integration@acme.example')),
      'invalid_grant',
      'inactive user',
    );
  });

  it('refuses an inactive org', async () => {
    await emulator.control.updateOrg(prod.id, { active: false });
    expectError(
      await exchange('login.salesforce.com', claimsFor('integration@acme.example')),
      'inactive_org',
      'organization is locked, closed, or suspended',
    );
  });
});

describe('jwt-bearer approval rules', () => {
  const user = 'integration@acme.example';

  it('self-authorize: only an approval by the sub user that granted refresh_token counts', async () => {
    const { control } = emulator;
    await control.createUser(prod.id, { username: 'admin@acme.example' });
    await control.approve('admin@acme.example', app.consumerKey, ['api', 'refresh_token']);
    await control.approve(user, app.consumerKey, ['api', 'web']);
    expectError(
      await exchange('login.salesforce.com', claimsFor(user)),
      'invalid_grant',
      "user hasn't approved this consumer",
    );
    await control.approve(user, app.consumerKey, ['api', 'offline_access']);
    const ok = await exchange('login.salesforce.com', claimsFor(user));
    expect(ok.status).toBe(200);
    expect(ok.body.scope).toBe('api');
  });

  it('self-authorize: an approval of refresh_token alone grants no usable scope', async () => {
    await emulator.control.approve(user, app.consumerKey, ['refresh_token']);
    expectError(
      await exchange('login.salesforce.com', claimsFor(user)),
      'invalid_grant',
      "user hasn't approved this consumer",
    );
  });

  it('admin-approved: the profile or a permission set must be assigned; approvals do not count', async () => {
    const { control } = emulator;
    await control.updateApp(app.consumerKey, {
      permittedUsers: 'admin_approved',
      scopes: ['api', 'refresh_token'],
    });
    await control.approve(user, app.consumerKey, ['api', 'refresh_token']);
    expectError(
      await exchange('login.salesforce.com', claimsFor(user)),
      'invalid_grant',
      "user hasn't approved this consumer",
    );
    await control.updateUser(user, { permissionSets: ['JWT Access'] });
    await control.updateApp(app.consumerKey, { permissionSets: ['JWT Access'] });
    const viaPermset = await exchange('login.salesforce.com', claimsFor(user));
    expect(viaPermset.body.scope).toBe('api');
    await control.updateApp(app.consumerKey, { permissionSets: [], profiles: ['Standard User'] });
    expect((await exchange('login.salesforce.com', claimsFor(user))).status).toBe(200);
  });

  it('admin-approved External Client App: an unassigned user gets invalid_app_access', async () => {
    await emulator.control.updateApp(app.consumerKey, {
      permittedUsers: 'admin_approved',
      kind: 'external_client_app',
    });
    expectError(
      await exchange('login.salesforce.com', claimsFor(user)),
      'invalid_app_access',
      'user is not admin approved to access this app',
    );
  });

  it('refuses an uninstalled External Client App and a blocked app', async () => {
    const { control } = emulator;
    await control.approve(user, app.consumerKey, ['api', 'refresh_token']);
    await control.updateApp(app.consumerKey, { kind: 'external_client_app', installed: false });
    expectError(
      await exchange('login.salesforce.com', claimsFor(user)),
      'invalid_grant',
      'External client app is not installed in this org',
    );
    await control.updateApp(app.consumerKey, { installed: true, blocked: true });
    expectError(
      await exchange('login.salesforce.com', claimsFor(user)),
      'invalid_grant',
      'this app is blocked by admin',
    );
  });

  it('enforces the profile Login IP Ranges unless the app relaxes IP restrictions', async () => {
    const { control } = emulator;
    await control.approve(user, app.consumerKey, ['api', 'refresh_token']);
    await control.updateUser(user, { loginIpRanges: [{ start: '10.0.0.0', end: '10.0.0.255' }] });
    expectError(
      await exchange('login.salesforce.com', claimsFor(user)),
      'invalid_grant',
      'ip restricted',
    );
    await control.updateApp(app.consumerKey, { ipRelaxation: 'relax' });
    expect((await exchange('login.salesforce.com', claimsFor(user))).status).toBe(200);
    await control.updateApp(app.consumerKey, { ipRelaxation: 'enforce' });
    await control.updateUser(user, {
      loginIpRanges: [{ start: '127.0.0.0', end: '127.255.255.255' }],
    });
    expect((await exchange('login.salesforce.com', claimsFor(user))).status).toBe(200);
  });
});

describe('login counting', () => {
  const user = 'integration@acme.example';

  it('records every login of a known user and limits them per rolling hour', async () => {
    const { control } = emulator;
    await control.approve(user, app.consumerKey, ['api', 'refresh_token']);
    await control.updateSettings({ loginsPerHour: 3 });
    for (let i = 0; i < 3; i++)
      expect((await exchange('login.salesforce.com', claimsFor(user))).status).toBe(200);
    expectError(
      await exchange('login.salesforce.com', claimsFor(user)),
      'rate_limit_exceeded',
      'number of logins exceeded',
    );
    expect(await control.countTokenExchanges(user)).toBe(3);
    const history = await control.loginHistory({ username: user });
    expect(history.map((entry) => entry.status)).toEqual([
      'Success',
      'Success',
      'Success',
      'Login Rate Exceeded',
    ]);
    expect(history[0]).toMatchObject({
      grant: 'jwt-bearer',
      host: 'login.salesforce.com',
      consumerKey: app.consumerKey,
    });
    await control.advanceClock(3601);
    const later = claimsFor(user, { exp: nowSeconds() + 3601 + 180 });
    expect((await exchange('login.salesforce.com', later)).status).toBe(200);
  });

  it('counts failed logins of a known user with their Login History status', async () => {
    await exchange('login.salesforce.com', claimsFor(user));
    expect(await emulator.control.loginHistory({ username: user })).toMatchObject([
      { status: 'Failed: Not approved for access', error: 'invalid_grant' },
    ]);
    expect(await emulator.control.countTokenExchanges(user)).toBe(0);
  });
});

describe('request format', () => {
  it('answers unsupported_grant_type unless the body is form-encoded with a known grant', async () => {
    const url = `${emulator.hostUrl('login.salesforce.com')}/services/oauth2/token`;
    const assertion = signAssertion(key.privateKeyPem, claimsFor('integration@acme.example'));
    const bodies: RequestInit[] = [
      {
        body: JSON.stringify({ grant_type: JWT_BEARER, assertion }),
        headers: { 'content-type': 'application/json' },
      },
      { body: new URLSearchParams({ assertion }) },
      { body: new URLSearchParams({ grant_type: 'password', assertion }) },
    ];
    for (const init of bodies) {
      const response = await fetch(url, { method: 'POST', ...init });
      expect(response.status).toBe(400);
      expect(await response.json()).toEqual({
        error: 'unsupported_grant_type',
        error_description: 'grant type not supported',
      });
    }
    const query = await fetch(
      `${url}?${new URLSearchParams({ grant_type: JWT_BEARER, assertion })}`,
      { method: 'POST' },
    );
    expect(await query.json()).toMatchObject({ error: 'unsupported_grant_type' });
  });

  it('answers 404 for hosts that are not emulated', async () => {
    const result = await exchange(
      'unknown.my.salesforce.com',
      claimsFor('integration@acme.example'),
    );
    expect(result.status).toBe(404);
  });
});
