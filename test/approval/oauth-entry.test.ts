import type { APIGatewayProxyResult } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKmsApprovalLinkSigner } from '../../lambda/adapters/approval-link-signer';
import { METRIC } from '../../lambda/core/metrics';
import { createApprovalLinks } from '../../lambda/services/approval-links';
import { createLocalAwsClient } from '../../local/aws-clients';
import type { LocalKms } from '../../local/kms-server';
import {
  type InvokedHandler,
  type LocalLambda,
  startLambdaServer,
} from '../../local/lambda-server';
import { buildRestEvent, createLambdaContext } from '../../local/rest-event';
import type { LocalSecretsManager } from '../../local/secrets-manager-server';
import type { LocalDynamo } from '../support/dynalite';
import { startEntryWorld } from '../support/entry-world';
import { captureOutput, findSecrets } from '../support/logs';
import { json, type ScriptedSalesforce, SUCCESS_BODY } from '../support/scripted-salesforce';

const INTEGRATION_USER = 'integration@entry.example';
const CODE = 'aPrxEntryAuthorizationCode';
const CODE_TOKEN = '00Dxx!approval-access-token-from-the-code';
let salesforce: ScriptedSalesforce;
let secrets: LocalSecretsManager;
let dynamo: LocalDynamo;
let kms: LocalKms;
let approvalLinkKeyId: string;
let lambda: LocalLambda;
const TOKEN_FUNCTION = 'token-broker-token';

beforeAll(async () => {
  ({ salesforce, secrets, dynamo, kms, approvalLinkKeyId } = await startEntryWorld({
    keyLabel: 'oauth-entry',
    orgId: 'entry',
    username: INTEGRATION_USER,
    callers: [],
    env: {
      // An operator turning Powertools' event logging on must not get the callback's secrets.
      POWERTOOLS_LOGGER_LOG_EVENT: 'true',
    },
  }));
  // The token function's own Lambda entry behind a local Invoke endpoint: the OAuth entry reaches
  // it with its real Lambda client, as in AWS.
  const { handler: token } = await import('../../lambda/handlers/token');
  lambda = await startLambdaServer({
    [TOKEN_FUNCTION]: { handler: token as InvokedHandler, timeoutMs: 20_000 },
  });
  Object.assign(process.env, {
    TOKEN_FUNCTION_NAME: TOKEN_FUNCTION,
    AWS_ENDPOINT_URL_LAMBDA: lambda.endpoint,
  });
});
afterAll(() =>
  Promise.all([salesforce.close(), secrets.close(), kms.close(), dynamo.close(), lambda.close()]),
);

/** The query of a link for `entry`, signed with the function's key on the local KMS. */
async function linkQuery(): Promise<Record<string, string>> {
  const client = createLocalAwsClient('kms', kms.endpoint);
  const links = createApprovalLinks({
    signer: createKmsApprovalLinkSigner({ client, keyId: approvalLinkKeyId }),
    publicBaseUrl: 'https://broker.example.com/prod',
    lifetimeSeconds: 3600,
    clock: Date.now,
    logger: { info: () => undefined, warn: () => undefined },
  });
  return Object.fromEntries(new URL(await links.mint('entry')).searchParams);
}

describe('oauth.ts Lambda entry', () => {
  it('runs the callback JWT re-run in the token function (Lambda Invoke), counted in its metrics and logs, never the event', async () => {
    salesforce.answerWith((request) => {
      if (request.method === 'GET') return json(200, { username: INTEGRATION_USER });
      if (request.form.grant_type === 'authorization_code') {
        return json(200, {
          access_token: CODE_TOKEN,
          instance_url: salesforce.url,
          id: `${salesforce.url}/id/00D000000000001/005000000000001`,
          token_type: 'Bearer',
          scope: 'api refresh_token',
        });
      }
      return json(200, SUCCESS_BODY);
    });
    const { handler } = await import('../../lambda/handlers/oauth');
    const output = captureOutput();
    try {
      const get = (resource: string, query: Record<string, string>, cookie?: string) =>
        handler(
          buildRestEvent({
            method: 'GET',
            path: resource,
            resource,
            query,
            headers: cookie ? { Cookie: cookie } : {},
          }),
          createLambdaContext({ functionName: 'token-broker-oauth' }),
        ) as Promise<APIGatewayProxyResult>;
      const started = await get('/oauth/authorize', await linkQuery());
      expect(started.statusCode).toBe(302);
      const cookie = String(started.multiValueHeaders?.['Set-Cookie']?.[0]).split(';')[0];
      const state = new URL(String(started.headers?.Location)).searchParams.get('state') ?? '';
      const callback = await get('/oauth/callback', { code: CODE, state }, cookie);
      expect(callback.statusCode).toBe(200);
      expect(salesforce.requests.map((request) => request.form.grant_type ?? 'identity')).toEqual([
        'authorization_code',
        'identity',
        'urn:ietf:params:oauth:grant-type:jwt-bearer',
      ]);

      const metrics = output
        .entries()
        .flatMap((entry) => {
          const aws = entry._aws as { CloudWatchMetrics?: { Metrics: { Name: string }[] }[] };
          return aws?.CloudWatchMetrics?.flatMap((set) => set.Metrics) ?? [];
        })
        .map((metric) => metric.Name);
      expect(metrics).toEqual(
        expect.arrayContaining([
          METRIC.tokenExchanges,
          METRIC.exchangeLatency,
          METRIC.approvalsCompleted,
        ]),
      );
      const exchange = output
        .entries()
        .find((entry) => entry.message === 'Token exchange succeeded');
      expect(exchange).toMatchObject({
        org_id: 'entry',
        attempts: 1,
        function_name: TOKEN_FUNCTION,
        request_id: expect.any(String),
      });
      expect(lambda.invocations(TOKEN_FUNCTION)).toBe(1);
      expect(findSecrets(output.text(), [CODE, CODE_TOKEN, SUCCESS_BODY.access_token])).toEqual([]);
      // POWERTOOLS_LOGGER_LOG_EVENT=true is set, and still no event, code, state or cookie.
      expect(
        output.entries().filter((entry) => entry.message === 'Lambda invocation event'),
      ).toEqual([]);
      const cookieValue = cookie?.split('=')[1] ?? '';
      expect(cookieValue).toMatch(/^[\w-]{43}$/);
      expect(
        findSecrets(output.text(), [
          CODE,
          CODE_TOKEN,
          SUCCESS_BODY.access_token,
          state,
          cookieValue,
        ]),
      ).toEqual([]);
    } finally {
      output.stop();
    }
  });
});
