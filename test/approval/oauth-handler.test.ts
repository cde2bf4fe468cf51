import { Logger } from '@aws-lambda-powertools/logger';
import type { APIGatewayProxyResult } from 'aws-lambda';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { selectBindingCookiePolicy } from '../../lambda/core/cookies';
import { ConfigError } from '../../lambda/handlers/env';
import { readOAuthConfig } from '../../lambda/handlers/oauth-config';
import { createOAuthHandler } from '../../lambda/handlers/oauth-handler';
import { createApprovalService } from '../../lambda/services/approval-service';
import { buildRestEvent, createLambdaContext } from '../../local/rest-event';
import { RecordingPublisher } from '../support/events';
import { createMemoryApprovalLinks } from '../support/in-memory-ports';
import { type CapturedOutput, captureOutput } from '../support/logs';

let output: CapturedOutput;
beforeEach(() => {
  output = captureOutput();
});
afterEach(() => output.stop());

/** The structured log lines written so far at `level`. */
const logLines = (level: string) => output.entries().filter((entry) => entry.level === level);

const org = {
  orgId: 'acme',
  loginUrl: 'https://acme.my.salesforce.com',
  environment: 'production' as const,
  audience: 'https://login.salesforce.com',
  consumerKey: '3MVG9consumer',
  username: 'integration@acme.example',
  signingKeySecretId: 'acme-key',
  tokenTtlSeconds: 1800,
  callers: [],
};

function createHandler(baseUrl = 'https://broker.example.com/prod') {
  const states = new Map<string, never>();
  const logger = new Logger({ serviceName: 'salesforce-token-broker' });
  const links = createMemoryApprovalLinks({ publicBaseUrl: baseUrl });
  const service = createApprovalService({
    orgs: { getOrg: async (id) => (id === 'acme' ? org : undefined) },
    states: {
      save: async (record) => void states.set(record.stateHash, record as never),
      consume: async (hash) => {
        const record = states.get(hash);
        states.delete(hash);
        return record;
      },
    },
    codes: {
      redeemCode: async () => ({
        username: org.username,
        grantedScopes: ['api', 'refresh_token'],
        revokeApproval: async () => {
          throw new Error("the integration user's approval must never be revoked");
        },
      }),
    },
    tokens: {
      exchangeFresh: async () => {
        throw new Error('not used in these tests');
      },
    },
    events: new RecordingPublisher(),
    eventContext: { source: 'urn:test', clock: Date.now, newId: () => crypto.randomUUID() },
    clock: Date.now,
    logger,
    publicBaseUrl: baseUrl,
    links,
    stateTtlSeconds: 600,
  });
  const handler = createOAuthHandler({
    service,
    cookiePolicy: selectBindingCookiePolicy(baseUrl),
    logger,
  });
  return { handler, links };
}

async function get(
  handler: ReturnType<typeof createHandler>['handler'],
  resource: string,
  query: Record<string, string | string[]>,
  headers: Record<string, string> = {},
): Promise<APIGatewayProxyResult> {
  const event = buildRestEvent({ method: 'GET', path: resource, resource, query, headers });
  return handler(event, createLambdaContext());
}

/** The query string of a freshly minted link for `orgId`. */
async function linkQuery(
  links: ReturnType<typeof createHandler>['links'],
  orgId: string,
): Promise<Record<string, string>> {
  return Object.fromEntries(new URL(await links.mint(orgId)).searchParams);
}

const CLEARED_COOKIE =
  '__Host-token-broker-approval=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Lax';

const SECURITY_HEADERS = {
  'Strict-Transport-Security': 'max-age=31536000',
  'Cache-Control': 'no-store',
  'Referrer-Policy': 'no-referrer',
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
};

