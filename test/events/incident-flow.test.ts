import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DynamoIncidentStore } from '../../lambda/adapters/incident-store';
import { BrokerError } from '../../lambda/core/errors';
import type { IncidentService } from '../../lambda/core/ports';
import { createIncidentService } from '../../lambda/services/incident-service';
import { type LocalDynamo, startDynalite } from '../support/dynalite';
import { RecordingPublisher } from '../support/events';
import { captureOutput, findSecrets } from '../support/logs';
import {
  eventContext,
  FAKE_ACCESS_TOKEN,
  FAKE_ASSERTION,
  ManualClock,
  notApprovedError,
  ORG,
  observability,
  unavailableError,
} from './fixtures';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

let dynamo: LocalDynamo;
let clock: ManualClock;
let publisher: RecordingPublisher;
let ledger: DynamoIncidentStore;
let tracker: IncidentService;
let quiet: ReturnType<typeof captureOutput>;

beforeAll(async () => {
  dynamo = await startDynalite();
});
afterAll(async () => {
  await dynamo.close();
});
beforeEach(async () => {
  // The tracker logs every transition to stdout; the tests that read those logs capture them too.
  quiet = captureOutput();
  clock = new ManualClock();
  publisher = new RecordingPublisher({ knownSecrets: () => [FAKE_ACCESS_TOKEN, FAKE_ASSERTION] });
  ledger = new DynamoIncidentStore({
    documents: dynamo.documents,
    tableName: await dynamo.createTable(),
  });
  tracker = createIncidentService({
    store: ledger,
    publisher,
    events: eventContext(clock),
    reminderIntervalMs: HOUR,
    ...observability(),
  });
});

afterEach(() => {
  quiet.stop();
});

const fail = (requestId: string, error = notApprovedError()) =>
  tracker.recordFailure({ org: ORG, error, requestId });
const succeed = (
  requestId: string,
  cause: 'token_exchange' | 'approval_callback' = 'token_exchange',
) => tracker.recordSuccess({ org: ORG, requestId, cause });

