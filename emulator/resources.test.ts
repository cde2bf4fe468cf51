import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signingMaterial } from '../test/support/keys';
import { EmulatorControlError } from './client';
import { type RunningEmulator, startEmulator } from './server';
import { JWT_BEARER, postTokenForm, signAssertion } from './testing/assertion';

let emulator: RunningEmulator;
let privateKeyPem: string;
let consumerKey: string;
let otherOrgHost: string;

async function freshToken(): Promise<Record<string, string>> {
  const { status, body } = await postTokenForm(emulator.hostUrl('login.salesforce.com'), {
    grant_type: JWT_BEARER,
    assertion: signAssertion(privateKeyPem, {
      iss: consumerKey,
      sub: 'integration@beta.example',
      aud: 'https://login.salesforce.com',
    }),
  });
  expect(status).toBe(200);
  return body as Record<string, string>;
}

const bearer = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });

beforeAll(async () => {
  const key = await signingMaterial('emulator');
  privateKeyPem = key.privateKeyPem;
  emulator = await startEmulator();
  const { control } = emulator;
  const org = await control.createOrg({ name: 'Beta' });
  const other = await control.createOrg({ myDomainHost: 'other.my.salesforce.com' });
  otherOrgHost = other.instanceHost;
  const app = await control.createApp(org.id, {
    certificates: [key.certificatePem],
    permittedUsers: 'admin_approved',
    profiles: ['Integration'],
  });
  consumerKey = app.consumerKey;
  await control.createUser(org.id, {
    username: 'integration@beta.example',
    profile: 'Integration',
  });
});
afterAll(() => emulator.close());

describe('resources for an issued token', () => {
  it('points instance_url at the pod host when the org has no My Domain', async () => {
    const token = await freshToken();
    expect(token.instance_url).toMatch(/\/hosts\/na\d+\.salesforce\.com$/);
  });

  it('serves /services/data/, userinfo and the identity URL to the token, 401/403 otherwise', async () => {
    const token = await freshToken();
    const data = await fetch(
      `${token.instance_url}/services/data/`,
      bearer(token.access_token ?? ''),
    );
    expect(data.status).toBe(200);
    expect(await data.json()).toContainEqual(expect.objectContaining({ version: '62.0' }));
    const userinfo = await fetch(
      `${token.instance_url}/services/oauth2/userinfo`,
      bearer(token.access_token ?? ''),
    );
    expect(await userinfo.json()).toMatchObject({
      preferred_username: 'integration@beta.example',
      sub: token.id,
      active: true,
    });
    const identity = await fetch(token.id ?? '', bearer(token.access_token ?? ''));
    expect(await identity.json()).toMatchObject({
      username: 'integration@beta.example',
      id: token.id,
    });
    const viaParam = await fetch(
      `${token.id}?oauth_token=${encodeURIComponent(token.access_token ?? '')}`,
    );
    expect(viaParam.status).toBe(200);
    const userId = token.id?.split('/').pop();
    const record = await fetch(
      `${token.instance_url}/services/data/v62.0/sobjects/User/${userId}`,
      bearer(token.access_token ?? ''),
    );
    expect(await record.json()).toMatchObject({ Username: 'integration@beta.example' });

    const bad = bearer(`${token.access_token}x`);
    const badData = await fetch(`${token.instance_url}/services/data/`, bad);
    expect(badData.status).toBe(401);
    expect(await badData.json()).toEqual([
      { message: 'Session expired or invalid', errorCode: 'INVALID_SESSION_ID' },
    ]);
    for (const url of [`${token.instance_url}/services/oauth2/userinfo`, token.id ?? '']) {
      const response = await fetch(url, bad);
      expect(response.status).toBe(403);
      expect(await response.text()).toBe('Bad_OAuth_Token');
    }
    const elsewhere = await fetch(
      `${emulator.hostUrl(otherOrgHost)}/services/data/`,
      bearer(token.access_token ?? ''),
    );
    expect(elsewhere.status).toBe(401);
  });

  it('revokes an access token with a form POST', async () => {
    const token = await freshToken();
    const revokeUrl = `${emulator.hostUrl('login.salesforce.com')}/services/oauth2/revoke`;
    const form = { method: 'POST', body: new URLSearchParams({ token: token.access_token ?? '' }) };
    expect((await fetch(revokeUrl, form)).status).toBe(200);
    expect(
      (await fetch(`${token.instance_url}/services/data/`, bearer(token.access_token ?? '')))
        .status,
    ).toBe(401);
    const again = await fetch(revokeUrl, form);
    expect(again.status).toBe(400);
    expect(await again.json()).toEqual({
      error: 'invalid_token',
      error_description: 'Token was invalid',
    });
  });
});

