/**
 * The token handler answers before the function's remaining time runs out, even when the
 * exchange's bookkeeping (incident tracking, outcome record) is slow: that work is abandoned,
 * logged and counted, never the response.
 */
import type { APIGatewayProxyResult, Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSalesforceTokenClient } from '../../lambda/adapters/salesforce-token-client';
import { METRIC } from '../../lambda/core/metrics';
import { validateOrgRecord } from '../../lambda/core/org-record';
import type { ExchangeOutcome, IncidentTracker } from '../../lambda/core/ports';
import { logger, metrics } from '../../lambda/handlers/observability';
import { createTokenHandler } from '../../lambda/handlers/token-handler';
import { createTokenService } from '../../lambda/services/token-service';
import { buildRestEvent, createLambdaContext } from '../../local/rest-event';
import { createMemoryKeys, createMemoryRegistry } from '../support/in-memory-ports';
import { signingMaterial } from '../support/keys';
import { captureOutput } from '../support/logs';
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

const slowly = () =>
  new Promise<void>((resolve) => {
    setTimeout(resolve, SLOW_MS).unref();
  });

function makeHandler(
  slow: 'tracker' | 'outcome',
  options: { trackerMs?: number; salesforceTimeoutMs?: number; recorded?: string[] } = {},
) {
  const trackerDelay = () =>
    options.trackerMs === undefined
      ? slowly()
      : new Promise<void>((resolve) => setTimeout(resolve, options.trackerMs));
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
  const recordOutcome = registry.recordExchangeOutcome.bind(registry);
  registry.recordExchangeOutcome = async (orgId: string, outcome: ExchangeOutcome) => {
    if (slow === 'outcome') await slowly();
    await recordOutcome(orgId, outcome);
  };
  const incidents: IncidentTracker = {
    recordFailure: async ({ error }) => {
      if (slow === 'tracker') await trackerDelay();
      options.recorded?.push(error.category);
    },
    recordSuccess: async () => (slow === 'tracker' ? trackerDelay() : undefined),
    listOpen: async () => [],
  };
  return createTokenHandler({
    logger,
    metrics,
    createService: (hooks) =>
      createTokenService({
        registry,
        signingKeys: createMemoryKeys({ 'keys/acme': secretString }),
        tokenEndpoint: createSalesforceTokenClient({
          timeoutMs: options.salesforceTimeoutMs ?? 1000,
        }),
        publicBaseUrl: 'https://broker.example.com/prod',
        incidents,
        ...hooks,
      }),
  });
}

/** POST /orgs/acme/token as the allowed caller. */
async function requestToken(
  handler: ReturnType<typeof makeHandler>,
  context: Context,
): Promise<APIGatewayProxyResult> {
  const event = buildRestEvent({
    method: 'POST',
    path: '/orgs/acme/token',
    resource: '/orgs/{orgId}/token',
    pathParameters: { orgId: 'acme' },
    callerArn: CALLER,
  });
  return (await handler(event, context)) as APIGatewayProxyResult;
}

describe('token handler deadline budget', () => {
  it.each([
    ['a slow incident tracker after a failure', 'tracker', 502],
    ['a slow outcome store after a success', 'outcome', 200],
  ] as const)('answers in time despite %s', async (_, slow, status) => {
    salesforce.answerWith(
      status === 200
        ? json(200, SUCCESS_BODY)
        : sfError('invalid_grant', "user hasn't approved this consumer"),
    );
    const handler = makeHandler(slow);
    const context = createLambdaContext({ timeoutMs: FUNCTION_TIMEOUT_MS });
    const output = captureOutput();
    let response: APIGatewayProxyResult;
    let remainingMs: number;
    try {
      response = await requestToken(handler, context);
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
    // Salesforce hangs: the one attempt runs until the deadline, and the incident write after it
    // (a few hundred ms here) must still fit before the answer is due.
    salesforce.answerWith(json(200, SUCCESS_BODY, 10_000));
    const recorded: string[] = [];
    const handler = makeHandler('tracker', { trackerMs: 300, salesforceTimeoutMs: 6000, recorded });
    const context = createLambdaContext({ timeoutMs: 4500 });
    const output = captureOutput();
    let response: APIGatewayProxyResult;
    try {
      response = await requestToken(handler, context);
    } finally {
      output.stop();
    }
    expect(response.statusCode).toBe(503);
    const body = JSON.parse(response.body);
    expect(body).toMatchObject({ error: 'salesforce_unavailable' });
    expect(body.salesforce.error_description).toMatch(/^no answer within \d+ ms$/);
    expect(recorded).toEqual(['salesforce_unavailable']);
    expect(output.entries().filter((e) => String(e.message).includes('abandoned'))).toEqual([]);
  });
});
