/**
 * One error type for everything a call to the broker can end in: the broker's own error body, an
 * answer API Gateway gave itself (a bad signature, throttling), or a failure on the caller's side
 * (no connection, the caller's deadline, a body that is not the contract's).
 */

/** The broker's stable failure categories and error codes (docs/openapi.yaml, `Error.error`). */
export type BrokerErrorCode =
  | 'consumer_not_approved'
  | 'user_not_admin_approved'
  | 'app_not_installed'
  | 'invalid_assertion'
  | 'audience_invalid'
  | 'assertion_expired'
  | 'unknown_consumer_key'
  | 'user_inactive'
  | 'ip_restricted'
  | 'org_inactive'
  | 'login_rate_exceeded'
  | 'salesforce_unavailable'
  | 'unexpected_response'
  | 'invalid_request'
  | 'org_not_found'
  | 'caller_not_authorized'
  | 'signing_key_unavailable'
  | 'internal_error';

/**
 * Failures that never reached an answer from the broker, named by the client:
 * - `network_error`: no HTTP response (connection refused or reset, DNS);
 * - `deadline_exceeded`: the caller's deadline passed, or a `Retry-After` would pass it;
 * - `invalid_response`: an answer that is not the contract's (not JSON, or no token in a 200).
 */
export type ClientErrorCode = 'network_error' | 'deadline_exceeded' | 'invalid_response';

export type TokenBrokerErrorCategory = BrokerErrorCode | ClientErrorCode;

/** How to fix a failure, as the broker words it (docs/runbook.md has one section per category). */
export interface Remediation {
  readonly summary: string;
  readonly steps: readonly string[];
  /** The broker's approval link for the org (`consumer_not_approved`). */
  readonly approvalLink?: string;
  readonly salesforceAuthorizeUrl?: string;
  /** Anchor in docs/runbook.md. */
  readonly runbook?: string;
}

/** What Salesforce answered, when the failure came from Salesforce. */
export interface SalesforceErrorDetail {
  /** HTTP status; 0 when no response arrived. */
  readonly status: number;
  readonly error?: string;
  readonly error_description?: string;
}

export interface TokenBrokerErrorInit {
  readonly category: TokenBrokerErrorCategory;
  readonly message: string;
  readonly retryable: boolean;
  /** HTTP status of the answer; 0 when there was none. */
  readonly status: number;
  readonly requestId?: string | undefined;
  readonly remediation?: Remediation | undefined;
  readonly salesforce?: SalesforceErrorDetail | undefined;
  readonly retryAfterSeconds?: number | undefined;
  readonly cause?: unknown;
}

/** A failed call to the broker, with everything the error body carried. */
export class TokenBrokerError extends Error {
  override readonly name = 'TokenBrokerError';
  /** The broker's category (`consumer_not_approved`, ...) or a client-side {@link ClientErrorCode}. */
  readonly category: TokenBrokerErrorCategory;
  /** Whether the same call may succeed later without anyone changing anything. */
  readonly retryable: boolean;
  /** HTTP status of the answer; 0 when there was none. */
  readonly status: number;
  /** The broker's (or API Gateway's) request id: quote it to the operators, it keys the logs. */
  readonly requestId: string | undefined;
  readonly remediation: Remediation | undefined;
  readonly salesforce: SalesforceErrorDetail | undefined;
  /** The last `Retry-After` the broker sent, in seconds. */
  readonly retryAfterSeconds: number | undefined;

  constructor(init: TokenBrokerErrorInit) {
    super(init.message, init.cause === undefined ? undefined : { cause: init.cause });
    this.category = init.category;
    this.retryable = init.retryable;
    this.status = init.status;
    this.requestId = init.requestId;
    this.remediation = init.remediation;
    this.salesforce = init.salesforce;
    this.retryAfterSeconds = init.retryAfterSeconds;
  }
}

export function isTokenBrokerError(error: unknown): error is TokenBrokerError {
  return error instanceof TokenBrokerError;
}

const BROKER_CODES: ReadonlySet<string> = new Set<BrokerErrorCode>([
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
  'invalid_request',
  'org_not_found',
  'caller_not_authorized',
  'signing_key_unavailable',
  'internal_error',
]);

/**
 * `Retry-After` in seconds: delta-seconds or an HTTP date (RFC 9110 allows both; the broker sends
 * seconds, a proxy in between may not).
 */
export function parseRetryAfter(value: string | null, now: number): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim());
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - now) / 1000));
}

/**
 * The error for a non-2xx answer. The contract's body is used as is; anything else (API Gateway's
 * own `{"message"}` where no gateway response maps it, a proxy's HTML) still gets a category from
 * the status, so callers can always switch on `category`.
 */
export function errorFromResponse(
  status: number,
  bodyText: string,
  retryAfterSeconds: number | undefined,
  headerRequestId: string | undefined,
): TokenBrokerError {
  let body: Record<string, unknown> | undefined;
  try {
    const parsed: unknown = JSON.parse(bodyText);
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) {
      body = parsed as Record<string, unknown>;
    }
  } catch {
    body = undefined;
  }
  const code = typeof body?.error === 'string' ? body.error : undefined;
  const message =
    typeof body?.message === 'string' && body.message !== ''
      ? body.message
      : `HTTP ${status} from the token broker`;
  const requestId = typeof body?.request_id === 'string' ? body.request_id : headerRequestId;
  if (code && BROKER_CODES.has(code)) {
    return new TokenBrokerError({
      category: code as BrokerErrorCode,
      message,
      retryable: body?.retryable === true,
      status,
      requestId,
      remediation: body?.remediation as Remediation | undefined,
      salesforce: body?.salesforce as SalesforceErrorDetail | undefined,
      retryAfterSeconds,
    });
  }
  const retryable = status === 429 || status >= 500;
  const category: TokenBrokerErrorCategory =
    status === 403 || status === 401
      ? 'caller_not_authorized'
      : status === 404
        ? 'org_not_found'
        : status >= 500
          ? body
            ? 'internal_error'
            : 'invalid_response'
          : body
            ? 'invalid_request'
            : 'invalid_response';
  return new TokenBrokerError({
    category,
    message,
    retryable,
    status,
    requestId,
    retryAfterSeconds,
  });
}
