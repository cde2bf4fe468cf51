/**
 * Faults of the broker's own dependencies, injected on the wire (local Secrets Manager, a proxy
 * in front of dynalite, the local SNS endpoint), and the function's own time budget. Each case
 * states the documented outcome; "nothing lost" means every failure is either answered, recorded
 * as an incident event, or logged with a marker and counted.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildRestEvent, createLambdaContext } from '../../local/rest-event';
import { emfWith } from '../events/fixtures';
import { expectValidEvent } from '../support/events';
import { signingMaterial } from '../support/keys';
import { type CapturedOutput, captureOutput, findSecrets } from '../support/logs';
import { eventTrail, expectFailure, INTERNAL_DETAIL } from './support/assertions';
import { DYNAMO_THROTTLED, snsError, type WireFault } from './support/fault-proxy';
import { recordFigures } from './support/figures';
import { LOGIN_HOST, type Stack, startStack, usernameOf } from './support/stack';

const figures = recordFigures('dependency-faults');
let stack: Stack;
let output: CapturedOutput;
const issuedTokens: string[] = [];

beforeAll(async () => {
  stack = await startStack({
    // The smallest per-attempt timeout the token function accepts.
    salesforceTimeoutMs: 1000,
    snsAttemptTimeoutMs: 200,
    // Every exchange re-reads its key, so a Secrets Manager fault meets a warm cache too.
    signingKeyMaxAgeSeconds: 0,
    // forceRefresh here means "exchange again now"; the minimum token age is tested elsewhere.
    minTokenAgeSeconds: 0,
  });
  output = captureOutput();
});

afterAll(async () => {
  output.stop();
  for (const event of stack.events()) expectValidEvent(event, issuedTokens);
  const secrets = findSecrets(output.text() + JSON.stringify(stack.events()), [
    ...issuedTokens,
    stack.material.privateKeyPem,
  ]);
  figures.figures.secretsFound += secrets.length;
  figures.flush();
  await stack.close();
  expect(secrets).toEqual([]);
});

type Invoke = Parameters<Stack['invoke']>[0];

async function call(request: Invoke, handler = stack.createHandler()) {
  const requestId = randomUUID();
  const response = await stack.invoke({ requestId, ...request }, handler);
  if (response.statusCode === 200) issuedTokens.push(String(response.json.access_token));
  const logs = output.entries().filter((entry) => entry.request_id === requestId);
  return { response, logs, requestId };
}

const token = (orgId: string, extra: Partial<Invoke> = {}) =>
  ({ route: 'token', orgId, ...extra }) as Invoke;

async function waitFor<T>(probe: () => T | undefined, ms = 5000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const found = probe();
    if (found !== undefined) return found;
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('Secrets Manager', () => {
  it('throttling: retried by the SDK, the token is served', async () => {
    await stack.addOrg('sm-throttled');
    await figures.fault('secrets manager ThrottlingException (transient)', async () => {
      stack.secrets.failNext('token-broker/reliability', 'ThrottlingException', 1);
      const { response } = await call(token('sm-throttled'));
      expect(response.statusCode).toBe(200);
    });
  });

  it.each([
    ['AccessDeniedException', 'AccessDeniedException', 1],
    ['ThrottlingException that outlasts the retries', 'ThrottlingException', 3],
  ] as const)(
    '%s on a cold instance: 500 signing_key_unavailable, no detail, incident opened',
    async (name, type, attempts) => {
      const orgId = `sm-${type.toLowerCase().replace('exception', '')}`;
      await stack.addOrg(orgId);
      await figures.fault(`secrets manager ${name}`, async () => {
        // The SDK makes `attempts` calls: exactly those fail.
        stack.secrets.failNext('token-broker/reliability', type, attempts);
        const { response, logs } = await call(token(orgId));
        expectFailure(response, 'signing_key_unavailable');
        expect(response.json.message).not.toContain('token-broker/reliability');
        expect(JSON.stringify(logs)).toContain(type);
        expect((await call(token(orgId))).response.statusCode).toBe(200);
        expect(eventTrail(stack, orgId)).toEqual([
          'incident.opened:signing_key_unavailable',
          'incident.resolved:signing_key_unavailable',
        ]);
      });
    },
  );

  it('a warm instance keeps serving the last good key when a re-read fails transiently', async () => {
    await stack.addOrg('sm-stale');
    const handler = stack.createHandler();
    expect((await call(token('sm-stale'), handler)).response.statusCode).toBe(200);
    await figures.fault('secrets manager throttled on re-read (last good key)', async () => {
      stack.secrets.failNext('token-broker/reliability', 'ThrottlingException', 3);
      const { response, logs } = await call(
        token('sm-stale', { body: '{"forceRefresh":true}' }),
        handler,
      );
      expect(response.statusCode).toBe(200);
      expect(logs.map((entry) => entry.message)).toContain(
        'Signing key refresh failed; serving the last good key',
      );
    });
  });

  it('a warm instance stops signing at once when a re-read is refused (revocation)', async () => {
    await stack.addOrg('sm-revoked');
    const handler = stack.createHandler();
    expect((await call(token('sm-revoked'), handler)).response.statusCode).toBe(200);
    await figures.fault('secrets manager AccessDenied on re-read (key revoked)', async () => {
      stack.secrets.failNext('token-broker/reliability', 'AccessDeniedException', 1);
      const { response } = await call(
        token('sm-revoked', { body: '{"forceRefresh":true}' }),
        handler,
      );
      expect(response.statusCode).toBe(500);
      expect(JSON.parse(response.body)).toMatchObject({ error: 'signing_key_unavailable' });
    });
  });

  const broken = async (): Promise<[string, string][]> => {
    const [own, other] = await Promise.all([
      signingMaterial('reliability'),
      signingMaterial('reliability-other'),
    ]);
    return [
      ['missing secret', ''],
      ['malformed JSON', '{"privateKey": "-----BEGIN PRIVATE KEY-----'],
      ['JSON without privateKey', '{"certificate":"x"}'],
      [
        'a PEM that is not a key',
        '-----BEGIN PRIVATE KEY-----\nQUJDRA==\n-----END PRIVATE KEY-----\n',
      ],
      [
        'a certificate that is not one',
        JSON.stringify({ privateKey: own.privateKeyPem, certificate: 'not a certificate' }),
      ],
      [
        'key/certificate mismatch (key not the uploaded one)',
        JSON.stringify({ privateKey: other.privateKeyPem, certificate: own.certificatePem }),
      ],
    ];
  };

  it('unusable secret contents: the documented category, never the key material', async () => {
    for (const [index, [name, secretString]] of (await broken()).entries()) {
      const orgId = `sm-broken-${index}`;
      const secretId = `token-broker/broken-${index}`;
      if (secretString) await stack.secrets.putSecret(secretId, secretString);
      await stack.addOrg(orgId, { signingKeySecretId: secretId });
      await figures.fault(`secrets manager: ${name}`, async () => {
        const { response, logs } = await call(token(orgId));
        if (name.startsWith('key/certificate mismatch')) {
          // Salesforce verifies with the uploaded certificate: the key is re-read once, then 502.
          expectFailure(response, 'invalid_assertion');
          expect(logs.find((e) => e.message === 'Token exchange failed')?.key_reread).toBe(true);
          const status = await call({ route: 'status', orgId });
          expect(status.response.json.signingKey).toMatchObject({
            available: true,
            certificate: { matchesPrivateKey: false },
          });
        } else {
          expectFailure(response, 'signing_key_unavailable');
          expect(JSON.stringify(logs)).toContain(secretId);
        }
        expect(JSON.stringify(logs)).not.toContain('BEGIN PRIVATE KEY');
      });
    }
  });
});

describe('DynamoDB', () => {
  it('endpoint down on a cold instance: 500 internal_error, retryable, no detail', async () => {
    await stack.addOrg('ddb-down-cold');
    await figures.fault('dynamodb connection reset (cold instance)', async () => {
      stack.proxy.inject({ kind: 'reset', mentioning: 'ddb-down-cold' });
      const { response, logs } = await call(token('ddb-down-cold'));
      stack.proxy.clear();
      expectFailure(response, 'internal_error');
      expect(response.json.retryable).toBe(true);
      expect(logs.find((entry) => entry.message === 'Request failed')?.level).toBe('ERROR');
    });
  });

  it('endpoint down mid-flow: the token is served; the lost writes are logged and counted', async () => {
    await stack.addOrg('ddb-down-warm');
    const handler = stack.createHandler();
    expect(
      (await call({ route: 'status', orgId: 'ddb-down-warm' }, handler)).response.statusCode,
    ).toBe(200);
    await figures.fault('dynamodb connection reset mid-flow (warm instance, success)', async () => {
      stack.proxy.inject({ kind: 'reset' });
      const { response, logs } = await call(token('ddb-down-warm'), handler);
      stack.proxy.clear();
      expect(response.statusCode).toBe(200);
      expect(logs.map((entry) => String(entry.message))).toContainEqual(
        expect.stringMatching(/^Recording the exchange outcome failed/),
      );
    });
    await figures.fault('dynamodb connection reset mid-flow (warm instance, failure)', async () => {
      await stack.control.revokeApprovals({ username: 'integration@ddb-down-warm.example' });
      stack.proxy.inject({ kind: 'reset' });
      const { response, logs } = await call(
        token('ddb-down-warm', { body: '{"forceRefresh":true}' }),
        handler,
      );
      stack.proxy.clear();
      expectFailure(response, 'consumer_not_approved');
      // The incident could not be stored: logged with a marker and counted, not silently dropped.
      expect(logs.find((entry) => entry.incident_ledger_error === true)).toMatchObject({
        category: 'consumer_not_approved',
      });
      expect(emfWith(output.entries(), 'IncidentLedgerErrors').length).toBeGreaterThan(0);
      // Once DynamoDB is back, the next failure opens the incident.
      expectFailure(
        (await call(token('ddb-down-warm'), handler)).response,
        'consumer_not_approved',
      );
      expect(eventTrail(stack, 'ddb-down-warm')).toEqual(['incident.opened:consumer_not_approved']);
    });
  });

  it('throttling: retried by the SDK; when it outlasts the budget, 503 with Retry-After', async () => {
    await stack.addOrg('ddb-throttled');
    await figures.fault('dynamodb ProvisionedThroughputExceeded (transient)', async () => {
      const before = stack.proxy.faulted.GetItem ?? 0;
      stack.proxy.inject({
        kind: DYNAMO_THROTTLED,
        operation: 'GetItem',
        mentioning: 'ddb-throttled',
        count: 1,
      });
      expect((await call(token('ddb-throttled'))).response.statusCode).toBe(200);
      expect((stack.proxy.faulted.GetItem ?? 0) - before).toBe(1);
    });
    await figures.fault('dynamodb ProvisionedThroughputExceeded (persistent)', async () => {
      stack.proxy.inject({ kind: DYNAMO_THROTTLED, mentioning: 'ddb-throttled' });
      const { response } = await call(token('ddb-throttled', { timeoutMs: 1000 }));
      stack.proxy.clear();
      expect([500, 503]).toContain(response.statusCode);
      expect(response.json).toMatchObject({ error: 'internal_error', retryable: true });
      expect(response.contractProblems).toEqual([]);
    });
  });

  it('conditional-check races: four instances failing at once make one login and one incident', async () => {
    await stack.addOrg('ddb-race', { approved: false });
    await figures.fault(
      'dynamodb conditional-check race (four instances, one lease, one incident)',
      async () => {
        const answers = await Promise.all(
          Array.from({ length: 4 }, () => call(token('ddb-race'), stack.createHandler())),
        );
        for (const { response } of answers) expectFailure(response, 'consumer_not_approved');
        // One instance won the org's lease; the three others took its remembered failure.
        expect(answers.filter(({ response }) => response.json.remembered === true)).toHaveLength(3);
        expect(await stack.control.loginHistory({ username: usernameOf('ddb-race') })).toHaveLength(
          1,
        );
        expect(eventTrail(stack, 'ddb-race')).toEqual(['incident.opened:consumer_not_approved']);
        const status = await call({ route: 'status', orgId: 'ddb-race' });
        expect(status.response.json.openIncidents).toEqual([
          expect.objectContaining({ category: 'consumer_not_approved', count: 1 }),
        ]);
      },
    );
  });

  it('an org deleted mid-flow is not brought back by the outcome record', async () => {
    await stack.addOrg('ddb-deleted');
    const handler = stack.createHandler();
    await call({ route: 'status', orgId: 'ddb-deleted' }, handler);
    await figures.fault('dynamodb conditional write on a deleted org', async () => {
      await stack.registry.deleteOrg('ddb-deleted');
      expect((await call(token('ddb-deleted'), handler)).response.statusCode).toBe(200);
      expect(await stack.registry.getOrg('ddb-deleted')).toBeUndefined();
    });
  });
});

describe('SNS', () => {
  it.each([
    ['InternalError on every attempt', snsError('InternalError', 500, 'Internal Error')],
    [
      'AuthorizationError (not retried)',
      snsError('AuthorizationError', 403, 'User is not authorized to perform: SNS:Publish'),
    ],
    ['a hang on every attempt (timeouts)', 'hang'],
  ] as const satisfies [string, WireFault['kind']][])(
    '%s: the token path is unaffected; the event is logged in full and counted',
    async (name, kind) => {
      const orgId = `sns-${name
        .split(' ')[0]
        ?.toLowerCase()
        .replace(/[^a-z]/g, '')}`;
      await stack.addOrg(orgId, { approved: false });
      await figures.fault(`sns ${name}`, async () => {
        stack.snsProxy.inject({ kind, operation: 'Publish', mentioning: `orgs%2F${orgId}` });
        const { response, requestId } = await call(token(orgId));
        expectFailure(response, 'consumer_not_approved');
        const fallback = await waitFor(() =>
          output
            .entries()
            .find(
              (entry) =>
                entry.event_delivery_failed === true &&
                (entry.event as { data?: { requestId?: string } }).data?.requestId === requestId,
            ),
        );
        expect(fallback).toMatchObject({
          level: 'ERROR',
          event_type: 'token_broker.incident.opened',
        });
        expectValidEvent(fallback.event);
        expect(emfWith(output.entries(), 'EventDeliveryFailed').length).toBeGreaterThan(0);
        stack.snsProxy.clear();
        await stack.control.approve(`integration@${orgId}.example`, stack.app.consumerKey, [
          'api',
          'refresh_token',
        ]);
        // Approved in Salesforce directly: the fleet remembers the failure until `verify` or the
        // approval callback ends it (here, the test does).
        await stack.forgetFailure(orgId);
        expect((await call(token(orgId))).response.statusCode).toBe(200);
      });
    },
  );
});

describe('the function time budget', () => {
  it.each([
    ['Salesforce slower than the budget', 1000],
    ['Salesforce slow and SNS hanging', 1200],
  ])(
    '%s: 503 with Retry-After before the timeout, never a Lambda timeout',
    async (name, timeoutMs) => {
      const orgId = `budget-sf-${timeoutMs}`;
      await stack.addOrg(orgId);
      await figures.fault(`time budget: ${name}`, async () => {
        await stack.control.addFault({ host: LOGIN_HOST, kind: 'latency', latencyMs: 10_000 });
        if (name.includes('SNS')) stack.snsProxy.inject({ kind: 'hang', mentioning: orgId });
        const { response } = await call(token(orgId, { timeoutMs }));
        await stack.control.clearFaults();
        stack.snsProxy.clear();
        expectFailure(response, 'salesforce_unavailable');
        expect(response.elapsedMs).toBeLessThan(timeoutMs);
      });
    },
  );

  it('DynamoDB hanging on a cold instance: 503 internal_error with Retry-After', async () => {
    await stack.addOrg('budget-ddb-cold');
    await figures.fault('time budget: DynamoDB hang (cold instance)', async () => {
      stack.proxy.inject({ kind: 'hang', mentioning: 'budget-ddb-cold' });
      const { response, logs } = await call(token('budget-ddb-cold', { timeoutMs: 1000 }));
      stack.proxy.clear();
      expectFailure(response, 'internal_error', { status: 503, retryAfter: '5' });
      expect(logs.map((entry) => entry.message)).toContain('Request ran out of time');
    });
  });

  it('DynamoDB hanging after a successful exchange: the token is still served in time', async () => {
    await stack.addOrg('budget-ddb-warm');
    const handler = stack.createHandler();
    await call({ route: 'status', orgId: 'budget-ddb-warm' }, handler);
    await figures.fault(
      'time budget: DynamoDB hang after the exchange (warm instance)',
      async () => {
        stack.proxy.inject({ kind: 'hang', mentioning: 'budget-ddb-warm' });
        const { response } = await call(token('budget-ddb-warm', { timeoutMs: 1000 }), handler);
        stack.proxy.clear();
        expect(response.statusCode).toBe(200);
      },
    );
  });

  it.each(['status', 'invalidate'] as const)(
    'the %s route answers 503 too when DynamoDB hangs',
    async (route) => {
      await stack.addOrg(`budget-${route}`);
      await figures.fault(`time budget: DynamoDB hang on ${route}`, async () => {
        stack.proxy.inject({ kind: 'hang', mentioning: `budget-${route}` });
        const { response } = await call({ route, orgId: `budget-${route}`, timeoutMs: 1000 });
        stack.proxy.clear();
        expect(response.statusCode).toBe(503);
        expect(response.contractProblems).toEqual([]);
      });
    },
  );

  it('the OAuth routes answer 503 with Retry-After when DynamoDB hangs', async () => {
    await stack.addOrg('budget-oauth', { approved: false });
    const oauth = stack.createOAuthHandler();
    await figures.fault('time budget: DynamoDB hang on /oauth/authorize', async () => {
      stack.proxy.inject({ kind: 'hang', mentioning: 'budget-oauth' });
      const event = buildRestEvent({
        method: 'GET',
        resource: '/oauth/authorize',
        path: '/oauth/authorize',
        query: await stack.approvalLinkQuery('budget-oauth'),
      });
      let timer: NodeJS.Timeout | undefined;
      const response = await Promise.race([
        oauth(event, createLambdaContext({ timeoutMs: 1000 })),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error('Lambda timeout')), 1000);
        }),
      ]).finally(() => clearTimeout(timer));
      stack.proxy.clear();
      expect(response.statusCode).toBe(503);
      expect(response.headers?.['Retry-After']).toMatch(/^\d+$/);
      expect(response.headers?.['Cache-Control']).toBe('no-store');
      expect(response.body).not.toMatch(INTERNAL_DETAIL);
    });
  });
});
