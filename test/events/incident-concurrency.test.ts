import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoIncidentStore } from '../../lambda/adapters/incident-store';
import { METRIC } from '../../lambda/core/metrics';
import { createIncidentService } from '../../lambda/services/incident-service';
import { createLocalDocuments } from '../../local/aws-clients';
import { type LocalDynamo, startDynalite } from '../support/dynalite';
import { RecordingPublisher } from '../support/events';
import { captureOutput, findSecrets } from '../support/logs';
import {
  emfWith,
  eventContext,
  FAKE_ASSERTION,
  ManualClock,
  notApprovedError,
  ORG,
  observability,
} from './fixtures';

const HOUR = 3_600_000;
let dynamo: LocalDynamo;

beforeAll(async () => {
  dynamo = await startDynalite();
});
afterAll(async () => {
  await dynamo.close();
});

/** Many Lambda instances share one table: each gets its own tracker and clean-org memory. */
async function instances(count: number, clock: ManualClock) {
  const tableName = await dynamo.createTable();
  const publisher = new RecordingPublisher();
  const trackers = Array.from({ length: count }, () =>
    createIncidentService({
      store: new DynamoIncidentStore({
        documents: dynamo.documents,
        tableName,
      }),
      publisher,
      events: eventContext(clock),
      reminderIntervalMs: HOUR,
      ...observability(),
    }),
  );
  return { publisher, trackers };
}

describe('incident ledger under concurrency (dynalite)', () => {
  it('publishes exactly one opened for 60 concurrent failures, and counts them all', async () => {
    const clock = new ManualClock();
    const { publisher, trackers } = await instances(60, clock);
    const output = captureOutput();
    try {
      await Promise.all(
        trackers.map((tracker, i) =>
          tracker.recordFailure({ org: ORG, error: notApprovedError(), requestId: `req-${i}` }),
        ),
      );
    } finally {
      output.stop();
    }
    expect(publisher.types()).toEqual(['token_broker.incident.opened']);
    expect(await trackers[0]?.listOpen(ORG.orgId)).toMatchObject([{ count: 60 }]);
    expect(output.entries().filter((e) => e.incident_ledger_error)).toEqual([]);
  });

  it('publishes exactly one reminder when many failures cross the interval together', async () => {
    const clock = new ManualClock();
    const { publisher, trackers } = await instances(30, clock);
    const output = captureOutput();
    try {
      await trackers[0]?.recordFailure({ org: ORG, error: notApprovedError(), requestId: 'first' });
      clock.advance(HOUR);
      await Promise.all(
        trackers.map((tracker, i) =>
          tracker.recordFailure({ org: ORG, error: notApprovedError(), requestId: `req-${i}` }),
        ),
      );
    } finally {
      output.stop();
    }
    expect(publisher.types()).toEqual([
      'token_broker.incident.opened',
      'token_broker.incident.reminder',
    ]);
  });

  it('publishes exactly one resolved for many concurrent successes', async () => {
    const clock = new ManualClock();
    const { publisher, trackers } = await instances(30, clock);
    const output = captureOutput();
    try {
      await trackers[0]?.recordFailure({ org: ORG, error: notApprovedError(), requestId: 'first' });
      await Promise.all(
        trackers.map((tracker, i) =>
          tracker.recordSuccess({ org: ORG, requestId: `req-${i}`, cause: 'token_exchange' }),
        ),
      );
    } finally {
      output.stop();
    }
    expect(publisher.types()).toEqual([
      'token_broker.incident.opened',
      'token_broker.incident.resolved',
    ]);
  });
});

describe('DynamoDB unavailable', () => {
  it('logs and counts ledger errors, never throws, and keeps no secret in the log', async () => {
    // A port nobody listens on: connections are refused at once.
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', () => resolve()));
    const { port } = probe.address() as { port: number };
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const documents = createLocalDocuments(`http://127.0.0.1:${port}`, { maxAttempts: 1 });
    const publisher = new RecordingPublisher();
    const tracker = createIncidentService({
      store: new DynamoIncidentStore({
        documents,
        tableName: 'broker',
      }),
      publisher,
      events: eventContext(new ManualClock()),
      ...observability(),
    });

    const output = captureOutput();
    try {
      await expect(
        tracker.recordFailure({ org: ORG, error: notApprovedError(), requestId: 'req-1' }),
      ).resolves.toBeUndefined();
      await expect(
        tracker.recordSuccess({ org: ORG, requestId: 'req-2', cause: 'token_exchange' }),
      ).resolves.toBeUndefined();
      await expect(tracker.listOpen(ORG.orgId)).resolves.toEqual([]);
    } finally {
      output.stop();
    }

    const errors = output.entries().filter((e) => e.incident_ledger_error === true);
    expect(errors.map((e) => [e.level, e.operation, e.org_id])).toEqual([
      ['ERROR', 'recordFailure', 'acme-prod'],
      ['ERROR', 'recordSuccess', 'acme-prod'],
      ['ERROR', 'listOpen', 'acme-prod'],
    ]);
    expect(errors[0]).toMatchObject({ category: 'consumer_not_approved', request_id: 'req-1' });
    expect(emfWith(output.entries(), METRIC.incidentLedgerErrors)).toHaveLength(3);
    expect(publisher.types()).toEqual([]);
    expect(findSecrets(output.text(), [FAKE_ASSERTION])).toEqual([]);
  });
});