describe('fault injection', () => {
  it('answers unknown_error for the next N requests to one host and path, then recovers', async () => {
    const { control } = emulator;
    await control.addFault({
      host: 'login.salesforce.com',
      path: '/services/oauth2/token',
      count: 2,
    });
    const url = emulator.hostUrl('login.salesforce.com');
    for (let i = 0; i < 2; i++) {
      expect(await postTokenForm(url, {})).toEqual({
        status: 500,
        body: { error: 'unknown_error', error_description: 'retry your request' },
      });
    }
    expect((await freshToken()).access_token).toBeTruthy();
  });

  it('serves the HTML maintenance page with the chosen status until cleared', async () => {
    const { control } = emulator;
    await control.addFault({ host: 'login.salesforce.com', kind: 'maintenance', status: 503 });
    for (let i = 0; i < 2; i++) {
      const response = await fetch(
        `${emulator.hostUrl('login.salesforce.com')}/services/oauth2/token`,
        { method: 'POST' },
      );
      expect(response.status).toBe(503);
      expect(response.headers.get('content-type')).toMatch(/^text\/html/);
      expect(await response.text()).toContain('We are down for maintenance.');
    }
    await control.clearFaults();
    expect((await freshToken()).access_token).toBeTruthy();
  });

  it('adds latency and then answers normally', async () => {
    await emulator.control.addFault({
      host: 'login.salesforce.com',
      kind: 'latency',
      latencyMs: 50,
      count: 1,
    });
    expect((await freshToken()).access_token).toBeTruthy();
  });
});

describe('control API', () => {
  it('rejects bad input with a 4xx and a plain message', async () => {
    const { control } = emulator;
    await expect(control.createOrg({ environment: 'staging' as 'sandbox' })).rejects.toThrow(
      /environment must be one of production, sandbox/,
    );
    await expect(
      control.createOrg({ environment: 'sandbox', myDomainHost: 'x.my.salesforce.com' }),
    ).rejects.toThrow(/sandbox My Domain/);
    await expect(
      control.createOrg({ myDomainHost: 'other.my.salesforce.com' }),
    ).rejects.toMatchObject({ status: 409 });
    await expect(control.updateUser('nobody@x', { active: false })).rejects.toBeInstanceOf(
      EmulatorControlError,
    );
    const org = await control.createOrg();
    await expect(control.createApp(org.id, { certificates: ['not a pem'] })).rejects.toThrow(
      /certificates/,
    );
    const response = await fetch(`${emulator.url}/__control/orgs`, { method: 'POST', body: '[' });
    expect(response.status).toBe(400);
    expect((await fetch(`${emulator.url}/__control/nope`)).status).toBe(404);
  });
});

describe('robustness', () => {
  it('answers odd requests with a 4xx, never a 500', async () => {
    const login = emulator.hostUrl('login.salesforce.com');
    const requests: Array<[string, RequestInit?]> = [
      [`${login}/services/oauth2/token`, { method: 'POST', body: '%%%' }],
      [`${login}/services/oauth2/token`, { method: 'GET' }],
      [
        `${login}/services/oauth2/token`,
        { method: 'POST', body: new URLSearchParams({ grant_type: 'authorization_code' }) },
      ],
      [`${login}/services/oauth2/authorize`],
      [`${login}/services/oauth2/authorize?client_id=${encodeURIComponent(consumerKey)}`],
      [`${login}/services/oauth2/authorize/login`, { method: 'POST', body: 'pending=x' }],
      [`${login}/services/oauth2/authorize/decision`, { method: 'POST', body: '' }],
      [`${login}/services/oauth2/revoke`, { method: 'POST', body: '{}' }],
      [`${login}/id/x/y`],
      [`${login}/services/data/v1.0/`, { headers: { authorization: 'Bearer' } }],
      [`${emulator.url}/hosts/`],
      [`${emulator.url}/__control/orgs/x/apps`, { method: 'POST', body: '{"certificates":"x"}' }],
      [
        `${emulator.url}/__control/faults`,
        { method: 'POST', body: '{"host":"login.salesforce.com","count":-1}' },
      ],
      [`${emulator.url}/__control/clock`, { method: 'PUT', body: '{"offsetMs":"1"}' }],
    ];
    for (const [url, init] of requests) {
      const response = await fetch(url, { redirect: 'manual', ...init });
      expect(response.status, url).toBeGreaterThanOrEqual(400);
      expect(response.status, url).toBeLessThan(500);
    }
  });
});
