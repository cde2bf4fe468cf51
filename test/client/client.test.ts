/**
 * The client against the local gateway with signature checking on and a scripted token handler
 * behind it: caching and single flight, Retry-After within the deadline, typed errors, and what
 * invalidate does to requests already in flight. The handler is a stand-in so each broker answer
 * can be chosen; test/client/local-stack.test.ts runs the client against the real broker.
 */
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  createTokenBrokerClient,
  isTokenBrokerError,
  type TokenBrokerClientOptions,
  TokenBrokerError,
} from '../../client/index';
import { type LocalGateway, startGateway } from '../../local/gateway';
import { createLocalCallerKey } from '../../local/sigv4';

const REGION = 'eu-west-1';
const ARN = 'arn:aws:sts::123456789012:assumed-role/Fulfilment/client-test';
const key = createLocalCallerKey(ARN);

type Script = (
  event: APIGatewayProxyEvent,
) => APIGatewayProxyResult | Promise<APIGatewayProxyResult>;
let script: Script;
let events: APIGatewayProxyEvent[] = [];
let gateway: LocalGateway;

function grant(token: string, expiresInMs = 30 * 60_000) {
  return {
    statusCode: 200,
    headers: { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' },
    body: JSON.stringify({
      access_token: token,
      instance_url: 'https://acme.my.salesforce.com',
      id: 'https://login.salesforce.com/id/00D/005',
      token_type: 'Bearer',
      expires_at: new Date(Date.now() + expiresInMs).toISOString(),
      org_id: 'acme',
    }),
  };
}

function unavailable(retryAfter: string) {
  return {
    statusCode: 503,
    headers: { 'Content-Type': 'application/json', 'Retry-After': retryAfter },
    body: JSON.stringify({
      error: 'salesforce_unavailable',
      message: 'Salesforce answered 503',
      retryable: true,
      request_id: 'req-503',
      remediation: { summary: 'Salesforce is unavailable', steps: ['Retry after Retry-After'] },
      salesforce: { status: 503 },
    }),
  };
}

function client(options: Partial<TokenBrokerClientOptions> = {}) {
  return createTokenBrokerClient({
    apiUrl: gateway.url,
    region: REGION,
    credentials: key,
    ...options,
  });
}

beforeAll(async () => {
  gateway = await startGateway({
    sigv4: { region: REGION, keys: [key] },
    handlers: {
      token: async (event) => {
        events.push(event);
        return script(event);
      },
    },
  });
});
afterAll(() => gateway.close());
beforeEach(() => {
  events = [];
  script = () => grant('token-1');
});

describe('token broker client', () => {
  it('signs with the SDK signer: the gateway reports the key owner as caller', async () => {
    const token = await client().getToken('acme');
    expect(token.access_token).toBe('token-1');
    expect(events).toHaveLength(1);
    expect(events[0]?.requestContext.identity.userArn).toBe(ARN);
    expect(events[0]?.httpMethod).toBe('POST');
    expect(events[0]?.body).toBeNull();
  });

  it('makes one broker request for 100 concurrent getToken calls, then serves the cache', async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    script = async () => {
      await gate;
      return grant('token-shared');
    };
    const broker = client();
    const calls = Array.from({ length: 100 }, () => broker.getToken('acme'));
    await new Promise((resolve) => setTimeout(resolve, 50));
    release();
    const tokens = await Promise.all(calls);
    expect(new Set(tokens.map((token) => token.access_token))).toEqual(new Set(['token-shared']));
    expect(events).toHaveLength(1);
    await broker.getToken('acme');
    expect(events).toHaveLength(1);
  });

  it('fetches again shortly before expires_at, and sends forceRefresh in the body', async () => {
    let now = Date.now();
    const broker = client({ clock: () => now, refreshBeforeExpiryMs: 60_000 });
    script = () => grant('token-a', 5 * 60_000);
    await broker.getToken('acme');
    now += 3 * 60_000;
    expect((await broker.getToken('acme')).access_token).toBe('token-a');
    expect(events).toHaveLength(1);
    now += 61_000;
    script = () => grant('token-b', 5 * 60_000);
    expect((await broker.getToken('acme')).access_token).toBe('token-b');
    expect(events).toHaveLength(2);
    await broker.getToken('acme', { forceRefresh: true });
    expect(events).toHaveLength(3);
    expect(JSON.parse(events[2]?.body ?? '{}')).toEqual({ forceRefresh: true });
  });

  it('honours Retry-After on a 503 within the deadline', async () => {
    script = () => (events.length === 1 ? unavailable('1') : grant('after-wait'));
    const started = Date.now();
    const token = await client().getToken('acme', { deadline: Date.now() + 5000 });
    expect(token.access_token).toBe('after-wait');
    expect(events).toHaveLength(2);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
  });

  it('fails at once with the typed broker error when Retry-After would pass the deadline', async () => {
    script = () => unavailable('30');
    const started = Date.now();
    const error = await client()
      .getToken('acme', { deadline: Date.now() + 2000 })
      .catch((caught: unknown) => caught);
    expect(Date.now() - started).toBeLessThan(1500);
    expect(isTokenBrokerError(error)).toBe(true);
    expect(error).toMatchObject({
      name: 'TokenBrokerError',
      category: 'salesforce_unavailable',
      retryable: true,
      status: 503,
      requestId: 'req-503',
      retryAfterSeconds: 30,
      remediation: { summary: 'Salesforce is unavailable' },
      salesforce: { status: 503 },
    });
    expect(events).toHaveLength(1);
  });

  it('turns a non-retryable error body into a TokenBrokerError without retrying', async () => {
    script = () => ({
      statusCode: 502,
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({
        error: 'consumer_not_approved',
        message: "user hasn't approved this consumer",
        retryable: false,
        request_id: 'req-502',
        remediation: {
          summary: 'Approve the app',
          steps: ['Open the approval link'],
          approvalLink: 'https://broker.example/oauth/authorize?org=acme',
        },
        salesforce: { status: 400, error: 'invalid_grant' },
      }),
    });
    const error = (await client()
      .getToken('acme')
      .catch((caught: unknown) => caught)) as TokenBrokerError;
    expect(error).toBeInstanceOf(TokenBrokerError);
    expect(error.category).toBe('consumer_not_approved');
    expect(error.retryable).toBe(false);
    expect(error.requestId).toBe('req-502');
    expect(error.remediation?.approvalLink).toBe('https://broker.example/oauth/authorize?org=acme');
    expect(events).toHaveLength(1);
  });

  it('invalidate sends DELETE, and a token in flight before it is not cached', async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    script = async (event) => {
      if (event.httpMethod === 'DELETE') return { statusCode: 204, body: '' };
      if (events.filter((e) => e.httpMethod === 'POST').length === 1) {
        await gate;
        return grant('rejected');
      }
      return grant('fresh');
    };
    const broker = client();
    const stale = broker.getToken('acme');
    await new Promise((resolve) => setTimeout(resolve, 50));
    await broker.invalidate('acme');
    release();
    expect((await stale).access_token).toBe('rejected');
    expect((await broker.getToken('acme')).access_token).toBe('fresh');
    expect(events.map((event) => event.httpMethod)).toEqual(['POST', 'DELETE', 'POST']);
  });

  it('status returns the body; bad org ids and dead endpoints are typed errors', async () => {
    script = () => ({ statusCode: 200, body: JSON.stringify({ org: { orgId: 'acme' } }) });
    expect(await client().status('acme')).toMatchObject({ org: { orgId: 'acme' } });
    expect(events[0]?.httpMethod).toBe('GET');
    await expect(client().getToken('Not/An/Org')).rejects.toMatchObject({
      category: 'invalid_request',
      status: 0,
    });
    const dead = createTokenBrokerClient({
      apiUrl: 'http://127.0.0.1:9',
      region: REGION,
      credentials: key,
      maxAttempts: 1,
    });
    await expect(dead.getToken('acme')).rejects.toMatchObject({
      category: 'network_error',
      retryable: true,
    });
  });

  it('reports a wrong secret as the gateway 403, not retried', async () => {
    const wrong = client({ credentials: { ...key, secretAccessKey: 'not-the-secret' } });
    const error = (await wrong
      .getToken('acme')
      .catch((caught: unknown) => caught)) as TokenBrokerError;
    expect(error).toMatchObject({
      category: 'caller_not_authorized',
      status: 403,
      retryable: false,
    });
    expect(error.message).toMatch(/signature we calculated does not match/);
    expect(error.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(events).toHaveLength(0);
  });

  it('takes the region from an execute-api host name', () => {
    const broker = createTokenBrokerClient({
      apiUrl: 'https://abc123.execute-api.ap-southeast-2.amazonaws.com/prod/',
      credentials: key,
    });
    expect(broker.region).toBe('ap-southeast-2');
    expect(broker.apiUrl).toBe('https://abc123.execute-api.ap-southeast-2.amazonaws.com/prod');
  });

  it('is importable by the package entries callers use', async () => {
    const entry = await import('salesforce-token-broker/client');
    const jsforceEntry = await import('salesforce-token-broker/client/jsforce');
    expect(entry.createTokenBrokerClient).toBe(createTokenBrokerClient);
    expect(typeof jsforceEntry.createBrokerConnection).toBe('function');
  });
});
