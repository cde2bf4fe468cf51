import { describe, expect, it } from 'vitest';
import {
  buildApprovalCompleted,
  buildApprovalFailed,
  buildEventAttributes,
  buildIncidentOpened,
  buildIncidentResolved,
  type EventContext,
  type IncidentSnapshot,
} from '../../lambda/core/events';

const context: EventContext = {
  source: 'urn:salesforce-token-broker:test',
  clock: () => Date.parse('2026-11-28T10:00:00.000Z'),
  newId: () => 'evt-1',
};

const incident: IncidentSnapshot = {
  orgId: 'acme-prod',
  category: 'consumer_not_approved',
  salesforce: {
    status: 400,
    error: 'invalid_grant',
    error_description: "user hasn't approved this consumer",
  },
  remediation: { summary: 'Approve the app', steps: ['Open the link'] },
  count: 1,
  firstSeenAt: '2026-11-28T09:00:00.000Z',
  lastSeenAt: '2026-11-28T09:00:00.000Z',
};

describe('event builders', () => {
  it('builds a CloudEvents 1.0 envelope for an opened incident', () => {
    const event = buildIncidentOpened(context, incident, 'req-1');
    expect(event).toEqual({
      specversion: '1.0',
      id: 'evt-1',
      source: 'urn:salesforce-token-broker:test',
      type: 'token_broker.incident.opened',
      subject: 'orgs/acme-prod',
      time: '2026-11-28T10:00:00.000Z',
      datacontenttype: 'application/json',
      data: { ...incident, severity: 'critical', requestId: 'req-1' },
    });
  });

  it('copies only the documented Salesforce fields', () => {
    const leaky = { ...incident, salesforce: { status: 400, access_token: 'x' } as never };
    expect(buildIncidentOpened(context, leaky, 'r').data.salesforce).toEqual({ status: 400 });
  });

  it('carries the resolution of a resolved incident', () => {
    const resolution = {
      cause: 'token_exchange',
      resolvedAt: '2026-11-28T10:00:00.000Z',
      durationSeconds: 3600,
    } as const;
    const event = buildIncidentResolved(context, incident, resolution, 'req-2');
    expect(event.type).toBe('token_broker.incident.resolved');
    expect(event.data.resolution).toEqual(resolution);
  });

  it('derives the SNS filter attributes from the event', () => {
    expect(buildEventAttributes(buildIncidentOpened(context, incident, 'r'))).toEqual({
      type: 'token_broker.incident.opened',
      orgId: 'acme-prod',
      severity: 'critical',
      category: 'consumer_not_approved',
    });
    const completed = buildApprovalCompleted(context, {
      orgId: 'acme-prod',
      integrationUsername: 'integration@acme.com',
      approverUsername: 'integration@acme.com',
      grantedScopes: ['api', 'refresh_token'],
      jwtExchangeWorks: true,
      requestId: 'r',
    });
    expect(buildEventAttributes(completed)).toEqual({
      type: 'token_broker.approval.completed',
      orgId: 'acme-prod',
      severity: 'info',
    });
  });

  it('gives a failed approval its category and severity', () => {
    const event = buildApprovalFailed(context, {
      orgId: 'acme-prod',
      integrationUsername: 'integration@acme.com',
      approverUsername: 'admin@acme.com',
      jwtExchangeWorks: false,
      category: 'approver_mismatch',
      requestId: 'r',
    });
    expect(event.data).toMatchObject({ category: 'approver_mismatch', severity: 'warning' });
  });
});
