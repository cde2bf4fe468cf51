/**
 * The small interfaces the core and the services depend on. Adapters (AWS SDK, HTTP) implement
 * them; tests and the local runtime can supply their own. Nothing here does I/O.
 */
import type { BrokerError } from './errors';
import type { BrokerEvent, OrgRecord } from './types';

/** The org registry (SPEC §3.3). */
export interface OrgRegistry {
  getOrg(orgId: string): Promise<OrgRecord | undefined>;
  putOrg(record: OrgRecord): Promise<void>;
  /** @returns whether a record existed. */
  deleteOrg(orgId: string): Promise<boolean>;
  listOrgs(): Promise<OrgRecord[]>;
}

/**
 * Delivers events (SNS in AWS, console + JSON lines locally).
 * Implementations never throw: an event that cannot be delivered is logged in full with a marker
 * and counted (`EventDeliveryFailed`), so that nothing is lost and no caller is broken by it.
 */
export interface EventPublisher {
  publish(event: BrokerEvent): Promise<void>;
}

export type ResolutionCause = 'token_exchange' | 'approval_callback';

/** An incident as listed by the status route. */
export interface OpenIncident {
  readonly category: string;
  readonly count: number;
  readonly firstSeenAt: string;
  readonly lastSeenAt: string;
}

/**
 * Turns exchange outcomes into the incident lifecycle (SPEC §3.6). Called only on fresh exchanges,
 * never on cache hits. Implementations never throw: the token path must not depend on them.
 */
export interface IncidentTracker {
  recordFailure(input: {
    readonly org: OrgRecord;
    readonly error: BrokerError;
    readonly requestId: string;
  }): Promise<void>;
  recordSuccess(input: {
    readonly org: OrgRecord;
    readonly requestId: string;
    readonly cause: ResolutionCause;
  }): Promise<void>;
  listOpen(orgId: string): Promise<OpenIncident[]>;
}

/**
 * Runs a fresh JWT Bearer exchange for an org, bypassing and then refreshing the token cache.
 * Throws a `BrokerError` carrying the category, Salesforce detail and remediation on failure.
 * The approval callback uses it to prove a fix.
 */
export interface TokenExchanger {
  exchangeFresh(
    org: OrgRecord,
    context: { readonly requestId: string; readonly deadline: number },
  ): Promise<import('./types').TokenGrant>;
}
