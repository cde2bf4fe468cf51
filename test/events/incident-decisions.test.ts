import { describe, expect, it } from 'vitest';
import { CATEGORY_TRAITS, type Category } from '../../lambda/core/categories';
import {
  decideAfterFailure,
  isIncidentCategory,
  resolveIncident,
  type StoredIncident,
} from '../../lambda/core/incidents';

const HOUR = 3_600_000;
const t0 = Date.parse('2026-11-28T09:00:00.000Z');
const incident = (count: number, lastNotifiedAt = t0): StoredIncident => ({
  orgId: 'acme-prod',
  category: 'consumer_not_approved',
  count,
  firstSeenAt: t0,
  lastSeenAt: t0,
  lastNotifiedAt,
});

describe('incident decisions', () => {
  it('opens on the first failure, then counts until the interval has passed', () => {
    expect(decideAfterFailure(incident(1), t0, HOUR)).toBe('open');
    expect(decideAfterFailure(incident(2), t0 + HOUR - 1, HOUR)).toBe('count');
    expect(decideAfterFailure(incident(2), t0 + HOUR, HOUR)).toBe('remind');
    expect(decideAfterFailure(incident(9, t0 + HOUR), t0 + HOUR + 1, HOUR)).toBe('count');
  });

  it('measures the duration from the first failure and never negative', () => {
    expect(resolveIncident(incident(3), 'approval_callback', t0 + 90_400)).toEqual({
      cause: 'approval_callback',
      resolvedAt: '2026-11-28T09:01:30.400Z',
      durationSeconds: 90,
    });
    expect(resolveIncident(incident(1), 'token_exchange', t0 - 5000).durationSeconds).toBe(0);
  });

  it('opens incidents for Salesforce faults and unreadable keys, not for caller mistakes', () => {
    const categories = Object.keys(CATEGORY_TRAITS) as Category[];
    expect(categories.filter((c) => !isIncidentCategory(c))).toEqual([
      'invalid_request',
      'org_not_found',
      'caller_not_authorized',
      'approval_denied',
      'approval_blocked',
      'state_invalid',
      'code_exchange_failed',
      'approver_mismatch',
    ]);
  });
});