describe('incident lifecycle over the DynamoDB ledger', () => {
  it('opens on the first failure, counts repeats, reminds once per interval, resolves on success', async () => {
    const output = captureOutput();
    try {
      await fail('req-1');
      clock.advance(10 * MINUTE);
      await fail('req-2');
      clock.advance(40 * MINUTE);
      await fail('req-3');
      clock.advance(10 * MINUTE); // 60 minutes after the opening notification
      await fail('req-4');
      clock.advance(30 * MINUTE);
      await fail('req-5'); // 30 minutes after the reminder: counted only
      expect(await tracker.listOpen(ORG.orgId)).toEqual([
        {
          category: 'consumer_not_approved',
          count: 5,
          firstSeenAt: '2026-11-28T09:00:00.000Z',
          lastSeenAt: '2026-11-28T10:30:00.000Z',
        },
      ]);
      clock.advance(15 * MINUTE);
      await succeed('req-6');
      await succeed('req-7');
    } finally {
      output.stop();
    }

    expect(publisher.types()).toEqual([
      'token_broker.incident.opened',
      'token_broker.incident.reminder',
      'token_broker.incident.resolved',
    ]);
    const [opened, reminder, resolved] = publisher.events;
    expect(opened?.data).toMatchObject({
      orgId: 'acme-prod',
      category: 'consumer_not_approved',
      severity: 'critical',
      count: 1,
      requestId: 'req-1',
      salesforce: { status: 400, error: 'invalid_grant' },
      remediation: {
        approvalLink: 'https://broker.example.com/prod/oauth/authorize?org=acme-prod',
      },
    });
    expect(opened?.time).toBe('2026-11-28T09:00:00.000Z');
    expect(reminder?.data).toMatchObject({
      count: 4,
      requestId: 'req-4',
      lastSeenAt: '2026-11-28T10:00:00.000Z',
    });
    expect(resolved?.data).toMatchObject({
      count: 5,
      requestId: 'req-6',
      firstSeenAt: '2026-11-28T09:00:00.000Z',
      resolution: {
        cause: 'token_exchange',
        resolvedAt: '2026-11-28T10:45:00.000Z',
        durationSeconds: 6300,
      },
    });
    expect(await tracker.listOpen(ORG.orgId)).toEqual([]);

    const logs = output.entries();
    expect(logs.filter((e) => e.message === 'Incident opened')).toHaveLength(1);
    expect(findSecrets(output.text(), [FAKE_ACCESS_TOKEN, FAKE_ASSERTION])).toEqual([]);
    expect(findSecrets(JSON.stringify(publisher.events), [FAKE_ACCESS_TOKEN])).toEqual([]);
  });

  it('keeps one incident per category and resolves all of them on the next success', async () => {
    await fail('req-1');
    await fail('req-2', unavailableError());
    await fail('req-3', new BrokerError('org_not_found', 'no such org'));
    await fail('req-4', new BrokerError('caller_not_authorized', 'not yours'));
    clock.advance(5 * MINUTE);
    await succeed('req-5', 'approval_callback');

    expect(publisher.types()).toEqual([
      'token_broker.incident.opened',
      'token_broker.incident.opened',
      'token_broker.incident.resolved',
      'token_broker.incident.resolved',
    ]);
    const resolved = publisher.ofType('token_broker.incident.resolved');
    expect(resolved.map((e) => e.data.category).sort()).toEqual([
      'consumer_not_approved',
      'salesforce_unavailable',
    ]);
    for (const event of resolved) {
      expect(event.data).toMatchObject({
        resolution: { cause: 'approval_callback', durationSeconds: 300 },
      });
    }
    expect(publisher.events[1]?.data).toMatchObject({
      severity: 'warning',
      salesforce: { status: 503 },
    });
  });

  it('opens a new incident when the failure comes back after a resolution', async () => {
    await fail('req-1');
    await succeed('req-2');
    clock.advance(MINUTE);
    await fail('req-3');
    await succeed('req-4');
    expect(publisher.types()).toEqual([
      'token_broker.incident.opened',
      'token_broker.incident.resolved',
      'token_broker.incident.opened',
      'token_broker.incident.resolved',
    ]);
    expect(publisher.events[2]?.data).toMatchObject({
      count: 1,
      firstSeenAt: '2026-11-28T09:01:00.000Z',
    });
  });

  it('spends no DynamoDB call on successes while the org is known clean, and looks again later', async () => {
    await succeed('req-1'); // empty Query: the org is now known clean
    // Another instance opens an incident behind this instance's back.
    const other = createIncidentService({
      store: ledger,
      publisher,
      events: eventContext(clock),
      ...observability(),
    });
    await other.recordFailure({ org: ORG, error: notApprovedError(), requestId: 'req-2' });

    await dynamo.close(); // any DynamoDB call would now fail and be logged
    const output = captureOutput();
    try {
      await succeed('req-3');
    } finally {
      output.stop();
    }
    expect(output.entries().filter((e) => e.incident_ledger_error)).toEqual([]);
    dynamo = await startDynalite();
    expect(publisher.types()).toEqual(['token_broker.incident.opened']);
  });

  it('resolves an incident opened elsewhere once the clean verdict has aged', async () => {
    await succeed('req-1');
    const other = createIncidentService({
      store: ledger,
      publisher,
      events: eventContext(clock),
      ...observability(),
    });
    await other.recordFailure({ org: ORG, error: notApprovedError(), requestId: 'req-2' });
    clock.advance(MINUTE);
    await succeed('req-3');
    expect(publisher.types()).toEqual(['token_broker.incident.opened']);
    clock.advance(5 * MINUTE);
    await succeed('req-4');
    expect(publisher.types()).toEqual([
      'token_broker.incident.opened',
      'token_broker.incident.resolved',
    ]);
  });
});
