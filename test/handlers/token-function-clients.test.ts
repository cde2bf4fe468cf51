/**
 * The production composition's AWS clients against endpoints that accept connections and never
 * answer: every call must give up on its own (bounded timeouts and retries), so the request ends
 * in the broker's contract body instead of running into the Lambda timeout.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIGatewayProxyResult } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { DynamoIncidentStore } from '../../lambda/adapters/incident-store';
import { createDynamoOrgRegistry } from '../../lambda/adapters/org-registry';
import { validateOrgRecord } from '../../lambda/core/org-record';
import { createAwsClients } from '../../lambda/handlers/function-runtime';
import { logger, metrics } from '../../lambda/handlers/observability';
import { composeTokenFunction } from '../../lambda/handlers/token-function';
import { buildRestEvent, createLambdaContext } from '../../local/rest-event';
import { type LocalDynamo, startDynalite } from '../support/dynalite';
import { captureOutput } from '../support/logs';

const CALLER = 'arn:aws:sts::123456789012:assumed-role/Fulfilment/stall';

interface StalledEndpoint {
  readonly endpoint: string;
  /** Requests received (each attempt of each call). */
  readonly requests: () => number;
  close(): Promise<void>;
}

/** Reads each request and never answers it. */
async function startStalledEndpoint(): Promise<StalledEndpoint> {
  let requests = 0;
  const server: Server = createServer((request) => {
    requests += 1;
    request.resume();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    requests: () => requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

let stalled: StalledEndpoint;
let dynamo: LocalDynamo;
let tableName: string;

beforeAll(async () => {
  [stalled, dynamo] = await Promise.all([startStalledEndpoint(), startDynalite()]);
  tableName = await dynamo.createTable();
  await createDynamoOrgRegistry({
    client: dynamo.documents,
    tableName,
  }).putOrg(
    validateOrgRecord({
      orgId: 'stall',
      loginUrl: 'https://login.salesforce.com',
      consumerKey: 'key',
      username: 'integration@stall.example',
      signingKeySecretId: 'keys/stall',
      callers: [CALLER],
    }),
  );
  vi.stubEnv('AWS_REGION', 'eu-west-1');
  vi.stubEnv('AWS_ACCESS_KEY_ID', 'local');
  vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'local');
  // Loopback discard port: a publish fails fast and is logged, never leaves the machine.
  vi.stubEnv('AWS_ENDPOINT_URL_SNS', 'http://127.0.0.1:9');
});
afterAll(async () => {
  vi.unstubAllEnvs();
  await Promise.all([stalled.close(), dynamo.close()]);
});

function makeHandler() {
  return composeTokenFunction(
    {
      token: {
        tableName,
        publicBaseUrl: 'https://broker.example.com/prod',
        salesforceTimeoutMs: 1000,
        signingKeyMaxAgeSeconds: 300,
        // Never reached: these requests end at the stalled DynamoDB or Secrets Manager call.
        tokenCacheKeyId: 'alias/salesforce-token-broker-token-cache',
        failureMemorySeconds: 60,
        minTokenAgeSeconds: 30,
        approvalLinks: { keyId: 'alias/approval-links', lifetimeSeconds: 604_800 },
      },
      events: {
        topicArn: 'arn:aws:sns:eu-west-1:000000000000:events',
        tableName,
        reminderIntervalSeconds: 3600,
        source: 'urn:salesforce-token-broker:token',
      },
    },
    { logger, metrics, clients: createAwsClients },
  );
}

async function requestToken(): Promise<APIGatewayProxyResult> {
  const response = await makeHandler()(
    buildRestEvent({
      method: 'POST',
      path: '/orgs/stall/token',
      resource: '/orgs/{orgId}/token',
      pathParameters: { orgId: 'stall' },
      callerArn: CALLER,
    }),
    createLambdaContext({ timeoutMs: 20_000 }),
  );
  return response as APIGatewayProxyResult;
}

describe('token function AWS clients against a stalled AWS endpoint', () => {
  it('DynamoDB: the org read gives up after bounded retries and the caller gets a 500 body; so does the incident store', async () => {
    vi.stubEnv('AWS_ENDPOINT_URL_DYNAMODB', stalled.endpoint);
    const output = captureOutput();
    try {
      const before = stalled.requests();
      const [response, store] = await Promise.all([
        requestToken(),
        createAwsClients()
          .then(({ dynamo: documents }) =>
            new DynamoIncidentStore({ documents, tableName }).listOpen('stall'),
          )
          .then(
            () => 'answered',
            (error: Error) => error.name,
          ),
      ]);
      expect(response.statusCode).toBe(500);
      expect(JSON.parse(response.body)).toMatchObject({ error: 'internal_error', retryable: true });
      expect(store).toBe('TimeoutError');
      // Three attempts each, then the call gives up.
      expect(stalled.requests() - before).toBe(6);
    } finally {
      output.stop();
      vi.stubEnv('AWS_ENDPOINT_URL_DYNAMODB', dynamo.endpoint);
    }
  });

  it('Secrets Manager: the key read gives up and the caller gets signing_key_unavailable', async () => {
    vi.stubEnv('AWS_ENDPOINT_URL_DYNAMODB', dynamo.endpoint);
    vi.stubEnv('AWS_ENDPOINT_URL_SECRETS_MANAGER', stalled.endpoint);
    const output = captureOutput();
    try {
      const before = stalled.requests();
      const response = await requestToken();
      expect(response.statusCode).toBe(500);
      expect(JSON.parse(response.body)).toMatchObject({
        error: 'signing_key_unavailable',
        retryable: true,
      });
      expect(stalled.requests() - before).toBe(3);
      expect(output.text()).toContain('TimeoutError');
    } finally {
      output.stop();
    }
  });
});
