/**
 * Builders of the broker's CloudEvents 1.0 envelopes (docs/events.md), one per event type, and the SNS
 * message attributes subscribers filter on. Pure: the clock, the id generator and the `source`
 * come from the caller. No builder accepts a field that could carry a token, an assertion, an
 * authorization code or a key, so none can leak one.
 */
import { CATEGORY_TRAITS, type Category, type Severity } from './categories';
import type { ResolutionCause } from './ports';
import type { BrokerEvent, Clock, EventType, Remediation, SalesforceErrorDetail } from './types';

/** What every builder needs besides the event's own data. */
export interface EventContext {
  /** CloudEvents `source`, e.g. `urn:salesforce-token-broker:eu-west-1:prod:token`. */
  readonly source: string;
  readonly clock: Clock;
  /** Returns a fresh unique event id (e.g. `crypto.randomUUID`). */
  readonly newId: () => string;
}

/** `data` of `incident.opened` and `incident.reminder`. */
export type IncidentEventData = {
  readonly orgId: string;
  readonly category: Category;
  readonly severity: Severity;
  /** What Salesforce answered; absent for broker-side failures. */
  readonly salesforce?: SalesforceErrorDetail | undefined;
  readonly remediation?: Remediation | undefined;
  /** Failures counted in this incident so far. */
  readonly count: number;
  /** RFC 3339 UTC */
  readonly firstSeenAt: string;
  /** RFC 3339 UTC */
  readonly lastSeenAt: string;
  /** The request that produced this event (the failing one; for resolved, the fixing one). */
  readonly requestId: string;
};

/** How an incident ended. */
export type IncidentResolution = {
  readonly cause: ResolutionCause;
  /** RFC 3339 UTC */
  readonly resolvedAt: string;
  /** Whole seconds from `firstSeenAt` to `resolvedAt`. */
  readonly durationSeconds: number;
};

/** `data` of `incident.resolved`. */
export type IncidentResolvedData = IncidentEventData & { readonly resolution: IncidentResolution };

/** `data` of `approval.completed` and `approval.failed`. Never the code or any token. */
export type ApprovalEventData = {
  readonly orgId: string;
  /** Set on `approval.failed` only: why the approval did not fix the org. */
  readonly category?: Category | undefined;
  readonly severity: Severity;
  /** Who clicked Allow, when the identity is known. */
  readonly approverUsername?: string | undefined;
  /** The user the broker signs as (JWT `sub`). */
  readonly integrationUsername: string;
  /** Scopes Salesforce granted, when known. */
  readonly grantedScopes?: readonly string[] | undefined;
  /** Whether the JWT Bearer exchange run right after the approval succeeded. */
  readonly jwtExchangeWorks: boolean;
  readonly salesforce?: SalesforceErrorDetail | undefined;
  readonly remediation?: Remediation | undefined;
  readonly requestId: string;
};

export type IncidentOpenedEvent = BrokerEvent<IncidentEventData> & {
  readonly type: 'token_broker.incident.opened';
};
export type IncidentReminderEvent = BrokerEvent<IncidentEventData> & {
  readonly type: 'token_broker.incident.reminder';
};
export type IncidentResolvedEvent = BrokerEvent<IncidentResolvedData> & {
  readonly type: 'token_broker.incident.resolved';
};
export type ApprovalCompletedEvent = BrokerEvent<ApprovalEventData> & {
  readonly type: 'token_broker.approval.completed';
};
export type ApprovalFailedEvent = BrokerEvent<ApprovalEventData> & {
  readonly type: 'token_broker.approval.failed';
};

/** `data` of `key.rotated`: a staged key was accepted by Salesforce and is now current. */
export type KeyRotatedData = {
  readonly orgId: string;
  readonly severity: 'info';
  /** Secret names only: never key material. */
  readonly previousKey: string;
  readonly currentKey: string;
  readonly keyKind?: 'secret' | 'kms' | undefined;
  readonly certificateFingerprintSha256?: string | undefined;
  /** RFC 3339 UTC */
  readonly promotedAt: string;
  readonly requestId: string;
};

