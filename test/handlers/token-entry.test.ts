import type { APIGatewayProxyResult } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ConfigError } from '../../lambda/handlers/env';
import { readTokenConfig } from '../../lambda/handlers/token-config';
import type { LocalKms } from '../../local/kms-server';
import { buildRestEvent, createLambdaContext } from '../../local/rest-event';
import type { LocalSecretsManager } from '../../local/secrets-manager-server';
import type { LocalDynamo } from '../support/dynalite';
import { startEntryWorld } from '../support/entry-world';
import { captureOutput, findSecrets } from '../support/logs';
import { json, type ScriptedSalesforce, SUCCESS_BODY } from '../support/scripted-salesforce';

// Counts DynamoDB clients: the function must build one, shared by the registry and the ledger.
const dynamoClients = vi.hoisted(() => [] as unknown[]);
vi.mock('../../lambda/adapters/dynamo-documents', async (importOriginal) => {
  const actual = await importOriginal<typeof import('../../lambda/adapters/dynamo-documents')>();
  return {
    ...actual,
    createDynamoDocuments: (...args: Parameters<typeof actual.createDynamoDocuments>) => {
      const documents = actual.createDynamoDocuments(...args);
      dynamoClients.push(documents);
      return documents;
    },
  };
});

const CALLER = 'arn:aws:sts::123456789012:assumed-role/Fulfilment/s';
let salesforce: ScriptedSalesforce;
let secrets: LocalSecretsManager;
let dynamo: LocalDynamo;
let kms: LocalKms;

beforeAll(async () => {
  ({ salesforce, secrets, dynamo, kms } = await startEntryWorld({
    keyLabel: 'entry',
    orgId: 'entry',
    username: 'integration@entry.example',
    callers: [CALLER],
    // A trailing slash, as an operator might set it: the function must normalise it.
    // Event logging asked for: the entry must not log the event (SigV4 headers, bodies) anyway.
    env: {
      PUBLIC_BASE_URL: 'https://broker.example.com/prod/',
      POWERTOOLS_LOGGER_LOG_EVENT: 'true',
    },
  }));
});
afterAll(() => Promise.all([salesforce.close(), secrets.close(), kms.close(), dynamo.close()]));

describe('token.ts Lambda entry', () => {
  it('reads its config at import and serves a token through the AWS clients (endpoint overrides)', async () => {
    salesforce.answerWith(json(200, SUCCESS_BODY));
    const clientsBefore = dynamoClients.length;
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
      expect(output.entries().some((entry) => entry.message === 'Lambda invocation event')).toBe(
        false,
      );
      expect(findSecrets(output.text(), [SUCCESS_BODY.access_token])).toEqual([]);
      // The success looked for open incidents through the ledger, on the registry's client.
      expect(dynamoClients.length - clientsBefore).toBe(1);
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
        TOKEN_CACHE_KEY_ID: 'k',
      }),
    ).toThrow(new ConfigError('Environment variable APPROVAL_LINK_KEY_ID is required'));
    // The CDK construct's bounds: three attempts must fit the 20 s function timeout.
    for (const timeout of ['0', '999', '6001', '30000']) {
      expect(() =>
        readTokenConfig({
          TABLE_NAME: 't',
          PUBLIC_BASE_URL: 'https://x.example',
          TOKEN_CACHE_KEY_ID: 'k',
          APPROVAL_LINK_KEY_ID: 'k',
          SALESFORCE_TIMEOUT_MS: timeout,
        }),
      ).toThrow('SALESFORCE_TIMEOUT_MS must be an integer from 1000 to 6000');
    }
    for (const timeout of [1000, 6000]) {
      expect(
        readTokenConfig({
          TABLE_NAME: 't',
          PUBLIC_BASE_URL: 'https://x.example',
          TOKEN_CACHE_KEY_ID: 'k',
          APPROVAL_LINK_KEY_ID: 'k',
          SALESFORCE_TIMEOUT_MS: String(timeout),
        }).salesforceTimeoutMs,
      ).toBe(timeout);
    }
    expect(() =>
      readTokenConfig({ TABLE_NAME: 't', PUBLIC_BASE_URL: 'https://x.example' }),
    ).toThrow(new ConfigError('Environment variable TOKEN_CACHE_KEY_ID is required'));
    expect(() =>
      readTokenConfig({
        TABLE_NAME: 't',
        PUBLIC_BASE_URL: 'https://x.example',
        TOKEN_CACHE_KEY_ID: 'k',
        MIN_TOKEN_AGE_SECONDS: '601',
      }),
    ).toThrow('MIN_TOKEN_AGE_SECONDS must be an integer from 0 to 600');
    expect(
      readTokenConfig({
        TABLE_NAME: 't',
        PUBLIC_BASE_URL: 'https://x.example/prod/',
        TOKEN_CACHE_KEY_ID: 'alias/token-cache',
        APPROVAL_LINK_KEY_ID: 'alias/approval-links',
      }),
    ).toEqual({
      tableName: 't',
      publicBaseUrl: 'https://x.example/prod',
      salesforceTimeoutMs: 5000,
      signingKeyMaxAgeSeconds: 300,
      tokenCacheKeyId: 'alias/token-cache',
      failureMemorySeconds: 60,
      minTokenAgeSeconds: 30,
      approvalLinks: { keyId: 'alias/approval-links', lifetimeSeconds: 604_800 },
    });
  });
});
