import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { SnsEventPublisher } from '../../lambda/adapters/sns-publisher';
import { buildApprovalCompleted, buildIncidentOpened } from '../../lambda/core/events';
import { METRIC } from '../../lambda/core/metrics';
import type { BrokerEvent } from '../../lambda/core/types';
import { createAwsClients } from '../../lambda/handlers/function-runtime';
import { createLocalAwsClient } from '../../local/aws-clients';
import { type LocalSns, SNS_FAULTS, startLocalSns } from '../../local/sns-server';
import { expectValidEvent } from '../support/events';
import { captureOutput, findSecrets } from '../support/logs';
import { emfWith, eventContext, ManualClock, ORG, observability } from './fixtures';

let sns: LocalSns;
let topicArn: string;

beforeAll(async () => {
  sns = await startLocalSns();
  topicArn = sns.createTopic('token-broker-events');
});
afterAll(async () => {
  await sns.close();
});
beforeEach(() => {
  // createAwsClients reads its credentials and region from the environment, as in Lambda.
  vi.stubEnv('AWS_ACCESS_KEY_ID', 'local');
  vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'local');
  vi.stubEnv('AWS_REGION', 'eu-west-1');
});
afterEach(() => {
  vi.unstubAllEnvs();
});

const context = eventContext(new ManualClock());
const opened = () =>
  buildIncidentOpened(
    context,
    {
      orgId: ORG.orgId,
      category: 'consumer_not_approved',
      salesforce: {
        status: 400,
        error: 'invalid_grant',
        error_description: "user hasn't approved this consumer",
      },
      remediation: { summary: 'Approve the app', steps: ['Open the approval link'] },
      count: 1,
      firstSeenAt: '2026-11-28T09:00:00.000Z',
      lastSeenAt: '2026-11-28T09:00:00.000Z',
    },
    'req-1',
  );

async function publisherFor(
  options: { topic?: string; maxAttempts?: number; attemptTimeoutMs?: number } = {},
) {
  const client = createLocalAwsClient('sns', sns.endpoint, {
    maxAttempts: options.maxAttempts ?? 3,
    attemptTimeoutMs: options.attemptTimeoutMs ?? 1000,
  });
  const publisher = new SnsEventPublisher({
    client,
    topicArn: options.topic ?? topicArn,
    ...observability(),
  });
  return { client, publisher };
}

/** Publishes while capturing output; returns the requests SNS saw and the captured entries. */
async function publishCaptured(publisher: SnsEventPublisher, event: BrokerEvent = opened()) {
  const before = sns.requestCount();
  const output = captureOutput();
  try {
    await expect(publisher.publish(event)).resolves.toBeUndefined();
  } finally {
    output.stop();
  }
  return { requests: sns.requestCount() - before, output };
}

function expectFallback(
  output: ReturnType<typeof captureOutput>,
  event: object,
  errorName: string,
) {
  const fallback = output.entries().filter((e) => e.event_delivery_failed === true);
  expect(fallback).toHaveLength(1);
  expect(fallback[0]).toMatchObject({ level: 'ERROR', error_name: errorName, event });
  expectValidEvent(fallback[0]?.event);
  const emf = emfWith(output.entries(), METRIC.eventDeliveryFailed);
  expect(emf).toHaveLength(1);
  expect(emf[0]?.[METRIC.eventDeliveryFailed]).toBe(1);
  expect(findSecrets(output.text())).toEqual([]);
}

