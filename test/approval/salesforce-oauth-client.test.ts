import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { inspect } from 'node:util';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  createConsumerSecretReader,
  createSalesforceOAuthClient,
  mayReceiveToken,
} from '../../lambda/adapters/salesforce-oauth-client';
import { BrokerError } from '../../lambda/core/errors';
import type { OrgRecord } from '../../lambda/core/types';

type Route = (request: IncomingMessage, body: string, response: ServerResponse) => void;
let server: Server;
let origin: string;
let routes: Record<string, Route>;
const requests: { path: string; body: string; headers: IncomingMessage['headers'] }[] = [];

function json(response: ServerResponse, status: number, body: unknown) {
  response.writeHead(status, { 'Content-Type': 'application/json' });
  response.end(JSON.stringify(body));
}

beforeAll(async () => {
  server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => {
      body += chunk;
    });
    request.on('end', () => {
      const path = new URL(request.url ?? '/', 'http://x').pathname;
      requests.push({ path, body, headers: request.headers });
      const route = routes[`${request.method} ${path}`];
      if (route) route(request, body, response);
      else json(response, 404, { error: 'not_found' });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(resolve));
});
beforeEach(() => {
  requests.length = 0;
  routes = {
    'POST /services/oauth2/token': (_request, _body, response) =>
      json(response, 200, {
        access_token: '00Dxx!access-token-value',
        refresh_token: '5Aep-refresh-token-value',
        instance_url: origin,
        id: `${origin}/id/00D000000000001/005000000000001`,
        token_type: 'Bearer',
        scope: 'refresh_token api',
        issued_at: '1764331200000',
      }),
    'GET /id/00D000000000001/005000000000001': (request, _body, response) =>
      request.headers.authorization === 'Bearer 00Dxx!access-token-value'
        ? json(response, 200, { username: 'integration@acme.example' })
        : json(response, 403, 'Bad_OAuth_Token'),
  };
});

const org = (overrides: Partial<OrgRecord> = {}): OrgRecord => ({
  orgId: 'acme',
  loginUrl: origin,
  environment: 'production',
  audience: 'https://login.salesforce.com',
  consumerKey: '3MVG9consumer',
  username: 'integration@acme.example',
  signingKeySecretId: 'acme-key',
  tokenTtlSeconds: 1800,
  callers: [],
  ...overrides,
});

const redeem = (
  client: ReturnType<typeof createSalesforceOAuthClient>,
  overrides: Partial<OrgRecord> = {},
) =>
  client.redeemCode({
    org: org(overrides),
    code: 'aPrx.code%3D',
    codeVerifier: 'v'.repeat(43),
    redirectUri: 'https://broker.example.com/prod/oauth/callback',
    deadline: Date.now() + 5000,
  });

const secrets: string[] = [];
const client = createSalesforceOAuthClient({
  timeoutMs: 2000,
  readConsumerSecret: async (id) => {
    secrets.push(id);
    return 'consumer-secret-value';
  },
});

