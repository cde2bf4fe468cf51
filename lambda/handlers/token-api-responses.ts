/**
 * HTTP responses of the token API (docs/contracts.md#token-api), and the one place a failure becomes a response:
 * the status comes from the error's category ({@link CATEGORY_TRAITS}), the body is
 * `{error, message, retryable, request_id, remediation?, salesforce?}`. Server-side faults (500)
 * carry no internal detail; operators find it in the logs under the same request id.
 */
import type { APIGatewayProxyResult } from 'aws-lambda';
import { CATEGORY_TRAITS, type Category } from '../core/categories';
import { isBrokerError } from '../core/errors';
import type { Remediation, SalesforceErrorDetail } from '../core/types';

/** The `error` of a failure that is not a {@link BrokerError}: a bug or an unexpected fault. */
export const INTERNAL_ERROR = 'internal_error';

export interface ErrorBody {
  readonly error: Category | typeof INTERNAL_ERROR;
  readonly message: string;
  readonly retryable: boolean;
  readonly request_id: string;
  readonly remediation?: Remediation;
  readonly salesforce?: SalesforceErrorDetail;
  /** Present (true) when the failure was answered from the fleet's failure memory. */
  readonly remembered?: true;
}

const BASE_HEADERS = {
  'Content-Type': 'application/json',
  'Cache-Control': 'no-store',
  'X-Content-Type-Options': 'nosniff',
} as const;

/** @default Retry-After when a retryable 503 carries no delay of its own, seconds */
const DEFAULT_RETRY_AFTER_SECONDS = 5;

export function jsonResponse(
  statusCode: number,
  body: unknown,
  headers: Record<string, string> = {},
): APIGatewayProxyResult {
  return { statusCode, headers: { ...BASE_HEADERS, ...headers }, body: JSON.stringify(body) };
}

export function noContentResponse(): APIGatewayProxyResult {
  return { statusCode: 204, headers: { 'Cache-Control': 'no-store' }, body: '' };
}

/**
 * The answer when the function's own time budget runs out before the request completes: a 503 the
 * caller may retry, instead of a Lambda timeout (which API Gateway turns into an undocumented 502).
 * What was still running is not known here, so the body says nothing about it; the logs do.
 */
export function outOfTimeResponse(
  requestId: string,
  retryAfterSeconds = DEFAULT_RETRY_AFTER_SECONDS,
): APIGatewayProxyResult {
  const body: ErrorBody = {
    error: INTERNAL_ERROR,
    message: 'The broker could not complete the request within its time budget; retry later.',
    retryable: true,
    request_id: requestId,
  };
  return jsonResponse(503, body, { 'Retry-After': String(retryAfterSeconds) });
}

/** The response for any thrown value, plus the `error` code for logs and metrics. */
export function errorResponse(
  error: unknown,
  requestId: string,
): { response: APIGatewayProxyResult; code: ErrorBody['error'] } {
  if (!isBrokerError(error)) {
    const body: ErrorBody = {
      error: INTERNAL_ERROR,
      message: 'The broker failed to handle the request; see its logs for this request id.',
      retryable: true,
      request_id: requestId,
    };
    return { response: jsonResponse(500, body), code: INTERNAL_ERROR };
  }
  const traits = CATEGORY_TRAITS[error.category];
  if (traits.httpStatus >= 500 && traits.httpStatus !== 502 && traits.httpStatus !== 503) {
    const body: ErrorBody = {
      error: error.category,
      message: 'The broker could not complete the request; see its logs for this request id.',
      retryable: traits.retryable,
      request_id: requestId,
    };
    return { response: jsonResponse(traits.httpStatus, body), code: error.category };
  }
  const body: ErrorBody = {
    error: error.category,
    message: error.message,
    retryable: traits.retryable,
    request_id: requestId,
    ...(error.remediation ? { remediation: error.remediation } : {}),
    ...(error.salesforce ? { salesforce: error.salesforce } : {}),
    ...(error.remembered ? { remembered: true as const } : {}),
  };
  const headers: Record<string, string> =
    traits.httpStatus === 503
      ? { 'Retry-After': String(error.retryAfterSeconds ?? DEFAULT_RETRY_AFTER_SECONDS) }
      : {};
  return { response: jsonResponse(traits.httpStatus, body, headers), code: error.category };
}
