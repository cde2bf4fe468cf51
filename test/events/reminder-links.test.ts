/**
 * Reminders carry a fresh approval link: the token service mints one with each failure's
 * remediation, the DynamoDB incident store keeps the latest, and the reminder publishes it, so an
 * operator never gets a reminder whose link has already expired.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoIncidentStore } from '../../lambda/adapters/incident-store';
import { createSalesforceTokenClient } from '../../lambda/adapters/salesforce-token-client';
import { deadlineIn } from '../../lambda/core/deadline';
import { validateOrgRecord } from '../../lambda/core/org-record';
import { createIncidentService } from '../../lambda/services/incident-service';
import { createTokenService } from '../../lambda/services/token-service';
import { type LocalDynamo, startDynalite } from '../support/dynalite';
import { RecordingPublisher } from '../support/events';
import {
  createMemoryFleet,
  createMemoryKeys,
  createMemoryRegistry,
  createRecordingLogger,
  createRecordingReporter,
  withJwtExchange,
} from '../support/in-memory-ports';
import { signingMaterial } from '../support/keys';
import { captureOutput } from '../support/logs';
import {
  type ScriptedSalesforce,
  sfError,
  startScriptedSalesforce,
} from '../support/scripted-salesforce';
import { eventContext, ManualClock, observability } from './fixtures';

const CALLER = 'arn:aws:iam::123456789012:role/Fulfilment';
const HOUR = 3_600_000;
let dynamo: LocalDynamo;
let salesforce: ScriptedSalesforce;

beforeAll(async () => {
  [dynamo, salesforce] = await Promise.all([startDynalite(), startScriptedSalesforce()]);
});
afterAll(() => Promise.all([dynamo.close(), salesforce.close()]));

describe('approval links in incident events', () => {
  it('the reminder carries a link minted at the reminding failure, not the opening one', async () => {
    const material = await signingMaterial('reminder-links');
    const org = validateOrgRecord({
      orgId: 'acme',
      loginUrl: salesforce.url,
      consumerKey: '3MVG9consumer.key',
      username: 'integration@acme.example',
      signingKeySecretId: 'keys/acme',
      callers: [CALLER],
    });
    salesforce.answerWith(sfError('invalid_grant', "user hasn't approved this consumer"));
    const clock = new ManualClock();
    const time = {
      now: clock.read,
      after: (_ms: number, _callback: () => void) => () => undefined,
    };
    const publisher = new RecordingPublisher();
    const quiet = captureOutput();
    try {
      const service = createTokenService({
        fleet: createMemoryFleet({ failureMemoryMs: 0 }),
        registry: createMemoryRegistry([org]),
        ...withJwtExchange({
          signingKeys: createMemoryKeys({ 'keys/acme': material.secretString }),
          tokenEndpoint: createSalesforceTokenClient({ timeoutMs: 2000 }),
          publicBaseUrl: 'https://broker.example.com/prod',
          time,
        }),
        incidents: createIncidentService({
          store: new DynamoIncidentStore({
            documents: dynamo.documents,
            tableName: await dynamo.createTable(),
          }),
          publisher,
          events: eventContext(clock),
          reminderIntervalMs: HOUR,
          ...observability(),
        }),
        reporter: createRecordingReporter(),
        logger: createRecordingLogger(),
        time,
      });
      const fail = (requestId: string) =>
        service
          .getToken('acme', {
            caller: CALLER,
            requestId,
            deadline: deadlineIn(5000, Date.now()),
          })
          .catch(() => undefined);
      await fail('req-1');
      clock.advance(2 * HOUR);
      await fail('req-2');
    } finally {
      quiet.stop();
    }

    expect(publisher.types()).toEqual([
      'token_broker.incident.opened',
      'token_broker.incident.reminder',
    ]);
    const links = publisher.events.map(
      (event) => new URL((event.data.remediation as { approvalLink: string }).approvalLink),
    );
    const expiries = links.map((link) => Number(link.searchParams.get('exp')));
    expect(expiries[1]).toBe((expiries[0] ?? 0) + 2 * 3600);
    expect(links[1]?.searchParams.get('sig')).not.toBe(links[0]?.searchParams.get('sig'));
  });
});