describe('OAuth handler', () => {
  it('redirects with the binding cookie and the page headers', async () => {
    const { handler, links } = createHandler();
    const result = await get(handler, '/oauth/authorize', await linkQuery(links, 'acme'));
    expect(result.statusCode).toBe(302);
    expect(result.headers).toMatchObject(SECURITY_HEADERS);
    expect(String(result.headers?.Location)).toMatch(
      /^https:\/\/acme\.my\.salesforce\.com\/services\/oauth2\/authorize\?/,
    );
    expect(result.multiValueHeaders?.['Set-Cookie']?.[0]).toMatch(
      /^__Host-token-broker-approval=[A-Za-z0-9_-]{43}; Path=\/; Max-Age=600; HttpOnly; Secure; SameSite=Lax$/,
    );
  });

  it('renders the neutral link page for an unknown org with the security headers and a strict CSP', async () => {
    const { handler, links } = createHandler();
    const result = await get(handler, '/oauth/authorize', await linkQuery(links, 'nope'));
    expect(result.statusCode).toBe(400);
    expect(result.headers).toMatchObject({
      ...SECURITY_HEADERS,
      'Content-Type': 'text/html; charset=utf-8',
    });
    expect(String(result.headers?.['Content-Security-Policy'])).toContain("frame-ancestors 'none'");
    expect(result.body).toContain('This approval link cannot be used');
    expect(result.body).not.toContain('nope');
    expect(result.multiValueHeaders).toBeUndefined();
  });

  const hostile = '"><script>alert(1)</script>';
  it.each([
    ['/oauth/authorize', {}],
    ['/oauth/authorize', { org: hostile }],
    ['/oauth/authorize', { org: ['acme', 'acme'] }],
    ['/oauth/authorize', { org: 'a'.repeat(5000) }],
    ['/oauth/callback', {}],
    ['/oauth/callback', { code: 'c' }],
    ['/oauth/callback', { code: 'c', state: hostile }],
    ['/oauth/callback', { error: hostile, error_description: hostile, state: hostile }],
    ['/oauth/callback', { code: ['c', 'd'], state: 'x' }],
    ['/oauth/callback', { code: 'c'.repeat(100_000), state: 's' }],
    ['/oauth/callback', { code: 'c', error: 'access_denied', state: 's' }],
    ['/oauth/callback', { code: 'c', state: 'A'.repeat(43) }],
  ])('answers %s %j with an escaped 4xx page', async (resource, query) => {
    const { handler } = createHandler();
    const result = await get(handler, resource, query as Record<string, string>);
    expect(result.statusCode).toBeGreaterThanOrEqual(400);
    expect(result.statusCode).toBeLessThan(500);
    expect(result.headers).toMatchObject(SECURITY_HEADERS);
    expect(result.body).not.toContain('<script>');
    expect(result.body).toMatch(/^<!doctype html>/);
    expect(logLines('ERROR')).toEqual([]);
  });

  it('rejects other methods and paths with pages, not errors', async () => {
    const { handler } = createHandler();
    const post = await handler(
      buildRestEvent({ method: 'POST', path: '/oauth/callback', resource: '/oauth/callback' }),
      createLambdaContext(),
    );
    expect(post.statusCode).toBe(405);
    const other = await get(handler, '/elsewhere', {});
    expect(other.statusCode).toBe(404);
  });

  it('renders a generic 500 page without internals when a dependency throws', async () => {
    const { handler, links } = createHandler();
    const started = await get(handler, '/oauth/authorize', await linkQuery(links, 'acme'));
    const cookie = String(started.multiValueHeaders?.['Set-Cookie']?.[0]).split(';')[0] as string;
    const state = new URL(String(started.headers?.Location)).searchParams.get('state') as string;
    const result = await get(handler, '/oauth/callback', { code: 'c', state }, { Cookie: cookie });
    expect(result.statusCode).toBe(500);
    expect(result.body).toContain('Something went wrong');
    expect(result.body).not.toContain('not used in these tests');
    expect(result.multiValueHeaders?.['Set-Cookie']).toEqual([CLEARED_COOKIE]);
    expect(logLines('ERROR')).toHaveLength(1);
  });

  it('clears the binding cookie, with the same attributes, on every callback answer', async () => {
    const { handler, links } = createHandler();
    const started = await get(handler, '/oauth/authorize', await linkQuery(links, 'acme'));
    const cookie = String(started.multiValueHeaders?.['Set-Cookie']?.[0]).split(';')[0] as string;
    const state = new URL(String(started.headers?.Location)).searchParams.get('state') as string;
    const answers = [
      await get(handler, '/oauth/callback', { error: 'access_denied', state }, { Cookie: cookie }),
      await get(handler, '/oauth/callback', { code: 'c', state }, { Cookie: cookie }),
      await get(handler, '/oauth/callback', { code: 'c' }),
      await get(handler, '/oauth/callback', { code: ['c', 'd'], state }),
    ];
    expect(answers.map((answer) => answer.statusCode)).toEqual([400, 400, 400, 400]);
    for (const answer of answers) {
      expect(answer.multiValueHeaders?.['Set-Cookie']).toEqual([CLEARED_COOKIE]);
    }

    const local = createHandler('http://127.0.0.1:8080').handler;
    const plain = await get(local, '/oauth/callback', { code: 'c' });
    expect(plain.multiValueHeaders?.['Set-Cookie']).toEqual([
      'token-broker-approval=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax',
    ]);
  });

  it('clears the binding cookie on the out-of-time page of a callback too', async () => {
    const handler = createOAuthHandler({
      service: {
        start: () => new Promise(() => undefined),
        complete: () => new Promise(() => undefined),
      },
      cookiePolicy: selectBindingCookiePolicy('https://broker.example.com/prod'),
      logger: new Logger({ serviceName: 'salesforce-token-broker' }),
    });
    const call = (resource: string) =>
      handler(
        buildRestEvent({ method: 'GET', path: resource, resource, query: { org: 'acme' } }),
        createLambdaContext({ timeoutMs: 300 }),
      );
    const callback = await call('/oauth/callback');
    expect(callback.statusCode).toBe(503);
    expect(callback.multiValueHeaders?.['Set-Cookie']).toEqual([CLEARED_COOKIE]);
    const authorize = await call('/oauth/authorize');
    expect(authorize.statusCode).toBe(503);
    expect(authorize.multiValueHeaders).toBeUndefined();
  });

  it('logs with the Lambda context and the request id, like the token function', async () => {
    const { handler } = createHandler();
    const context = createLambdaContext({ functionName: 'token-broker-oauth' });
    const event = buildRestEvent({
      method: 'GET',
      path: '/oauth/callback',
      resource: '/oauth/callback',
      query: { code: 'c' },
    });
    await handler(event, context);
    const [line] = logLines('INFO').filter((entry) => entry.message === 'approval outcome');
    expect(line).toMatchObject({
      function_name: 'token-broker-oauth',
      function_request_id: context.awsRequestId,
      cold_start: expect.any(Boolean),
      request_id: event.requestContext.requestId,
      outcome: 'state_invalid',
    });
  });
});

