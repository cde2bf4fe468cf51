/**
 * The stable failure categories (docs/contracts.md#error-categories). They appear in HTTP error bodies, events, metric
 * dimensions and logs, so a value here is a public contract: add, never rename.
 */
export const SALESFORCE_CATEGORIES = [
  'consumer_not_approved',
  'user_not_admin_approved',
  'app_not_installed',
  'invalid_assertion',
  'audience_invalid',
  'assertion_expired',
  'unknown_consumer_key',
  'user_inactive',
  'ip_restricted',
  'org_inactive',
  'login_rate_exceeded',
  'salesforce_unavailable',
  'unexpected_response',
  'client_credentials_user_missing',
  'my_domain_required',
  'invalid_client_credentials',
] as const;

export const BROKER_CATEGORIES = [
  'invalid_request',
  'org_not_found',
  'caller_not_authorized',
  'signing_key_unavailable',
  'consumer_secret_unavailable',
] as const;

export const APPROVAL_CATEGORIES = [
  'approval_denied',
  'approval_blocked',
  'state_invalid',
  'code_exchange_failed',
  'approver_mismatch',
] as const;

export type SalesforceCategory = (typeof SALESFORCE_CATEGORIES)[number];
export type BrokerCategory = (typeof BROKER_CATEGORIES)[number];
export type ApprovalCategory = (typeof APPROVAL_CATEGORIES)[number];
export type Category = SalesforceCategory | BrokerCategory | ApprovalCategory;

export type Severity = 'critical' | 'warning' | 'info';

/** What every consumer of a category needs to know about it, kept in one table. */
export interface CategoryTraits {
  /** Whether the same request may succeed if simply retried later. */
  readonly retryable: boolean;
  /** The HTTP status the token API answers with (docs/contracts.md#token-api). The single source of that mapping. */
  readonly httpStatus: number;
  /** Severity carried by incident events and alarms. */
  readonly severity: Severity;
}

const salesforceFault = { retryable: false, httpStatus: 502, severity: 'critical' } as const;

export const CATEGORY_TRAITS: Readonly<Record<Category, CategoryTraits>> = {
  consumer_not_approved: salesforceFault,
  user_not_admin_approved: salesforceFault,
  app_not_installed: salesforceFault,
  invalid_assertion: salesforceFault,
  audience_invalid: salesforceFault,
  assertion_expired: salesforceFault,
  unknown_consumer_key: salesforceFault,
  user_inactive: salesforceFault,
  ip_restricted: salesforceFault,
  org_inactive: salesforceFault,
  login_rate_exceeded: { retryable: true, httpStatus: 503, severity: 'warning' },
  salesforce_unavailable: { retryable: true, httpStatus: 503, severity: 'warning' },
  unexpected_response: salesforceFault,
  client_credentials_user_missing: salesforceFault,
  my_domain_required: salesforceFault,
  invalid_client_credentials: salesforceFault,
  invalid_request: { retryable: false, httpStatus: 400, severity: 'info' },
  org_not_found: { retryable: false, httpStatus: 404, severity: 'info' },
  caller_not_authorized: { retryable: false, httpStatus: 403, severity: 'warning' },
  signing_key_unavailable: { retryable: true, httpStatus: 500, severity: 'critical' },
  consumer_secret_unavailable: { retryable: true, httpStatus: 500, severity: 'critical' },
  approval_denied: { retryable: false, httpStatus: 400, severity: 'warning' },
  approval_blocked: { retryable: false, httpStatus: 400, severity: 'critical' },
  state_invalid: { retryable: false, httpStatus: 400, severity: 'info' },
  code_exchange_failed: { retryable: false, httpStatus: 502, severity: 'warning' },
  approver_mismatch: { retryable: false, httpStatus: 400, severity: 'warning' },
};

export function isSalesforceCategory(category: Category): category is SalesforceCategory {
  return (SALESFORCE_CATEGORIES as readonly string[]).includes(category);
}

export function isCategory(value: unknown): value is Category {
  return typeof value === 'string' && Object.hasOwn(CATEGORY_TRAITS, value);
}
