/**
 * The incident lifecycle's decisions (docs/events.md), apart from the storage that records them: one
 * incident per (org, category); the first failure opens it, repeats only count, a reminder goes
 * out at most once per interval, and the first success resolves it with its duration.
 */
import { type Category, isSalesforceCategory } from './categories';
import type { IncidentResolution, IncidentSnapshot } from './events';
import type { OpenIncident, ResolutionCause } from './ports';
import type { Remediation, SalesforceErrorDetail } from './types';

/** An incident as the ledger stores it. Times are epoch milliseconds. */
export type StoredIncident = {
  readonly orgId: string;
  readonly category: Category;
  readonly count: number;
  readonly firstSeenAt: number;
  readonly lastSeenAt: number;
  /** When the last `opened` or `reminder` was published (or claimed). */
  readonly lastNotifiedAt: number;
  readonly salesforce?: SalesforceErrorDetail | undefined;
  readonly remediation?: Remediation | undefined;
};

/** A failure to count, as the ledger records it. */
export type FailureRecord = {
  readonly orgId: string;
  readonly category: Category;
  readonly salesforce?: SalesforceErrorDetail | undefined;
  readonly remediation?: Remediation | undefined;
  /** Epoch milliseconds. */
  readonly at: number;
};

/** Which failures are incidents: Salesforce-side faults and an unreadable signing key or consumer secret. */
export function isIncidentCategory(category: Category): boolean {
  return (
    isSalesforceCategory(category) ||
    category === 'signing_key_unavailable' ||
    category === 'consumer_secret_unavailable'
  );
}

export type FailureDecision = 'open' | 'remind' | 'count';

/**
 * What to publish after a failure was counted.
 * @param reminderIntervalMs minimum time between two notifications for one incident
 */
export function decideAfterFailure(
  incident: StoredIncident,
  now: number,
  reminderIntervalMs: number,
): FailureDecision {
  if (incident.count === 1) return 'open';
  return now - incident.lastNotifiedAt >= reminderIntervalMs ? 'remind' : 'count';
}

/** How and when an incident ended; duration in whole seconds, never negative under clock skew. */
export function resolveIncident(
  incident: StoredIncident,
  cause: ResolutionCause,
  now: number,
): IncidentResolution {
  return {
    cause,
    resolvedAt: new Date(now).toISOString(),
    durationSeconds: Math.max(0, Math.round((now - incident.firstSeenAt) / 1000)),
  };
}

/** The event builders' view of a stored incident. */
export function toIncidentSnapshot(incident: StoredIncident): IncidentSnapshot {
  return {
    orgId: incident.orgId,
    category: incident.category,
    salesforce: incident.salesforce,
    remediation: incident.remediation,
    count: incident.count,
    firstSeenAt: new Date(incident.firstSeenAt).toISOString(),
    lastSeenAt: new Date(incident.lastSeenAt).toISOString(),
  };
}

/** The status route's view of a stored incident. */
export function toOpenIncident(incident: StoredIncident): OpenIncident {
  return {
    category: incident.category,
    count: incident.count,
    firstSeenAt: new Date(incident.firstSeenAt).toISOString(),
    lastSeenAt: new Date(incident.lastSeenAt).toISOString(),
  };
}
