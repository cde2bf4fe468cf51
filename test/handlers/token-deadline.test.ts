/**
 * The token handler answers before the function's remaining time runs out, even when the
 * exchange's bookkeeping (incident tracking, outcome record) is slow: that work is abandoned,
 * logged and counted, never the response.
 */
import type { APIGatewayProxyResult, Context } from 'aws-lambda';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createSalesforceTokenClient } from '../../lambda/adapters/salesforce-token-client';
import { METRIC } from '../../lambda/core/metrics';
import { validateOrgRecord } from '../../lambda/core/org-record';
import type { ExchangeOutcome, IncidentService } from '../../lambda/core/ports';
import { createExchangeReporter } from '../../lambda/handlers/exchange-reporting';
import { logger, metrics } from '../../lambda/handlers/observability';
import type { RestHandler } from '../../lambda/handlers/rest-handler';
import { createTokenHandler } from '../../lambda/handlers/token-handler';
import { createTokenService } from '../../lambda/services/token-service';
import { buildRestEvent, createLambdaContext } from '../../local/rest-event';
import {
  createMemoryFleet,
  createMemoryKeys,
  createMemoryRegistry,
  withJwtExchange,
} from '../support/in-memory-ports';
import { signingMaterial } from '../support/keys';
import { captureOutput } from '../support/logs';
import { createManualTime, type ManualTime, waitFor } from '../support/manual-time';
import { checkResponse } from '../support/openapi';
import {
  json,
  type ScriptedSalesforce,
  SUCCESS_BODY,
  sfError,
  startScriptedSalesforce,
} from '../support/scripted-salesforce';

const CALLER = 'arn:aws:sts::123456789012:assumed-role/Fulfilment/deadline';
/** The function's timeout in these tests: 500 ms response margin, 1 s bookkeeping reserve. */
const FUNCTION_TIMEOUT_MS = 2500;
/** Longer than the whole invocation. */
const SLOW_MS = 4000;

let salesforce: ScriptedSalesforce;
let secretString: string;

beforeAll(async () => {
  salesforce = await startScriptedSalesforce();
  secretString = (await signingMaterial('deadline')).secretString;
});
afterAll(() => salesforce.close());
beforeEach(() => {
  salesforce.requests.length = 0;
});

function makeHandler(
  time: ManualTime,
  slow: 'tracker' | 'outcome',
  options: {
    trackerMs?: number;
    salesforceTimeoutMs?: number;
    recorded?: string[];
    hangOrgRead?: boolean;
  } = {},
) {
  let entered = 0;
  // Bookkeeping that takes `ms` of the function's time: it waits on the manual clock.
  const taking = (ms: number) =>
    new Promise<void>((resolve) => {
      entered += 1;
      time.after(ms, resolve);
    });
  const trackerDelay = () => taking(options.trackerMs ?? SLOW_MS);
  const registry = createMemoryRegistry([
    validateOrgRecord({
      orgId: 'acme',
      loginUrl: salesforce.url,
      consumerKey: '3MVG9consumer.key',
      username: 'integration@acme.example',
      signingKeySecretId: 'keys/acme',
      callers: [CALLER],
    }),
  ]);
  if (options.hangOrgRead) registry.getOrgTokenState = () => new Promise(() => undefined);
  const recordOutcome = registry.recordExchangeOutcome.bind(registry);
  registry.recordExchangeOutcome = async (orgId: string, outcome: ExchangeOutcome) => {
    if (slow === 'outcome') await taking(SLOW_MS);
    return recordOutcome(orgId, outcome);
  };
  const incidents: IncidentService = {
    recordFailure: async ({ error }) => {
      if (slow === 'tracker') await trackerDelay();
      options.recorded?.push(error.category);
    },
    recordSuccess: async () => (slow === 'tracker' ? trackerDelay() : undefined),
    listOpen: async () => [],
  };
  const handler = createTokenHandler({
    logger,
    metrics,
    time,
    service: async () =>
      createTokenService({
        fleet: createMemoryFleet({ time }),
        registry,
        ...withJwtExchange({
          signingKeys: createMemoryKeys({ 'keys/acme': secretString }),
          tokenEndpoint: createSalesforceTokenClient({
            timeoutMs: options.salesforceTimeoutMs ?? 1000,
            time,
          }),
          publicBaseUrl: 'https://broker.example.com/prod',
        }),
        incidents,
        reporter: createExchangeReporter(logger, metrics),
        logger,
        time,
      }),
  });
  return { handler, bookkeepingEntered: () => entered > 0 };
}