describe('Salesforce OAuth client', () => {
  it('exchanges the code form-encoded with PKCE and the exact redirect URI, then reads the identity', async () => {
    expect(await redeem(client)).toEqual({
      username: 'integration@acme.example',
      grantedScopes: ['refresh_token', 'api'],
      revokeApproval: expect.any(Function),
    });
    const [token, identity] = requests;
    expect(token?.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(Object.fromEntries(new URLSearchParams(token?.body))).toEqual({
      grant_type: 'authorization_code',
      code: 'aPrx.code%3D',
      client_id: '3MVG9consumer',
      redirect_uri: 'https://broker.example.com/prod/oauth/callback',
      code_verifier: 'v'.repeat(43),
    });
    expect(identity?.path).toBe('/id/00D000000000001/005000000000001');
    expect(secrets).toEqual([]);
  });

  it("revokes a stray approval with the refresh token at the org's own revoke endpoint, on request only", async () => {
    let answer = 200;
    routes['POST /services/oauth2/revoke'] = (_request, _body, response) =>
      json(response, answer, answer === 200 ? '' : { error: 'invalid_token' });
    const identity = await redeem(client);
    expect(requests.map((r) => r.path)).not.toContain('/services/oauth2/revoke');
    expect(await identity.revokeApproval()).toBe(true);
    const revoke = requests.at(-1);
    expect(revoke?.path).toBe('/services/oauth2/revoke');
    expect(revoke?.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(Object.fromEntries(new URLSearchParams(revoke?.body))).toEqual({
      token: '5Aep-refresh-token-value',
    });
    answer = 400;
    expect(await identity.revokeApproval()).toBe(false);
  });

  it('sends the client secret only for an org with consumerSecretId', async () => {
    await redeem(client, { consumerSecretId: 'acme-consumer-secret' });
    expect(secrets).toEqual(['acme-consumer-secret']);
    expect(new URLSearchParams(requests[0]?.body).get('client_secret')).toBe(
      'consumer-secret-value',
    );
  });

  it('falls back to userinfo when the identity URL does not answer', async () => {
    delete routes['GET /id/00D000000000001/005000000000001'];
    routes['GET /services/oauth2/userinfo'] = (_request, _body, response) =>
      json(response, 200, { preferred_username: 'admin@acme.example' });
    expect((await redeem(client)).username).toBe('admin@acme.example');
  });

  it('turns a refused code into code_exchange_failed with what Salesforce said', async () => {
    routes['POST /services/oauth2/token'] = (_request, _body, response) =>
      json(response, 400, {
        error: 'invalid_grant',
        error_description: 'expired authorization code',
      });
    const error = await redeem(client).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(BrokerError);
    expect(error).toMatchObject({
      category: 'code_exchange_failed',
      salesforce: {
        status: 400,
        error: 'invalid_grant',
        error_description: 'expired authorization code',
      },
    });
    expect(JSON.stringify(error)).not.toContain('aPrx.code');
  });

  it('fails as code_exchange_failed when no identity source names the user', async () => {
    routes['GET /id/00D000000000001/005000000000001'] = (_request, _body, response) =>
      json(response, 403, 'Bad_OAuth_Token');
    await expect(redeem(client)).rejects.toMatchObject({ category: 'code_exchange_failed' });
  });

  it('times out as code_exchange_failed', async () => {
    routes['POST /services/oauth2/token'] = () => undefined;
    const fast = createSalesforceOAuthClient({
      timeoutMs: 200,
      readConsumerSecret: async () => '',
    });
    await expect(redeem(fast)).rejects.toMatchObject({
      category: 'code_exchange_failed',
      salesforce: { status: 0 },
    });
  });

  it('reads a consumer secret from Secrets Manager, bare or as JSON', async () => {
    const values: Record<string, string> = {
      bare: 'bare-secret',
      json: JSON.stringify({ consumerSecret: 'json-secret' }),
      // JSON.parse's message would quote `hunter2-se`.
      broken: '{"consumerSecret": hunter2-secret}',
    };
    routes['POST /'] = (request, body, response) => {
      expect(request.headers['x-amz-target']).toBe('secretsmanager.GetSecretValue');
      const { SecretId } = JSON.parse(body) as { SecretId: string };
      response.writeHead(200, { 'Content-Type': 'application/x-amz-json-1.1' });
      response.end(JSON.stringify({ Name: SecretId, SecretString: values[SecretId] }));
    };
    const sm = new SecretsManagerClient({
      endpoint: origin,
      region: 'eu-west-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    const read = createConsumerSecretReader(sm);
    expect(await read('bare')).toBe('bare-secret');
    expect(await read('json')).toBe('json-secret');

    const readError = (await read('broken').catch((caught: unknown) => caught)) as Error;
    expect(readError.message).toContain('not valid JSON');
    expect(readError.cause).toBeUndefined();
    expect(inspect(readError, { depth: 10 })).not.toContain('hunter2');
    const reader = createSalesforceOAuthClient({ timeoutMs: 2000, readConsumerSecret: read });
    const redeemError = await redeem(reader, { consumerSecretId: 'broken' }).catch(
      (caught: unknown) => caught,
    );
    expect(redeemError).toMatchObject({ category: 'code_exchange_failed' });
    expect(inspect(redeemError, { depth: 10 })).not.toContain('hunter2');
    expect(requests.some((request) => request.path === '/services/oauth2/token')).toBe(false);
    sm.destroy();
  });

  it('does not send the token to a host the token response names outside Salesforce', async () => {
    // 127.0.0.2 stands in for a foreign host: not the loopback login host, and never dialled.
    const foreign = 'https://127.0.0.2:9';
    routes['POST /services/oauth2/token'] = (_request, _body, response) =>
      json(response, 200, {
        access_token: '00Dxx!access-token-value',
        instance_url: foreign,
        id: `${foreign}/id/00D000000000001/005000000000001`,
        token_type: 'Bearer',
        scope: 'refresh_token api',
      });
    const error = (await redeem(client).catch((caught: unknown) => caught)) as BrokerError;
    expect(error).toMatchObject({ category: 'code_exchange_failed' });
    expect(error.message).toContain('127.0.0.2:9');
    expect(error.message).toContain('not sent');
    expect(requests.map((request) => request.path)).toEqual(['/services/oauth2/token']);
  });

  it('gives each identity request what is left before the deadline, and starts none after it', async () => {
    routes['GET /id/00D000000000001/005000000000001'] = () => undefined;
    routes['GET /services/oauth2/userinfo'] = (_request, _body, response) =>
      json(response, 200, { preferred_username: 'admin@acme.example' });
    const error = await client
      .redeemCode({
        org: org(),
        code: 'aPrx.code%3D',
        codeVerifier: 'v'.repeat(43),
        redirectUri: 'https://broker.example.com/prod/oauth/callback',
        deadline: Date.now() + 600,
      })
      .catch((caught: unknown) => caught);
    expect(error).toMatchObject({ category: 'code_exchange_failed' });
    expect(requests.map((request) => request.path)).not.toContain('/services/oauth2/userinfo');
  });

  it('reads token and identity bodies only up to the cap', async () => {
    const padding = 'x'.repeat(100_000);
    routes['GET /id/00D000000000001/005000000000001'] = (_request, _body, response) =>
      json(response, 200, { padding, username: 'integration@acme.example' });
    await expect(redeem(client)).rejects.toMatchObject({ category: 'code_exchange_failed' });

    const fallback = routes['POST /services/oauth2/token'] as Route;
    routes['POST /services/oauth2/token'] = (request, body, response) =>
      fallback(request, body, {
        writeHead: () => response.writeHead(200, { 'Content-Type': 'application/json' }),
        end: (text: string) => response.end(`${text.slice(0, -1)},"padding":"${padding}"}`),
      } as unknown as ServerResponse);
    routes['GET /id/00D000000000001/005000000000001'] = (_request, _body, response) =>
      json(response, 200, { username: 'integration@acme.example' });
    await expect(redeem(client)).rejects.toMatchObject({ category: 'code_exchange_failed' });
  });
});

describe('mayReceiveToken', () => {
  it.each([
    ['https://login.salesforce.com/id/00D/005', 'https://acme.my.salesforce.com', true],
    ['https://acme.my.salesforce.com', 'https://acme.my.salesforce.com', true],
    ['https://acme.lightning.force.com', 'https://login.salesforce.com', true],
    ['https://acme.my.site.com', 'https://login.salesforce.com', true],
    ['https://acme.my.salesforce.mil', 'https://login.salesforce.mil', true],
    ['https://na1.cloudforce.com', 'https://login.salesforce.com', true],
    ['https://login.example.com/id/1', 'https://login.example.com', true],
    ['http://127.0.0.1:1234/hosts/login.salesforce.com/id/1', 'http://127.0.0.1:1234', true],
    ['http://localhost:9/x', 'http://127.0.0.1:1234', true],
    ['http://login.salesforce.com/id/1', 'https://login.salesforce.com', false],
    ['https://evil.example/id/1', 'https://login.salesforce.com', false],
    ['https://salesforce.com.evil.example', 'https://login.salesforce.com', false],
    ['https://evilsalesforce.com', 'https://login.salesforce.com', false],
    ['https://user:pw@acme.my.salesforce.com', 'https://login.salesforce.com', false],
    ['https://login.example.com:8443/id/1', 'https://login.example.com', false],
    ['http://127.0.0.1:9/id/1', 'https://login.salesforce.com', false],
    ['https://login.salesforce.com/id/1', 'http://127.0.0.1:1234', false],
    ['not a url', 'https://login.salesforce.com', false],
  ])('%s (login %s): %s', (url, loginUrl, expected) => {
    expect(mayReceiveToken(url, loginUrl)).toBe(expected);
  });
});
