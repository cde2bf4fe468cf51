import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { APIGatewayProxyResult } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createDynamoOrgRegistry,
  type DynamoOrgRegistry,
} from '../../lambda/adapters/org-registry';
import { createSalesforceTokenClient } from '../../lambda/adapters/salesforce-token-client';
import { createSecretsManagerSigningKeys } from '../../lambda/adapters/signing-keys';
import { METRIC } from '../../lambda/core/metrics';
import { validateOrgRecord } from '../../lambda/core/org-record';
import type { IncidentService } from '../../lambda/core/ports';
import { createExchangeReporter } from '../../lambda/handlers/exchange-reporting';
import { logger, metrics } from '../../lambda/handlers/observability';
import { createTokenHandler } from '../../lambda/handlers/token-handler';
import { createTokenService } from '../../lambda/services/token-service';
import { buildRestEvent, createLambdaContext, type RestRequest } from '../../local/rest-event';
import {
  type LocalSecretsManager,
  startSecretsManagerServer,
} from '../../local/secrets-manager-server';
import { type LocalDynamo, startDynalite } from '../support/dynalite';
import { createMemoryFleet, NO_INCIDENTS, withJwtExchange } from '../support/in-memory-ports';
import { type SigningMaterial, signingMaterial } from '../support/keys';
import { type CapturedOutput, captureOutput, findSecrets } from '../support/logs';
import { checkResponse } from '../support/openapi';
import {
  json,
  MAINTENANCE_PAGE,
  type ScriptedSalesforce,
  SUCCESS_BODY,
  sfError,
  startScriptedSalesforce,
} from '../support/scripted-salesforce';

const CALLER = 'arn:aws:sts::123456789012:assumed-role/Fulfilment/i-0abc';
const PUBLIC_BASE_URL = 'https://broker.example.com/prod';
const TOKEN = '/orgs/{orgId}/token';
const STATUS = '/orgs/{orgId}/status';

let salesforce: ScriptedSalesforce;
let secrets: LocalSecretsManager;
let dynamo: LocalDynamo;
let registry: DynamoOrgRegistry;
let secretsClient: SecretsManagerClient;
let material: SigningMaterial;
let output: CapturedOutput;

beforeAll(async () => {
  [salesforce, secrets, dynamo, material] = await Promise.all([
    startScriptedSalesforce(),
    startSecretsManagerServer(),
    startDynalite(),
    signingMaterial('handler'),
  ]);
  await secrets.putSecret('keys/acme', material.secretString);
  secretsClient = new SecretsManagerClient({
    endpoint: secrets.endpoint,
    region: 'eu-west-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 1,
  });
  registry = createDynamoOrgRegistry({
    client: dynamo.documents,
    tableName: await dynamo.createTable(),
  });
  const base = {
    loginUrl: `${salesforce.url}/hosts/login.salesforce.com`,
    consumerKey: '3MVG9consumer.key',
    username: 'integration@acme.example',
    signingKeySecretId: 'keys/acme',
    callers: [CALLER],
  };
  await registry.putOrg(validateOrgRecord({ ...base, orgId: 'acme' }));
  await registry.putOrg(
    validateOrgRecord({ ...base, orgId: 'nokey', signingKeySecretId: 'keys/absent' }),
  );
  output = captureOutput();
});

afterAll(async () => {
  output.stop();
  secretsClient.destroy();
  await Promise.all([salesforce.close(), secrets.close(), dynamo.close()]);
});

function makeHandler(options: { incidents?: IncidentService; broken?: boolean } = {}) {
  return createTokenHandler({
    logger,
    metrics,
    service: async () => {
      if (options.broken) throw new Error('table name wrong: arn:aws:dynamodb:internal-detail');
      return createTokenService({
        fleet: createMemoryFleet(),
        registry,
        ...withJwtExchange({
          signingKeys: createSecretsManagerSigningKeys({ client: secretsClient }),
          tokenEndpoint: createSalesforceTokenClient({
            timeoutMs: 1000,
            sleep: async () => undefined,
          }),
          publicBaseUrl: PUBLIC_BASE_URL,
        }),
        incidents: options.incidents ?? NO_INCIDENTS,
        reporter: createExchangeReporter(logger, metrics),
        logger,
      });
    },
  });
}

