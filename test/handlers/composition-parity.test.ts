/**
 * The local stack and the deployed function are one composition: the same scenario through the
 * Lambda entry (token.ts, AWS SDK clients on loopback endpoints, events on SNS) and through
 * `npm start`'s stack (its gateway, events to a file) reports the same metrics and the same events.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { APIGatewayProxyResult } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRequestSigner } from '../../client/signer';
import { EmulatorClient } from '../../emulator/client';
import { createDynamoOrgRegistry } from '../../lambda/adapters/org-registry';
import { validateOrgRecord } from '../../lambda/core/org-record';
import type { RestHandler } from '../../lambda/handlers/rest-handler';
import { createLocalDocuments } from '../../local/aws-clients';
import { buildRestEvent, createLambdaContext } from '../../local/rest-event';
import { type LocalSns, startLocalSns } from '../../local/sns-server';
import {
  DEMO_SECRET_ID,
  LOCAL_CALLER_ARN,
  LOCAL_CALLER_ROLE,
  type LocalStack,
  startLocalStack,
} from '../../local/stack';
import { captureOutput } from '../support/logs';

const DEPLOYED_ORG = 'deployed';

let dataDir: string;
let stack: LocalStack;
let sns: LocalSns;
let emulator: EmulatorClient;
let entry: RestHandler;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'composition-parity-'));
  [stack, sns] = await Promise.all([
    // An approval made in Salesforce directly (not through the callback) must show at once.
    startLocalStack({
      dataDir,
      ports: { gateway: 0, emulator: 0 },
      print: () => undefined,
      failureMemorySeconds: 0,
    }),
    startLocalSns(),
  ]);
  emulator = new EmulatorClient(stack.emulatorUrl);
  // A second org on the same Salesforce app and user, served by the deployed composition.
  await createDynamoOrgRegistry({
    client: createLocalDocuments(stack.dynamodbEndpoint, { region: stack.region }),
    tableName: stack.tableName,
  }).putOrg(
    validateOrgRecord({
      orgId: DEPLOYED_ORG,
      loginUrl: stack.demo.loginUrl,
      consumerKey: stack.demo.consumerKey,
      username: stack.demo.integrationUsername,
      signingKeySecretId: DEMO_SECRET_ID,
      callers: [LOCAL_CALLER_ROLE],
    }),
  );
  Object.assign(process.env, {
    TABLE_NAME: stack.tableName,
    PUBLIC_BASE_URL: stack.publicBaseUrl,
    EVENTS_TOPIC_ARN: sns.createTopic('events'),
    AWS_REGION: stack.region,
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    AWS_ENDPOINT_URL_DYNAMODB: stack.dynamodbEndpoint,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: stack.secretsManagerEndpoint,
    AWS_ENDPOINT_URL_SNS: sns.endpoint,
    AWS_ENDPOINT_URL_KMS: stack.kmsEndpoint,
    TOKEN_CACHE_KEY_ID: stack.tokenCacheKeyId,
    FAILURE_MEMORY_SECONDS: '0',
    APPROVAL_LINK_KEY_ID: stack.approvalLinkKeyId,
  });
  ({ handler: entry } = await import('../../lambda/handlers/token'));
});

afterAll(async () => {
  await Promise.all([stack?.close(), sns?.close()]);
  await rm(dataDir, { recursive: true, force: true });
});

/** Metric names in the EMF blobs written while `run` ran. */
async function observe(run: () => Promise<number>): Promise<{ status: number; metrics: string[] }> {
  const output = captureOutput();
  let status: number;
  try {
    status = await run();
  } finally {
    output.stop();
  }
  const metrics = output.entries().flatMap((entry) => {
    const aws = entry._aws as { CloudWatchMetrics?: { Metrics: { Name: string }[] }[] } | undefined;
    return (aws?.CloudWatchMetrics ?? []).flatMap((set) => set.Metrics.map(({ Name }) => Name));
  });
  return { status, metrics: [...new Set(metrics)].sort() };
}

const viaLocalStack = () =>
  observe(async () => {
    const url = new URL(`${stack.publicBaseUrl}/orgs/${stack.demo.orgId}/token`);
    if (!stack.caller) throw new Error('the local stack has no caller key');
    const headers = await createRequestSigner(stack.region, stack.caller)({ method: 'POST', url });
    const response = await fetch(url, { method: 'POST', headers });
    await response.arrayBuffer();
    return response.status;
  });

const viaLambdaEntry = () =>
  observe(async () => {
    const response = (await entry(
      buildRestEvent({
        method: 'POST',
        path: `/orgs/${DEPLOYED_ORG}/token`,
        resource: '/orgs/{orgId}/token',
        pathParameters: { orgId: DEPLOYED_ORG },
        callerArn: LOCAL_CALLER_ARN,
      }),
      createLambdaContext(),
    )) as APIGatewayProxyResult;
    return response.statusCode;
  });

async function localEventTypes(): Promise<string[]> {
  const lines = (await readFile(stack.eventsFile, 'utf8')).split('\n').filter(Boolean);
  return lines
    .map((line) => JSON.parse(line) as { type: string; subject: string })
    .filter((event) => event.subject === `orgs/${stack.demo.orgId}`)
    .map((event) => event.type);
}

const deployedEventTypes = () =>
  sns.messages
    .map(({ message }) => JSON.parse(message) as { type: string; subject: string })
    .filter((event) => event.subject === `orgs/${DEPLOYED_ORG}`)
    .map((event) => event.type);

describe('local and deployed compositions', () => {
  it('report the same metrics and events for an unapproved user, then an approved one', async () => {
    const failed = [await viaLocalStack(), await viaLambdaEntry()];
    expect(failed.map(({ status }) => status)).toEqual([502, 502]);
    expect(failed[0]?.metrics).toEqual(failed[1]?.metrics);
    expect(failed[0]?.metrics).toEqual(
      expect.arrayContaining(['ExchangeFailures', 'ExchangeLatency', 'TokenExchanges']),
    );

    await emulator.approve(stack.demo.integrationUsername, stack.demo.consumerKey);
    const served = [await viaLocalStack(), await viaLambdaEntry()];
    expect(served.map(({ status }) => status)).toEqual([200, 200]);
    expect(served[0]?.metrics).toEqual(served[1]?.metrics);

    const expected = ['token_broker.incident.opened', 'token_broker.incident.resolved'];
    expect(await localEventTypes()).toEqual(expected);
    expect(deployedEventTypes()).toEqual(expected);
  });
});
