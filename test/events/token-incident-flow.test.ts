/**
 * The whole incident loop through the real token Lambda entry (token.ts): real SDK clients against
 * dynalite, a local Secrets Manager and the local SNS endpoint; Salesforce scripted on loopback.
 */

import type { APIGatewayProxyResult } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrokerEvent } from '../../lambda/core/types';
import type { LocalKms } from '../../local/kms-server';
import { buildRestEvent, createLambdaContext } from '../../local/rest-event';
import type { LocalSecretsManager } from '../../local/secrets-manager-server';
import { type LocalSns, startLocalSns } from '../../local/sns-server';
import type { LocalDynamo } from '../support/dynalite';
import { startEntryWorld } from '../support/entry-world';
import { expectValidEvent } from '../support/events';
import { captureOutput, findSecrets } from '../support/logs';
import {
  json,
  type ScriptedSalesforce,
  SUCCESS_BODY,
  sfError,
} from '../support/scripted-salesforce';

const CALLER = 'arn:aws:sts::123456789012:assumed-role/Fulfilment/session-1';
const NOT_APPROVED = sfError('invalid_grant', "user hasn't approved this consumer");
let salesforce: ScriptedSalesforce;
let secrets: LocalSecretsManager;
let dynamo: LocalDynamo;
let kms: LocalKms;
let sns: LocalSns;
let dynamoOpen = true;

beforeAll(async () => {
  sns = await startLocalSns();
  ({ salesforce, secrets, dynamo, kms } = await startEntryWorld({
    keyLabel: 'events-flow',
    orgId: 'acme-prod',
    username: 'integration@acme.com',
    consumerKey: '3MVG9acmeConsumerKey',
    callers: [CALLER],
    env: {
      EVENTS_TOPIC_ARN: sns.createTopic('token-broker-events'),
      INCIDENT_REMINDER_INTERVAL_SECONDS: '3600',
      AWS_ENDPOINT_URL_SNS: sns.endpoint,
      // Every request here must reach Salesforce to count the incident's repeats.
      FAILURE_MEMORY_SECONDS: '0',
    },
  }));
});
afterAll(() =>
  Promise.all([
    salesforce.close(),
    secrets.close(),
    kms.close(),
    sns.close(),
    dynamoOpen && dynamo.close(),
  ]),
);

async function call(
  method: string,
  path: string,
  resource: string,
): Promise<APIGatewayProxyResult> {
  const { handler } = await import('../../lambda/handlers/token');
  return (await handler(
    buildRestEvent({
      method,
      path,
      resource,
      pathParameters: { orgId: 'acme-prod' },
      callerArn: CALLER,
    }),
    createLambdaContext(),
  )) as APIGatewayProxyResult;
}

const requestToken = () => call('POST', '/orgs/acme-prod/token', '/orgs/{orgId}/token');

const published = (): BrokerEvent[] => sns.messages.map((m) => JSON.parse(m.message));

describe('incidents through the token Lambda entry', () => {
  it('opens with remediation, counts repeats, resolves on success, and leaves cache hits alone', async () => {
    salesforce.answerWith(NOT_APPROVED, NOT_APPROVED, NOT_APPROVED, json(200, SUCCESS_BODY));
    const output = captureOutput();
    const statuses: number[] = [];
    try {
      for (let i = 0; i < 3; i++) statuses.push((await requestToken()).statusCode);
      const status = await call('GET', '/orgs/acme-prod/status', '/orgs/{orgId}/status');
      expect(JSON.parse(status.body).openIncidents).toEqual([
        expect.objectContaining({ category: 'consumer_not_approved', count: 3 }),
      ]);
      statuses.push((await requestToken()).statusCode);
      // A cached token must not touch DynamoDB: with the table gone, it is still served cleanly.
      await dynamo.close();
      dynamoOpen = false;
      statuses.push((await requestToken()).statusCode);
    } finally {
      output.stop();
    }

    expect(statuses).toEqual([502, 502, 502, 200, 200]);
    expect(salesforce.requests).toHaveLength(4);
    const events = published();
    expect(events.map((e) => e.type)).toEqual([
      'token_broker.incident.opened',
      'token_broker.incident.resolved',
    ]);
    for (const event of events) expectValidEvent(event, [SUCCESS_BODY.access_token]);
    const [opened, resolved] = events;
    expect(opened?.data).toMatchObject({
      orgId: 'acme-prod',
      category: 'consumer_not_approved',
      severity: 'critical',
      count: 1,
      salesforce: {
        status: 400,
        error: 'invalid_grant',
        error_description: "user hasn't approved this consumer",
      },
      remediation: {
        approvalLink: expect.stringMatching(
          /^https:\/\/broker\.example\.com\/prod\/oauth\/authorize\?org=acme-prod&exp=\d+&sig=[\w-]{43}$/,
        ),
        salesforceAuthorizeUrl: expect.stringContaining(
          `${salesforce.url}/services/oauth2/authorize?client_id=3MVG9acmeConsumerKey`,
        ),
      },
    });
    expect(resolved?.data).toMatchObject({
      count: 3,
      resolution: { cause: 'token_exchange' },
    });
    expect(sns.messages[0]?.attributes).toEqual({
      type: 'token_broker.incident.opened',
      orgId: 'acme-prod',
      severity: 'critical',
      category: 'consumer_not_approved',
    });

    const logs = output.entries();
    expect(logs.filter((e) => e.message === 'Incident opened')).toMatchObject([
      { org_id: 'acme-prod', category: 'consumer_not_approved', count: 1 },
    ]);
    expect(logs.filter((e) => e.incident_ledger_error || e.event_delivery_failed)).toEqual([]);
    expect(findSecrets(output.text(), [SUCCESS_BODY.access_token])).toEqual([]);
  });
});
