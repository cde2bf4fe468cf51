import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BrokerError } from '../../lambda/core/errors';
import type { Remediation } from '../../lambda/core/types';
import { ConfigError } from '../../lambda/handlers/env';
import { readEventsConfig } from '../../lambda/handlers/events-config';
import { composeEvents } from '../../lambda/handlers/function-runtime';
import { logger, metrics } from '../../lambda/handlers/observability';
import { createLocalAwsClient } from '../../local/aws-clients';
import { type LocalSns, startLocalSns } from '../../local/sns-server';
import { type LocalDynamo, startDynalite } from '../support/dynalite';
import { expectValidEvent } from '../support/events';
import { captureOutput, findSecrets } from '../support/logs';
import { FAKE_ASSERTION, notApprovedError, ORG } from './fixtures';

const baseEnv = { EVENTS_TOPIC_ARN: 'arn:aws:sns:eu-west-1:000000000000:events', TABLE_NAME: 't' };

describe('events configuration', () => {
  it('reads the topic, table and reminder interval, with a 3600 s default', () => {
    expect(readEventsConfig(baseEnv, 'token')).toEqual({
      topicArn: baseEnv.EVENTS_TOPIC_ARN,
      tableName: 't',
      reminderIntervalSeconds: 3600,
      source: 'urn:salesforce-token-broker:token',
    });
    const lambdaEnv = {
      ...baseEnv,
      INCIDENT_REMINDER_INTERVAL_SECONDS: '900',
      AWS_REGION: 'eu-west-1',
      AWS_LAMBDA_FUNCTION_NAME: 'Broker-TokenFunction',
    };
    expect(readEventsConfig(lambdaEnv, 'token')).toMatchObject({
      reminderIntervalSeconds: 900,
      source: 'urn:salesforce-token-broker:eu-west-1:Broker-TokenFunction',
    });
  });

  it.each([
    [{ TABLE_NAME: 't' }, /EVENTS_TOPIC_ARN/],
    [
      { ...baseEnv, INCIDENT_REMINDER_INTERVAL_SECONDS: '10' },
      /INCIDENT_REMINDER_INTERVAL_SECONDS/,
    ],
    [
      { ...baseEnv, INCIDENT_REMINDER_INTERVAL_SECONDS: 'hourly' },
      /INCIDENT_REMINDER_INTERVAL_SECONDS/,
    ],
  ])('rejects %j at cold start', (env, message) => {
    expect(() => readEventsConfig(env, 'token')).toThrow(ConfigError);
    expect(() => readEventsConfig(env, 'token')).toThrow(message);
  });
});

describe('events and incidents composed over SNS and DynamoDB', () => {
  let sns: LocalSns;
  let dynamo: LocalDynamo;
  beforeAll(async () => {
    [sns, dynamo] = await Promise.all([startLocalSns(), startDynalite()]);
  });
  afterAll(async () => {
    await Promise.all([sns.close(), dynamo.close()]);
  });

  it('delivers opened and resolved to the topic as schema-valid messages', async () => {
    const topicArn = sns.createTopic('events');
    const tableName = await dynamo.createTable();
    const snsClient = createLocalAwsClient('sns', sns.endpoint);
    const { incidents: tracker } = composeEvents(
      {
        topicArn,
        tableName,
        reminderIntervalSeconds: 3600,
        source: 'urn:salesforce-token-broker:token',
      },
      // The shared document client, which refuses undefined values, as the compositions pass it.
      dynamo.documents,
      { logger, metrics },
      snsClient,
    );
    const output = captureOutput();
    try {
      const first = notApprovedError();
      const withUndefined = { ...first.remediation, runbook: undefined } as Remediation;
      const error = new BrokerError(first.category, first.message, {
        salesforce: first.salesforce,
        remediation: withUndefined,
      });
      await tracker.recordFailure({ org: ORG, error, requestId: 'req-1' });
      await tracker.recordFailure({ org: ORG, error: notApprovedError(), requestId: 'req-2' });
      await tracker.recordSuccess({ org: ORG, requestId: 'req-3', cause: 'token_exchange' });
    } finally {
      output.stop();
    }
    const events = sns.messages.map((message) => JSON.parse(message.message));
    expect(events.map((event) => event.type)).toEqual([
      'token_broker.incident.opened',
      'token_broker.incident.resolved',
    ]);
    for (const event of events) expectValidEvent(event, [FAKE_ASSERTION]);
    expect(events[1].data).toMatchObject({ count: 2, resolution: { cause: 'token_exchange' } });
    expect(sns.messages[0]?.attributes.category).toBe('consumer_not_approved');
    expect(output.entries().filter((e) => e.level === 'ERROR')).toEqual([]);
    expect(findSecrets(output.text(), [FAKE_ASSERTION])).toEqual([]);
  });
});