type Handler = ReturnType<typeof makeHandler>;

async function call(
  handler: Handler,
  request: Partial<RestRequest> & { method: string; resource: string; orgId?: string },
): Promise<APIGatewayProxyResult & { json: Record<string, unknown> }> {
  const orgId = request.orgId ?? 'acme';
  const event = buildRestEvent({
    path: request.resource.replace('{orgId}', orgId),
    pathParameters: { orgId },
    callerArn: CALLER,
    ...request,
  });
  const response = (await handler(event, createLambdaContext())) as APIGatewayProxyResult;
  expect(checkResponse(request.method, request.resource, response)).toEqual([]);
  return {
    ...response,
    json: response.body ? (JSON.parse(response.body) as Record<string, unknown>) : {},
  };
}

const SIGNED_LINK = /\/prod\/oauth\/authorize\?org=acme&exp=\d+&sig=[\w-]{43}$/;

describe('token API handler (REST proxy events, real adapters)', () => {
  it('200: a fresh exchange, then the cache', async () => {
    salesforce.answerWith(json(200, SUCCESS_BODY));
    const handler = makeHandler();
    const before = salesforce.requests.length;
    const first = await call(handler, { method: 'POST', resource: TOKEN });
    expect(first.statusCode).toBe(200);
    expect(first.json).toMatchObject({ ...SUCCESS_BODY, org_id: 'acme' });
    expect(first.headers?.['Cache-Control']).toBe('no-store');
    const second = await call(handler, {
      method: 'POST',
      resource: TOKEN,
      body: '{"forceRefresh": false}',
    });
    expect(second.json.access_token).toBe(SUCCESS_BODY.access_token);
    expect(salesforce.requests.length - before).toBe(1);
    const served = output
      .entries()
      .filter((e) => e.message === 'Token served')
      .slice(-1);
    // A hit logs at debug only (below the default INFO level); CacheHits still counts it.
    expect(served.map((e) => e.cache)).toEqual(['miss']);
    expect(output.entries().findLast((e) => e.message === 'Token served')?.cache).toBe('miss');
    expect(served[0]).toMatchObject({ org_id: 'acme', caller: CALLER, level: 'INFO' });
    expect(typeof served[0]?.request_id).toBe('string');
    const exchange = output.entries().findLast((e) => e.message === 'Token exchange succeeded');
    expect(typeof exchange?.upstream_latency_ms).toBe('number');
    const emf = output.entries().filter((e) => e._aws !== undefined);
    const names = emf.flatMap((e) => Object.keys(e));
    expect(names).toEqual(
      expect.arrayContaining([
        METRIC.tokenExchanges,
        METRIC.cacheMisses,
        METRIC.cacheHits,
        METRIC.exchangeLatency,
      ]),
    );
  });

  it('200 with forceRefresh exchanges again', async () => {
    salesforce.answerWith(json(200, SUCCESS_BODY));
    const handler = makeHandler();
    await call(handler, { method: 'POST', resource: TOKEN });
    const before = salesforce.requests.length;
    const response = await call(handler, {
      method: 'POST',
      resource: TOKEN,
      body: '{"forceRefresh":true}',
    });
    expect(response.statusCode).toBe(200);
    expect(salesforce.requests.length - before).toBe(1);
  });

  it.each([
    ['malformed JSON', { body: '{"forceRefresh":' }, 'Request body is not valid JSON'],
    ['a non-object body', { body: '[true]' }, 'Request body must be a JSON object'],
    ['an unknown field', { body: '{"force":true}' }, 'Unknown field "force"'],
    [
      'a non-boolean forceRefresh',
      { body: '{"forceRefresh":"yes"}' },
      'forceRefresh must be true or false',
    ],
    [
      'an oversized body',
      { body: `{"forceRefresh":true,"pad":"${'x'.repeat(2000)}"}` },
      'Request body exceeds 1024 bytes',
    ],
    [
      'an oversized base64 body',
      { body: Buffer.from(' '.repeat(1025)).toString('base64'), isBase64Encoded: true },
      'Request body exceeds 1024 bytes',
    ],
    ['a bad org id', { orgId: 'ACME;drop' }, 'orgId must be a lowercase slug'],
  ])('400 for %s', async (_, request, message) => {
    const response = await call(makeHandler(), { method: 'POST', resource: TOKEN, ...request });
    expect(response.statusCode).toBe(400);
    expect(response.json).toMatchObject({ error: 'invalid_request', retryable: false });
    expect(response.json.message).toContain(message);
  });

  it('accepts a base64-encoded body', async () => {
    salesforce.answerWith(json(200, SUCCESS_BODY));
    const body = Buffer.from('{"forceRefresh":true}').toString('base64');
    const response = await call(makeHandler(), {
      method: 'POST',
      resource: TOKEN,
      body,
      isBase64Encoded: true,
    });
    expect(response.statusCode).toBe(200);
  });

  it('403 for a caller not on the list, or no caller at all', async () => {
    for (const callerArn of ['arn:aws:sts::123456789012:assumed-role/Other/s', null]) {
      const response = await call(makeHandler(), { method: 'POST', resource: TOKEN, callerArn });
      expect(response.statusCode).toBe(403);
      expect(response.json.error).toBe('caller_not_authorized');
    }
  });

  it('403 for an unknown org, as for one the caller is not listed for', async () => {
    const response = await call(makeHandler(), {
      method: 'POST',
      resource: TOKEN,
      orgId: 'nobody',
    });
    expect(response.statusCode).toBe(403);
    expect(response.json.error).toBe('caller_not_authorized');
  });

  it('answers an unknown org and an org the caller is not listed for with the same 403 body, on every route', async () => {
    const handler = makeHandler();
    const stranger = 'arn:aws:sts::123456789012:assumed-role/Stranger/s';
    const routes = [
      { method: 'POST', resource: TOKEN },
      { method: 'DELETE', resource: TOKEN },
      { method: 'GET', resource: STATUS },
    ];
    for (const route of routes) {
      const unknown = await call(handler, { ...route, orgId: 'nobody' });
      const unlisted = await call(handler, { ...route, callerArn: stranger });
      const shape = (response: typeof unknown, orgId: string) => ({
        status: response.statusCode,
        headers: response.headers,
        body: {
          ...response.json,
          request_id: 'R',
          message: String(response.json.message).replace(orgId, 'ORG'),
        },
      });
      expect(shape(unknown, 'nobody')).toEqual(shape(unlisted, 'acme'));
      expect(unknown.statusCode).toBe(403);
      expect(unknown.json).toMatchObject({ error: 'caller_not_authorized', retryable: false });
    }
  });

  it('502 with remediation and both approval links for consumer_not_approved', async () => {
    salesforce.answerWith(sfError('invalid_grant', "user hasn't approved this consumer"));
    const calls: string[] = [];
    const incidents: IncidentService = {
      recordFailure: async ({ error }) => {
        calls.push(error.category);
      },
      recordSuccess: async () => undefined,
      listOpen: async () => [],
    };
    const response = await call(makeHandler({ incidents }), { method: 'POST', resource: TOKEN });
    expect(response.statusCode).toBe(502);
    expect(response.json).toMatchObject({
      error: 'consumer_not_approved',
      retryable: false,
      salesforce: {
        status: 400,
        error: 'invalid_grant',
        error_description: "user hasn't approved this consumer",
      },
      remediation: {
        approvalLink: expect.stringMatching(SIGNED_LINK),
        salesforceAuthorizeUrl: `${salesforce.url}/hosts/login.salesforce.com/services/oauth2/authorize?client_id=3MVG9consumer.key&redirect_uri=https%3A%2F%2Fbroker.example.com%2Fprod%2Foauth%2Fcallback&response_type=code`,
      },
    });
    expect(calls).toEqual(['consumer_not_approved']);
    const failure = output.entries().findLast((e) => e.message === 'Request refused');
    expect(failure).toMatchObject({
      category: 'consumer_not_approved',
      status: 502,
      org_id: 'acme',
      reason: response.json.message,
    });
  });

  it('503 with Retry-After when Salesforce is down for maintenance', async () => {
    salesforce.answerWith(MAINTENANCE_PAGE);
    const response = await call(makeHandler(), { method: 'POST', resource: TOKEN });
    expect(response.statusCode).toBe(503);
    expect(response.headers?.['Retry-After']).toBe('5');
    expect(response.json).toMatchObject({ error: 'salesforce_unavailable', retryable: true });
  });

  it('500 without internal detail when the signing key is missing or the service cannot start', async () => {
    const missing = await call(makeHandler(), { method: 'POST', resource: TOKEN, orgId: 'nokey' });
    expect(missing.statusCode).toBe(500);
    expect(missing.json).toEqual({
      error: 'signing_key_unavailable',
      message: 'The broker could not complete the request; see its logs for this request id.',
      retryable: true,
      request_id: missing.json.request_id,
    });
    const broken = await call(makeHandler({ broken: true }), { method: 'POST', resource: TOKEN });
    expect(broken.statusCode).toBe(500);
    expect(broken.json.error).toBe('internal_error');
    expect(broken.body).not.toContain('internal-detail');
  });

  it('DELETE drops the cached token (204) so the next POST exchanges', async () => {
    salesforce.answerWith(json(200, SUCCESS_BODY));
    const handler = makeHandler();
    await call(handler, { method: 'POST', resource: TOKEN });
    const dropped = await call(handler, { method: 'DELETE', resource: TOKEN });
    expect(dropped.statusCode).toBe(204);
    expect(dropped.body).toBe('');
    const before = salesforce.requests.length;
    await call(handler, { method: 'POST', resource: TOKEN });
    expect(salesforce.requests.length - before).toBe(1);
  });

  it('GET status: registry entry, last outcome, incidents, links, certificate; no secret', async () => {
    salesforce.answerWith(json(200, SUCCESS_BODY));
    const handler = makeHandler();
    await call(handler, { method: 'POST', resource: TOKEN, body: '{"forceRefresh":true}' });
    const response = await call(handler, { method: 'GET', resource: STATUS });
    expect(response.statusCode).toBe(200);
    expect(response.json).toMatchObject({
      org: { orgId: 'acme', environment: 'production', audience: 'https://login.salesforce.com' },
      approvalLink: expect.stringMatching(SIGNED_LINK),
      redirectUri: `${PUBLIC_BASE_URL}/oauth/callback`,
      lastExchange: { ok: true },
      openIncidents: [],
      signingKey: {
        available: true,
        certificate: { fingerprintSha256: material.fingerprintSha256 },
      },
    });
    expect(findSecrets(response.body, [SUCCESS_BODY.access_token])).toEqual([]);
  });

  it('1,000 concurrent requests on a cold cache make exactly one exchange', async () => {
    salesforce.answerWith({ ...json(200, SUCCESS_BODY), delayMs: 50 });
    const handler = makeHandler();
    const before = salesforce.requests.length;
    const responses = await Promise.all(
      Array.from({ length: 1000 }, () =>
        handler(
          buildRestEvent({
            method: 'POST',
            path: '/orgs/acme/token',
            resource: TOKEN,
            pathParameters: { orgId: 'acme' },
            callerArn: CALLER,
          }),
          createLambdaContext(),
        ),
      ),
    );
    expect(salesforce.requests.length - before).toBe(1);
    expect(responses.every((r) => (r as APIGatewayProxyResult).statusCode === 200)).toBe(true);
  });

  it('logged no token, assertion or private key over all of these runs', () => {
    const assertions = salesforce.requests.map((r) => r.form.assertion ?? '');
    expect(assertions.length).toBeGreaterThan(5);
    const text = output.text();
    expect(text.length).toBeGreaterThan(1000);
    expect(
      findSecrets(text, [SUCCESS_BODY.access_token, material.privateKeyPem, ...assertions]),
    ).toEqual([]);
    // Powertools drops reserved keys with a warning: every field we log must survive.
    expect(output.entries().filter((e) => String(e.message).includes('reserved key'))).toEqual([]);
  });
});