describe("SNS publisher through the functions' SNS client", () => {
  it('publishes the event as the message with filterable attributes and a subject', async () => {
    const { publisher } = await publisherFor();
    const event = opened();
    const { requests, output } = await publishCaptured(publisher, event);
    expect(requests).toBe(1);
    const received = sns.messages.at(-1);
    expect(JSON.parse(received?.message ?? '')).toEqual(event);
    expect(received?.attributes).toEqual({
      type: 'token_broker.incident.opened',
      orgId: 'acme-prod',
      severity: 'critical',
      category: 'consumer_not_approved',
    });
    expect(received?.subject).toBe(
      '[critical] token_broker.incident.opened orgs/acme-prod consumer_not_approved',
    );
    expect(output.entries().filter((e) => e.event_delivery_failed)).toEqual([]);
  });

  it('omits the category attribute of an event without one', async () => {
    const { publisher } = await publisherFor();
    const event = buildApprovalCompleted(context, {
      orgId: ORG.orgId,
      integrationUsername: ORG.username,
      approverUsername: ORG.username,
      grantedScopes: ['api', 'refresh_token'],
      jwtExchangeWorks: true,
      requestId: 'req-2',
    });
    await publishCaptured(publisher, event);
    expect(sns.messages.at(-1)?.attributes).toEqual({
      type: 'token_broker.approval.completed',
      orgId: 'acme-prod',
      severity: 'info',
    });
  });

  it('keeps the subject within what SNS accepts for long org ids and categories', async () => {
    const { publisher } = await publisherFor();
    const base = opened();
    const orgId = `a${'-very-long-org-name'.repeat(4)}`;
    const event = {
      ...base,
      subject: `orgs/${orgId}`,
      data: { ...base.data, orgId, category: 'user_not_admin_approved' as const },
    };
    const { output } = await publishCaptured(publisher, event);
    expect(output.entries().filter((e) => e.event_delivery_failed)).toEqual([]);
    expect(sns.messages.at(-1)?.subject).toHaveLength(100);
  });

  it('honours AWS_ENDPOINT_URL_SNS when no endpoint is given', async () => {
    vi.stubEnv('AWS_ENDPOINT_URL_SNS', sns.endpoint);
    const { sns: client } = await createAwsClients();
    if (!client) throw new Error('createAwsClients built no SNS client');
    const publisher = new SnsEventPublisher({ client, topicArn, ...observability() });
    const { requests } = await publishCaptured(publisher);
    expect(requests).toBe(1);
  });

  it('retries a throttled publish and delivers it', async () => {
    const { publisher } = await publisherFor();
    sns.injectFault(SNS_FAULTS.throttling);
    const delivered = sns.messages.length;
    const { requests, output } = await publishCaptured(publisher);
    expect(requests).toBe(2);
    expect(sns.messages.length).toBe(delivered + 1);
    expect(output.entries().filter((e) => e.event_delivery_failed)).toEqual([]);
  });

  it.each([
    // SNS's own error codes (the XML `<Code>`), as its API reference lists them.
    ['NotFound', { topic: 'arn:aws:sns:eu-west-1:000000000000:missing' }, undefined],
    ['AuthorizationError', {}, SNS_FAULTS.authorizationError],
    ['KMSAccessDenied', {}, SNS_FAULTS.kmsAccessDenied],
  ] as const)(
    'does not retry %s and falls back to the log and metric',
    async (name, options, fault) => {
      const { publisher } = await publisherFor(options);
      if (fault) sns.injectFault(fault);
      const event = opened();
      const { requests, output } = await publishCaptured(publisher, event);
      expect(requests).toBe(1);
      expectFallback(output, event, name);
    },
  );

  it('gives up after the bounded attempts on InternalError', async () => {
    const { publisher } = await publisherFor({ maxAttempts: 2 });
    sns.injectFault(SNS_FAULTS.internalError, 2);
    const event = opened();
    const { requests, output } = await publishCaptured(publisher, event);
    expect(requests).toBe(2);
    expectFallback(output, event, 'InternalError');
    expect(output.entries().find((e) => e.event_delivery_failed)?.attempts).toBe(2);
  });

  it('times out an attempt that never gets an answer', async () => {
    const { publisher } = await publisherFor({ maxAttempts: 2, attemptTimeoutMs: 150 });
    sns.injectFault('hang', 2);
    const event = opened();
    const { requests, output } = await publishCaptured(publisher, event);
    expect(requests).toBe(2);
    const fallback = output.entries().find((e) => e.event_delivery_failed);
    expect(String(fallback?.error_name)).toMatch(/Timeout/);
    expectFallback(output, event, String(fallback?.error_name));
  });
});
