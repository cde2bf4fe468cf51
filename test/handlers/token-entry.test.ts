import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyResult } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDynamoOrgRegistry } from '../../lambda/adapters/org-registry';
import { validateOrgRecord } from '../../lambda/core/org-record';
import { ConfigError } from '../../lambda/handlers/env';
import { readTokenConfig } from '../../lambda/handlers/token-config';
import { buildRestEvent, createLambdaContext } from '../../local/rest-event';
import {
  type LocalSecretsManager,
  startSecretsManagerServer,
} from '../../local/secrets-manager-server';
import { type LocalDynamo, startDynalite } from '../support/dynalite';
import { signingMaterial } from '../support/keys';
import { captureOutput } from '../support/logs';
import {
  json,
  type ScriptedSalesforce,
  SUCCESS_BODY,
  startScriptedSalesforce,
} from '../support/scripted-salesforce';

const CALLER = 'arn:aws:sts::123456789012:assumed-role/Fulfilment/s';
let salesforce: ScriptedSalesforce;
let secrets: LocalSecretsManager;
let dynamo: LocalDynamo;

beforeAll(async () => {
  [salesforce, secrets, dynamo] = await Promise.all([
    startScriptedSalesforce(),
    startSecretsManagerServer(),
    startDynalite(),
  ]);
  const tableName = await dynamo.createTable();
  await secrets.putSecret('keys/entry', (await signingMaterial('entry')).secretString);
  await createDynamoOrgRegistry({
    client: DynamoDBDocumentClient.from(dynamo.client),
    tableName,
  }).putOrg(
    validateOrgRecord({
      orgId: 'entry',
      loginUrl: salesforce.url,
      consumerKey: 'key',
      username: 'integration@entry.example',
      signingKeySecretId: 'keys/entry',
      callers: [CALLER],
    }),
  );
  Object.assign(process.env, {
    TABLE_NAME: tableName,
    PUBLIC_BASE_URL: 'https://broker.example.com/prod/',
    SALESFORCE_TIMEOUT_MS: '2000',
    AWS_REGION: 'eu-west-1',
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.endpoint,
    EVENTS_TOPIC_ARN: 'arn:aws:sns:eu-west-1:000000000000:events',
    // Loopback discard port: a publish here fails fast and is logged, never leaves the machine.
    AWS_ENDPOINT_URL_SNS: 'http://127.0.0.1:9',
  });
});
afterAll(() => Promise.all([salesforce.close(), secrets.close(), dynamo.close()]));

describe('token.ts Lambda entry', () => {
  it('reads its config at import and serves a token through the AWS SDK clients (endpoint overrides)', async () => {
    salesforce.answerWith(json(200, SUCCESS_BODY));
    const { handler } = await import('../../lambda/handlers/token');
    const output = captureOutput();
    try {
      const response = (await handler(
        buildRestEvent({
          method: 'POST',
          path: '/orgs/entry/token',
          resource: '/orgs/{orgId}/token',
          pathParameters: { orgId: 'entry' },
          callerArn: CALLER,
        }),
        createLambdaContext(),
      )) as APIGatewayProxyResult;
      expect(response.statusCode).toBe(200);
      expect(JSON.parse(response.body)).toMatchObject({
        org_id: 'entry',
        access_token: SUCCESS_BODY.access_token,
      });
      expect(salesforce.requests).toHaveLength(1);
    } finally {
      output.stop();
    }
  });

  it('fails at cold start with a ConfigError naming a missing or bad variable', () => {
    expect(() => readTokenConfig({ PUBLIC_BASE_URL: 'https://x.example' })).toThrow(
      new ConfigError('Environment variable TABLE_NAME is required'),
    );
    expect(() =>
      readTokenConfig({ TABLE_NAME: 't', PUBLIC_BASE_URL: 'http://broker.example.com' }),
    ).toThrow('PUBLIC_BASE_URL must use https');
    expect(() =>
      readTokenConfig({
        TABLE_NAME: 't',
        PUBLIC_BASE_URL: 'https://x.example',
        SALESFORCE_TIMEOUT_MS: '0',
      }),
    ).toThrow('SALESFORCE_TIMEOUT_MS must be an integer from 100 to 30000');
    expect(
      readTokenConfig({ TABLE_NAME: 't', PUBLIC_BASE_URL: 'https://x.example/prod/' }),
    ).toEqual({
      tableName: 't',
      publicBaseUrl: 'https://x.example/prod',
      salesforceTimeoutMs: 5000,
      signingKeyMaxAgeSeconds: 300,
    });
  });
});