/** The thresholds, in days, at which `certificate.expiring` is sent (once each). */
export const CERTIFICATE_EXPIRY_THRESHOLDS = [30, 14, 7, 1] as const;
export type CertificateExpiryThreshold = (typeof CERTIFICATE_EXPIRY_THRESHOLDS)[number];

/** `data` of `certificate.expiring`. */
export type CertificateExpiringData = {
  readonly orgId: string;
  readonly severity: 'warning' | 'critical';
  readonly signingKey: string;
  readonly certificateFingerprintSha256: string;
  /** RFC 3339 UTC */
  readonly notAfter: string;
  readonly daysToExpiry: number;
  readonly threshold: CertificateExpiryThreshold;
};

export type KeyRotatedEvent = BrokerEvent<KeyRotatedData> & {
  readonly type: 'token_broker.key.rotated';
};
export type CertificateExpiringEvent = BrokerEvent<CertificateExpiringData> & {
  readonly type: 'token_broker.certificate.expiring';
};

/** An incident as the builders need it: the lifecycle module's view, without SDK types. */
export type IncidentSnapshot = {
  readonly orgId: string;
  readonly category: Category;
  readonly salesforce?: SalesforceErrorDetail | undefined;
  readonly remediation?: Remediation | undefined;
  readonly count: number;
  readonly firstSeenAt: string;
  readonly lastSeenAt: string;
};

function buildEnvelope<T extends EventType, D extends object>(
  context: EventContext,
  type: T,
  orgId: string,
  data: D,
): BrokerEvent<D> & { readonly type: T } {
  return {
    specversion: '1.0',
    id: context.newId(),
    source: context.source,
    type,
    subject: `orgs/${orgId}`,
    time: new Date(context.clock()).toISOString(),
    datacontenttype: 'application/json',
    data,
  };
}

function toIncidentData(incident: IncidentSnapshot, requestId: string): IncidentEventData {
  return {
    orgId: incident.orgId,
    category: incident.category,
    severity: CATEGORY_TRAITS[incident.category].severity,
    ...(incident.salesforce && { salesforce: pickSalesforce(incident.salesforce) }),
    ...(incident.remediation && { remediation: incident.remediation }),
    count: incident.count,
    firstSeenAt: incident.firstSeenAt,
    lastSeenAt: incident.lastSeenAt,
    requestId,
  };
}

/** Copies only the documented fields, so nothing else a caller put there reaches an event. */
function pickSalesforce(detail: SalesforceErrorDetail): SalesforceErrorDetail {
  return {
    status: detail.status,
    ...(detail.error !== undefined && { error: detail.error }),
    ...(detail.error_description !== undefined && { error_description: detail.error_description }),
  };
}

/** `token_broker.incident.opened`: the first failure of a category for an org. */
export function buildIncidentOpened(
  context: EventContext,
  incident: IncidentSnapshot,
  requestId: string,
): IncidentOpenedEvent {
  return buildEnvelope(
    context,
    'token_broker.incident.opened',
    incident.orgId,
    toIncidentData(incident, requestId),
  );
}

/** `token_broker.incident.reminder`: the incident is still open (sent at most once per interval). */
export function buildIncidentReminder(
  context: EventContext,
  incident: IncidentSnapshot,
  requestId: string,
): IncidentReminderEvent {
  return buildEnvelope(
    context,
    'token_broker.incident.reminder',
    incident.orgId,
    toIncidentData(incident, requestId),
  );
}

/** `token_broker.incident.resolved`: the first success after the incident, with how and how long. */
export function buildIncidentResolved(
  context: EventContext,
  incident: IncidentSnapshot,
  resolution: IncidentResolution,
  requestId: string,
): IncidentResolvedEvent {
  return buildEnvelope(context, 'token_broker.incident.resolved', incident.orgId, {
    ...toIncidentData(incident, requestId),
    resolution,
  });
}