describe('OAuth config', () => {
  const env = {
    TABLE_NAME: 't',
    PUBLIC_BASE_URL: 'https://broker.example.com/prod/',
    EVENTS_TOPIC_ARN: 'arn:aws:sns:eu-west-1:123456789012:events',
    APPROVAL_LINK_KEY_ID: 'alias/approval-links',
    TOKEN_FUNCTION_NAME: 'broker-token',
  };
  it('reads defaults and normalises the base URL', () => {
    expect(readOAuthConfig(env)).toEqual({
      tableName: 't',
      publicBaseUrl: 'https://broker.example.com/prod',
      stateTtlSeconds: 600,
      salesforceTimeoutMs: 5000,
      approvalLinks: { keyId: 'alias/approval-links', lifetimeSeconds: 604_800 },
      tokenFunctionName: 'broker-token',
    });
  });
  it('refuses a missing variable, a bad TTL and a plain-http public URL', () => {
    expect(() => readOAuthConfig({ ...env, TABLE_NAME: '' })).toThrow(ConfigError);
    expect(() => readOAuthConfig({ ...env, APPROVAL_LINK_KEY_ID: '' })).toThrow(
      /APPROVAL_LINK_KEY_ID/,
    );
    expect(() => readOAuthConfig({ ...env, APPROVAL_LINK_TTL_SECONDS: '60' })).toThrow(
      /APPROVAL_LINK_TTL_SECONDS/,
    );
    expect(() => readOAuthConfig({ ...env, TOKEN_FUNCTION_NAME: '' })).toThrow(
      /TOKEN_FUNCTION_NAME/,
    );
    expect(() => readOAuthConfig({ ...env, OAUTH_STATE_TTL_SECONDS: '5' })).toThrow(/OAUTH_STATE/);
    expect(() => readOAuthConfig({ ...env, PUBLIC_BASE_URL: 'http://broker.example.com' })).toThrow(
      /https/,
    );
  });
});