/** POST /orgs/acme/token as the allowed caller. */
function requestToken(handler: RestHandler, context: Context): Promise<APIGatewayProxyResult> {
  const event = buildRestEvent({
    method: 'POST',
    path: '/orgs/acme/token',
    resource: '/orgs/{orgId}/token',
    pathParameters: { orgId: 'acme' },
    callerArn: CALLER,
  });
  return handler(event, context);
}

describe('token handler deadline budget (on a manual clock)', () => {
  it.each([
    ['a slow incident tracker after a failure', 'tracker', 502],
    ['a slow outcome store after a success', 'outcome', 200],
  ] as const)('answers in time despite %s', async (_, slow, status) => {
    salesforce.answerWith(
      status === 200
        ? json(200, SUCCESS_BODY)
        : sfError('invalid_grant', "user hasn't approved this consumer"),
    );
    const time = createManualTime();
    const { handler, bookkeepingEntered } = makeHandler(time, slow);
    const context = createLambdaContext({ timeoutMs: FUNCTION_TIMEOUT_MS, now: time.now });
    const output = captureOutput();
    let response: APIGatewayProxyResult;
    let remainingMs: number;
    try {
      const answered = requestToken(handler, context);
      await waitFor(bookkeepingEntered);
      // Past the answer's due time (2000 ms), short of the function's timeout.
      await time.advance(FUNCTION_TIMEOUT_MS - 300);
      response = await answered;
      remainingMs = context.getRemainingTimeInMillis();
    } finally {
      output.stop();
    }
    // Answered with the contract body while the function still had time: no 502/504 from API Gateway.
    expect(remainingMs).toBeGreaterThan(0);
    expect(response.statusCode).toBe(status);
    expect(checkResponse('POST', '/orgs/{orgId}/token', response)).toEqual([]);
    const abandoned = output
      .entries()
      .find((e) => String(e.message).startsWith('Exchange bookkeeping abandoned'));
    expect(abandoned).toMatchObject({ level: 'WARN', org_id: 'acme', exchange_ok: status === 200 });
    expect(output.entries().some((e) => METRIC.exchangeBookkeepingAbandoned in e)).toBe(true);
  });

  it('keeps time after the last Salesforce attempt for the incident to be recorded', async () => {
    // Salesforce hangs: the one attempt runs until the Salesforce deadline (3000 ms of a 4500 ms
    // function), and the incident write after it (300 ms) must still fit before the answer is due.
    salesforce.answerWith(json(200, SUCCESS_BODY, 10_000));
    const recorded: string[] = [];
    const time = createManualTime();
    const { handler, bookkeepingEntered } = makeHandler(time, 'tracker', {
      trackerMs: 300,
      salesforceTimeoutMs: 6000,
      recorded,
    });
    const context = createLambdaContext({ timeoutMs: 4500, now: time.now });
    const output = captureOutput();
    let response: APIGatewayProxyResult;
    try {
      const answered = requestToken(handler, context);
      await waitFor(() => salesforce.requests.length === 1);
      await time.advance(3000);
      await waitFor(bookkeepingEntered);
      await time.advance(300);
      response = await answered;
    } finally {
      output.stop();
    }
    expect(response.statusCode).toBe(503);
    const body = JSON.parse(response.body);
    expect(body).toMatchObject({ error: 'salesforce_unavailable' });
    expect(body.salesforce.error_description).toBe('no answer within 3000 ms');
    expect(recorded).toEqual(['salesforce_unavailable']);
    expect(output.entries().filter((e) => String(e.message).includes('abandoned'))).toEqual([]);
  });

  it('answers 503 with Retry-After just before the function times out when the request hangs', async () => {
    const time = createManualTime();
    const { handler } = makeHandler(time, 'tracker', { hangOrgRead: true });
    const context = createLambdaContext({ timeoutMs: FUNCTION_TIMEOUT_MS, now: time.now });
    const output = captureOutput();
    let response: APIGatewayProxyResult | undefined;
    try {
      const answered = requestToken(handler, context).then((result) => {
        response = result;
      });
      await time.advance(FUNCTION_TIMEOUT_MS - 251);
      expect(response).toBeUndefined();
      await time.advance(1);
      await answered;
    } finally {
      output.stop();
    }
    // 250 ms before the timeout: the guard's answer, not Lambda's.
    expect(context.getRemainingTimeInMillis()).toBe(250);
    expect(response?.statusCode).toBe(503);
    expect(response?.headers?.['Retry-After']).toBe('5');
    expect(JSON.parse(response?.body ?? '{}')).toMatchObject({ error: 'internal_error' });
    expect(checkResponse('POST', '/orgs/{orgId}/token', response as APIGatewayProxyResult)).toEqual(
      [],
    );
    expect(output.entries().find((e) => e.message === 'Request ran out of time')).toMatchObject({
      level: 'ERROR',
      status: 503,
    });
  });
});