/** What the approval callback learned; see {@link ApprovalEventData}. */
export type ApprovalEventFacts = {
  readonly orgId: string;
  readonly integrationUsername: string;
  readonly approverUsername?: string | undefined;
  readonly grantedScopes?: readonly string[] | undefined;
  readonly jwtExchangeWorks: boolean;
  readonly requestId: string;
};

/** `token_broker.approval.completed`: an approval went through the callback without error. */
export function buildApprovalCompleted(
  context: EventContext,
  outcome: ApprovalEventFacts,
): ApprovalCompletedEvent {
  return buildEnvelope(context, 'token_broker.approval.completed', outcome.orgId, {
    ...toApprovalData(outcome),
    severity: 'info',
  });
}

/** `token_broker.approval.failed`: the approval was denied, invalid, or did not fix the exchange. */
export function buildApprovalFailed(
  context: EventContext,
  outcome: ApprovalEventFacts & {
    readonly category: Category;
    readonly salesforce?: SalesforceErrorDetail | undefined;
    readonly remediation?: Remediation | undefined;
  },
): ApprovalFailedEvent {
  return buildEnvelope(context, 'token_broker.approval.failed', outcome.orgId, {
    ...toApprovalData(outcome),
    category: outcome.category,
    severity: CATEGORY_TRAITS[outcome.category].severity,
    ...(outcome.salesforce && { salesforce: pickSalesforce(outcome.salesforce) }),
    ...(outcome.remediation && { remediation: outcome.remediation }),
  });
}

function toApprovalData(outcome: ApprovalEventFacts) {
  return {
    orgId: outcome.orgId,
    ...(outcome.approverUsername !== undefined && { approverUsername: outcome.approverUsername }),
    integrationUsername: outcome.integrationUsername,
    ...(outcome.grantedScopes !== undefined && { grantedScopes: [...outcome.grantedScopes] }),
    jwtExchangeWorks: outcome.jwtExchangeWorks,
    requestId: outcome.requestId,
  };
}

/** `token_broker.key.rotated`: Salesforce accepted the staged key; it is current fleet-wide. */
export function buildKeyRotated(
  context: EventContext,
  rotation: Omit<KeyRotatedData, 'severity'>,
): KeyRotatedEvent {
  return buildEnvelope(context, 'token_broker.key.rotated', rotation.orgId, {
    orgId: rotation.orgId,
    severity: 'info',
    previousKey: rotation.previousKey,
    currentKey: rotation.currentKey,
    ...(rotation.keyKind && { keyKind: rotation.keyKind }),
    ...(rotation.certificateFingerprintSha256 && {
      certificateFingerprintSha256: rotation.certificateFingerprintSha256,
    }),
    promotedAt: rotation.promotedAt,
    requestId: rotation.requestId,
  });
}

/** `token_broker.certificate.expiring`: an org's certificate crossed an expiry threshold. */
export function buildCertificateExpiring(
  context: EventContext,
  expiring: Omit<CertificateExpiringData, 'severity'>,
): CertificateExpiringEvent {
  return buildEnvelope(context, 'token_broker.certificate.expiring', expiring.orgId, {
    orgId: expiring.orgId,
    severity: expiring.threshold <= 7 ? 'critical' : 'warning',
    signingKey: expiring.signingKey,
    certificateFingerprintSha256: expiring.certificateFingerprintSha256,
    notAfter: expiring.notAfter,
    daysToExpiry: expiring.daysToExpiry,
    threshold: expiring.threshold,
  });
}

/**
 * The attributes subscribers filter on (SNS filter policies), derived from the event in one place.
 * `category` is absent when the event has none (`approval.completed`): SNS rejects empty values.
 */
export type EventAttributes = {
  readonly type: EventType;
  readonly orgId: string;
  readonly severity: string;
  readonly category?: string;
};

export function buildEventAttributes(event: BrokerEvent): EventAttributes {
  const { orgId, severity, category } = event.data as Record<string, unknown>;
  return {
    type: event.type,
    orgId: typeof orgId === 'string' ? orgId : event.subject.replace(/^orgs\//, ''),
    severity: typeof severity === 'string' ? severity : 'info',
    ...(typeof category === 'string' && { category }),
  };
}
