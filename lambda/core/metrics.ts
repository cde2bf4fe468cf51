/**
 * Metric names and dimensions, shared by the function code (which emits them as EMF) and the CDK
 * ops pack (which alarms on them), so the two cannot drift apart.
 */
export const METRIC_NAMESPACE = 'SalesforceTokenBroker';

/** Powertools `service`: a dimension of every metric and a field of every log line. */
export const SERVICE_NAME = 'salesforce-token-broker';

export const METRIC = {
  /** Count of fresh JWT exchanges attempted (each one is a Salesforce login). */
  tokenExchanges: 'TokenExchanges',
  /** Count of failed exchanges; dimension `Category`. */
  exchangeFailures: 'ExchangeFailures',
  /** Milliseconds spent in Salesforce's token endpoint per exchange (all attempts). */
  exchangeLatency: 'ExchangeLatency',
  /** Requests served from the environment's memory or the fleet's shared token (no login). */
  cacheHits: 'CacheHits',
  /** Requests that made, or waited for, a login. */
  cacheMisses: 'CacheMisses',
  /** Requests served another environment's token from the table (read + decrypt, no login). */
  fleetCacheHits: 'FleetCacheHits',
  /** Failures answered from the fleet's failure memory without calling Salesforce; `Category`. */
  rememberedFailures: 'RememberedFailures',
  /** forceRefresh or DELETE inside the minimum token age: no new login, the current token stays. */
  tokenRefreshSuppressed: 'TokenRefreshSuppressed',
  /** Salesforce logins (each exchange attempt); dimension `OrgId`. */
  salesforceLogins: 'SalesforceLogins',
  /** The highest share of Salesforce's 3,600 logins per user per hour an org used, percent. */
  loginBudgetUsed: 'LoginBudgetUsed',
  /** Count of events that could not be delivered and were logged instead. */
  eventDeliveryFailed: 'EventDeliveryFailed',
  /** Count of incident-ledger (DynamoDB) failures the token path survived. */
  incidentLedgerErrors: 'IncidentLedgerErrors',
  /**
   * Count of exchanges whose bookkeeping (incident tracking, events, outcome record) was
   * abandoned so the response could still go out before the function's timeout.
   */
  exchangeBookkeepingAbandoned: 'ExchangeBookkeepingAbandoned',
  approvalsCompleted: 'ApprovalsCompleted',
  /** Dimension `Category`. */
  approvalsFailed: 'ApprovalsFailed',
  /**
   * Whole days until the signing certificate used expires, per fresh exchange: once with
   * dimension `OrgId`, once without (what the expiry alarm watches, by its minimum).
   */
  certificateDaysToExpiry: 'CertificateDaysToExpiry',
} as const;

export const DIMENSION = {
  category: 'Category',
  orgId: 'OrgId',
} as const;
