import { describe, expect, it } from 'vitest';
import {
  APPROVAL_CATEGORIES,
  BROKER_CATEGORIES,
  SALESFORCE_CATEGORIES,
} from '../../lambda/core/categories';
import {
  buildApprovalCompleted,
  buildApprovalFailed,
  buildCertificateExpiring,
  buildIncidentOpened,
  buildIncidentReminder,
  buildIncidentResolved,
  buildKeyRotated,
  type EventContext,
  type IncidentSnapshot,
} from '../../lambda/core/events';
import { EVENT_TYPES } from '../../lambda/core/types';
import {
  EVENT_SCHEMA,
  expectValidEvent,
  findEventProblem,
  RecordingPublisher,
} from '../support/events';

let sequence = 0;
const context: EventContext = {
  source: 'urn:salesforce-token-broker:test:token',
  clock: () => Date.parse('2026-11-28T10:00:00.000Z'),
  newId: () => `evt-${++sequence}`,
};
const incident: IncidentSnapshot = {
  orgId: 'acme-prod',
  category: 'consumer_not_approved',
  salesforce: {
    status: 400,
    error: 'invalid_grant',
    error_description: "user hasn't approved this consumer",
  },
  remediation: {
    summary: 'The integration user has not approved the app.',
    steps: ['Open the approval link as integration@acme.com and click Allow.'],
    approvalLink: 'https://broker.example.com/oauth/authorize?org=acme-prod',
    salesforceAuthorizeUrl:
      'https://login.salesforce.com/services/oauth2/authorize?client_id=3MVG9&redirect_uri=https%3A%2F%2Fbroker.example.com%2Foauth%2Fcallback&response_type=code',
    runbook: 'docs/runbook.md#consumer_not_approved',
  },
  count: 3,
  firstSeenAt: '2026-11-28T09:00:00.000Z',
  lastSeenAt: '2026-11-28T09:59:00.000Z',
};
const approval = {
  orgId: 'acme-prod',
  integrationUsername: 'integration@acme.com',
  approverUsername: 'integration@acme.com',
  grantedScopes: ['api', 'refresh_token'],
  requestId: 'req-9',
};

describe('the event JSON Schema', () => {
  it('accepts every event the builders produce', () => {
    const events = [
      buildIncidentOpened(context, incident, 'req-1'),
      buildIncidentReminder(context, incident, 'req-2'),
      buildIncidentResolved(
        context,
        incident,
        {
          cause: 'approval_callback',
          resolvedAt: '2026-11-28T10:00:00.000Z',
          durationSeconds: 3600,
        },
        'req-3',
      ),
      buildApprovalCompleted(context, { ...approval, jwtExchangeWorks: true }),
      buildApprovalFailed(context, {
        ...approval,
        approverUsername: 'admin@acme.com',
        jwtExchangeWorks: false,
        category: 'approver_mismatch',
      }),
      buildKeyRotated(context, {
        orgId: 'acme-prod',
        previousKey: 'salesforce-token-broker/acme-prod',
        currentKey: 'salesforce-token-broker/acme-prod-20261128t100000z',
        keyKind: 'kms',
        certificateFingerprintSha256: 'a'.repeat(64),
        promotedAt: '2026-11-28T10:00:00.000Z',
        requestId: 'req-6',
      }),
      buildCertificateExpiring(context, {
        orgId: 'acme-prod',
        signingKey: 'salesforce-token-broker/acme-prod',
        certificateFingerprintSha256: 'b'.repeat(64),
        notAfter: '2026-12-05T10:00:00.000Z',
        daysToExpiry: 7,
        threshold: 7,
      }),
      buildIncidentOpened(context, { ...incident, salesforce: { status: 0 } }, 'req-4'),
      buildIncidentOpened(
        context,
        {
          orgId: 'a',
          category: 'signing_key_unavailable',
          count: 1,
          firstSeenAt: incident.firstSeenAt,
          lastSeenAt: incident.firstSeenAt,
        },
        'req-5',
      ),
    ];
    for (const event of events) expectValidEvent(event);
  });

  it('lists exactly the categories and event types of the code', () => {
    expect(EVENT_SCHEMA.$defs.category?.enum).toEqual([
      ...SALESFORCE_CATEGORIES,
      ...BROKER_CATEGORIES,
      ...APPROVAL_CATEGORIES,
    ]);
    const types = Object.values(EVENT_SCHEMA.$defs).flatMap((def) => {
      const type = (def.properties as Record<string, { const?: string }> | undefined)?.type;
      return type?.const ? [type.const] : [];
    });
    expect(types).toEqual([...EVENT_TYPES]);
  });

  it('rejects unknown fields, wrong types and secret-shaped values', () => {
    const opened = buildIncidentOpened(context, incident, 'req-1');
    expect(findEventProblem({ ...opened, data: { ...opened.data, code: 'aPrx' } })).toMatch(
      /must NOT have additional properties/,
    );
    expect(findEventProblem({ ...opened, type: 'token_broker.incident.reopened' })).toBeDefined();
    expect(findEventProblem({ ...opened, time: 'yesterday' })).toMatch(/date-time/);
    const assertion = `eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiIzTVZHOSJ9.${'x'.repeat(40)}`;
    expect(findEventProblem({ ...opened, data: { ...opened.data, requestId: assertion } })).toMatch(
      /secret/,
    );
    expect(findEventProblem(opened, ['req-1-secret-value'])).toBeUndefined();
  });

  it('makes a recording publisher refuse to show events when one was invalid', async () => {
    const publisher = new RecordingPublisher();
    const opened = buildIncidentOpened(context, incident, 'req-1');
    await publisher.publish(opened);
    expect(publisher.types()).toEqual(['token_broker.incident.opened']);
    await publisher.publish({ ...opened, subject: 'org acme' });
    expect(() => publisher.events).toThrow(/subject/);
  });
});
