/**
 * The client, curl and jsforce against the whole local stack (the real token function behind the
 * signature-checking local gateway, the emulator, dynalite) over loopback: a signed caller gets a
 * token, unsigned and badly signed requests get API Gateway's own 403, and a jsforce Connection
 * recovers from a revoked token through exactly one invalidate and one getToken.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTokenBrokerClient, type TokenBrokerClient } from '../../client/index';
import { createBrokerConnection } from '../../client/jsforce';
import { createRequestSigner } from '../../client/signer';
import { EmulatorClient } from '../../emulator/client';
import { type LocalStack, startLocalStack } from '../../local/stack';
import { cli } from '../cli/run-cli';

let stack: LocalStack;
let dataDir: string;
let emulator: EmulatorClient;
let broker: TokenBrokerClient;

function caller() {
  const credentials = stack.caller;
  if (!credentials) throw new Error('the local stack wrote no caller credentials');
  return credentials;
}

async function signedFetch(
  path: string,
  options: {
    method?: string;
    region?: string;
    service?: string;
    secret?: string;
    signingDate?: Date;
    tamper?: (headers: Record<string, string>, url: URL) => URL;
    body?: string;
  } = {},
) {
  const { accessKeyId, secretAccessKey } = caller();
  const sign = createRequestSigner(options.region ?? stack.region, {
    accessKeyId,
    secretAccessKey: options.secret ?? secretAccessKey,
  });
  let url = new URL(`${stack.publicBaseUrl}${path}`);
  const method = options.method ?? 'POST';
  const headers = await sign({
    method,
    url,
    body: options.body,
    ...(options.signingDate ? { signingDate: options.signingDate } : {}),
  });
  if (options.service) {
    headers.authorization = (headers.authorization ?? '').replace(
      '/execute-api/',
      `/${options.service}/`,
    );
  }
  if (options.tamper) url = options.tamper(headers, url);
  const response = await fetch(url, {
    method,
    headers,
    ...(options.body === undefined ? {} : { body: options.body }),
  });
  return {
    status: response.status,
    headers: response.headers,
    body: (await response.json()) as Record<string, unknown>,
  };
}

function expectGateway403(answer: Awaited<ReturnType<typeof signedFetch>>, message: RegExp) {
  expect(answer.status).toBe(403);
  expect(answer.headers.get('cache-control')).toBe('no-store');
  expect(answer.body).toEqual({
    error: 'caller_not_authorized',
    message: expect.stringMatching(message),
    retryable: false,
    request_id: expect.stringMatching(/^[0-9a-f-]{36}$/),
  });
}

beforeAll(async () => {
  // Quiet as npm start is: no EMF blobs or SDK notices between the test results.
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  dataDir = await mkdtemp(join(tmpdir(), 'token-broker-client-'));
  stack = await startLocalStack({
    dataDir,
    ports: { gateway: 0, emulator: 0 },
    print: () => undefined,
    // The revocation test invalidates a token obtained a moment earlier.
    minTokenAgeSeconds: 0,
  });
  emulator = new EmulatorClient(stack.emulatorUrl);
  await emulator.approve(stack.demo.integrationUsername, stack.demo.consumerKey, [
    'api',
    'refresh_token',
  ]);
  broker = createTokenBrokerClient({
    apiUrl: stack.publicBaseUrl,
    region: stack.region,
    credentials: caller(),
  });
});

afterAll(async () => {
  await stack?.close();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

describe('the client against the local stack', () => {
  it('writes caller credentials for the role the demo org lists', async () => {
    expect(caller()).toMatchObject({
      accessKeyId: expect.stringMatching(/^ASIA[A-Z2-7]{16}$/),
      secretAccessKey: expect.stringMatching(/^\S{40}$/),
      arn: stack.callerArn,
    });
    const status = await broker.status('demo');
    expect(status.org.callers).toEqual(['arn:aws:iam::123456789012:role/LocalDeveloper']);
  });

  it('gets a token through the signature-checking gateway, then from its cache', async () => {
    const user = stack.demo.integrationUsername;
    const before = await emulator.countTokenExchanges(user);
    const grant = await broker.getToken('demo');
    expect(grant).toMatchObject({ org_id: 'demo', token_type: 'Bearer' });
    expect(grant.instance_url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/hosts\//);
    expect(await broker.getToken('demo')).toBe(grant);
    expect(await emulator.countTokenExchanges(user)).toBe(before + 1);
  });

  it('refuses unsigned, tampered, wrong-scope and stale requests with the gateway 403', async () => {
    const unsigned = await fetch(`${stack.publicBaseUrl}/orgs/demo/token`, { method: 'POST' });
    expectGateway403(
      {
        status: unsigned.status,
        headers: unsigned.headers,
        body: (await unsigned.json()) as Record<string, unknown>,
      },
      /^Missing Authentication Token$/,
    );
    expectGateway403(
      await signedFetch('/orgs/demo/token', {
        tamper: (_headers, url) => new URL(url.toString().replace('/demo/', '/demo2/')),
      }),
      /signature we calculated does not match/,
    );
    expectGateway403(
      await signedFetch('/orgs/demo/token', {
        body: '{"forceRefresh":false}',
        tamper: (headers, url) => {
          headers['x-amz-content-sha256'] =
            'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
          return url;
        },
      }),
      /x-amz-content-sha256|signature we calculated/,
    );
    expectGateway403(
      await signedFetch('/orgs/demo/token', { secret: 'x'.repeat(40) }),
      /signature we calculated does not match/,
    );
    expectGateway403(
      await signedFetch('/orgs/demo/token', { region: 'us-east-1' }),
      /scoped to a valid region, not 'us-east-1'/,
    );
    expectGateway403(
      await signedFetch('/orgs/demo/token', { service: 'lambda' }),
      /scoped to correct service: 'execute-api'/,
    );
    expectGateway403(
      await signedFetch('/orgs/demo/token', { signingDate: new Date(Date.now() - 16 * 60_000) }),
      /^Signature expired: \d{8}T\d{6}Z is now earlier than/,
    );
    const fine = await signedFetch('/orgs/demo/status', {
      method: 'GET',
      signingDate: new Date(Date.now() - 14 * 60_000),
    });
    expect(fine.status).toBe(200);
  });

  it('leaves the OAuth routes unauthenticated', async () => {
    const page = await fetch(`${stack.publicBaseUrl}/oauth/authorize?org=demo`, {
      redirect: 'manual',
    });
    expect(page.status).not.toBe(403);
  });

  it('accepts curl --aws-sigv4 with the printed key, as the walkthrough shows it', async () => {
    const { accessKeyId, secretAccessKey } = caller();
    const { stdout } = await promisify(execFile)('curl', [
      '-s',
      '-X',
      'POST',
      '--aws-sigv4',
      `aws:amz:${stack.region}:execute-api`,
      '--user',
      `${accessKeyId}:${secretAccessKey}`,
      `${stack.publicBaseUrl}/orgs/demo/token`,
    ]);
    expect(JSON.parse(stdout)).toMatchObject({ org_id: 'demo' });
  });

  it('gives jsforce the broker token; after a revocation one invalidate and one getToken recover', async () => {
    const calls = { getToken: 0, invalidate: 0 };
    const counted: TokenBrokerClient = {
      apiUrl: broker.apiUrl,
      region: broker.region,
      getToken: (orgId, options) => {
        calls.getToken += 1;
        return broker.getToken(orgId, options);
      },
      invalidate: (orgId, options) => {
        calls.invalidate += 1;
        return broker.invalidate(orgId, options);
      },
      status: (orgId, options) => broker.status(orgId, options),
    };
    const connection = await createBrokerConnection({
      client: counted,
      orgId: 'demo',
      version: '62.0',
    });
    const first = await broker.getToken('demo');
    expect(connection.accessToken).toBe(first.access_token);
    const resources = await connection.request<Record<string, string>>('/services/data/v62.0/');
    expect(resources).toMatchObject({ sobjects: '/services/data/v62.0/sobjects' });
    expect(calls).toEqual({ getToken: 1, invalidate: 0 });

    const revoked = await fetch(`${first.instance_url}/services/oauth2/revoke`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: first.access_token }),
    });
    expect(revoked.status).toBe(200);

    const again = await connection.request<Record<string, string>>('/services/data/v62.0/');
    expect(again).toMatchObject({ sobjects: '/services/data/v62.0/sobjects' });
    expect(calls).toEqual({ getToken: 2, invalidate: 1 });
    expect(connection.accessToken).not.toBe(first.access_token);
    expect(connection.accessToken).toBe((await broker.getToken('demo')).access_token);
  });

  it('token-broker verify --local goes through the token API as a caller; --via direct does not', async () => {
    const stackFile = join(dataDir, 'stack.json');
    const viaApi = await cli(['verify', '--org', 'demo', '--local', '--stack-file', stackFile]);
    expect(viaApi.stderr).toBe('');
    expect(viaApi.code).toBe(0);
    expect(viaApi.stdout).toMatch(
      /^OK {2}org demo: JWT exchange as integration@demo\.example succeeded/,
    );
    const afterApi = await broker.status('demo');
    expect(afterApi.lastExchange?.requestId).toMatch(/^[0-9a-f-]{36}$/);

    const direct = await cli([
      'verify',
      '--org',
      'demo',
      '--local',
      '--stack-file',
      stackFile,
      '--via',
      'direct',
      '--json',
    ]);
    expect(direct.code).toBe(0);
    expect(direct.json()).toMatchObject({ ok: true, orgId: 'demo' });
    expect((await broker.status('demo')).lastExchange?.requestId).toMatch(/^cli-/);
    expect((await cli(['verify', '--org', 'demo', '--via', 'nope'])).code).toBe(2);
  });
});
