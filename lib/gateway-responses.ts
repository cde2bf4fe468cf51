/**
 * The errors API Gateway answers itself (a bad signature, throttling, a body too large, a failed
 * integration), in the broker's error body (docs/contracts.md#token-api) so callers parse one format. The stack
 * (lib/broker-api.ts) turns them into gateway responses and the local gateway (local/gateway.ts)
 * answers with the same bodies. No CDK import: the local gateway loads this module.
 */
import { STRICT_TRANSPORT_SECURITY } from '../lambda/core/html';

/** The `error` values a gateway response may carry (all in docs/openapi.yaml's Error enum). */
export type GatewayErrorCode = 'caller_not_authorized' | 'invalid_request' | 'internal_error';

export interface GatewayResponseSpec {
  /** API Gateway's response type (aws-cdk-lib `ResponseType.of(type)`). */
  readonly type: string;
  readonly error: GatewayErrorCode;
  readonly retryable: boolean;
  /** Sent as `Retry-After`, seconds. */
  readonly retryAfterSeconds?: number;
}

/**
 * Specific types first; `DEFAULT_4XX` and `DEFAULT_5XX` catch every other type API Gateway has
 * (bad body, body too large, unsupported media type, integration failure or timeout...).
 *
 * - Signature problems and a missing signature are `caller_not_authorized` (403). API Gateway
 *   also answers an unknown path with `MISSING_AUTHENTICATION_TOKEN`, so it shows there too.
 * - `THROTTLED` (429: the stage's or a public route's rate limit) is `invalid_request` with
 *   `retryable: true` and `Retry-After: 1`: the caller sent too much, and waiting fixes it. It is
 *   not `login_rate_exceeded`, which is Salesforce's per-user login limit (503) with its own fix.
 * - `DEFAULT_5XX` is `internal_error`, retryable as the functions' own 500 is; no internal detail.
 */
export const GATEWAY_RESPONSES: readonly GatewayResponseSpec[] = [
  { type: 'ACCESS_DENIED', error: 'caller_not_authorized', retryable: false },
  { type: 'INVALID_SIGNATURE', error: 'caller_not_authorized', retryable: false },
  { type: 'EXPIRED_TOKEN', error: 'caller_not_authorized', retryable: false },
  { type: 'MISSING_AUTHENTICATION_TOKEN', error: 'caller_not_authorized', retryable: false },
  { type: 'BAD_REQUEST_PARAMETERS', error: 'invalid_request', retryable: false },
  { type: 'THROTTLED', error: 'invalid_request', retryable: true, retryAfterSeconds: 1 },
  { type: 'DEFAULT_4XX', error: 'invalid_request', retryable: false },
  { type: 'DEFAULT_5XX', error: 'internal_error', retryable: true },
];

/** The spec for `type`, or the default for its status class. */
export function findGatewayResponse(type: string, statusCode: number): GatewayResponseSpec {
  const fallback = statusCode >= 500 ? 'DEFAULT_5XX' : 'DEFAULT_4XX';
  const spec =
    GATEWAY_RESPONSES.find((candidate) => candidate.type === type) ??
    GATEWAY_RESPONSES.find((candidate) => candidate.type === fallback);
  if (!spec) throw new Error(`no gateway response for ${type}`);
  return spec;
}

/**
 * The response headers besides `Content-Type`: never cached (an error must not be replayed by a
 * proxy), HSTS as on the broker's pages (a throttled approval page is a page too), and
 * `Retry-After` where the spec has one.
 */
export function gatewayResponseHeaders(spec: GatewayResponseSpec): Record<string, string> {
  return {
    'Cache-Control': 'no-store',
    'Strict-Transport-Security': STRICT_TRANSPORT_SECURITY,
    ...(spec.retryAfterSeconds !== undefined && {
      'Retry-After': String(spec.retryAfterSeconds),
    }),
  };
}

/**
 * The body as an API Gateway mapping template: `$context.error.messageString` is API Gateway's
 * message already quoted as a JSON string.
 */
export function gatewayResponseTemplate(spec: GatewayResponseSpec): string {
  return `{"error":"${spec.error}","message":$context.error.messageString,"retryable":${spec.retryable},"request_id":"$context.requestId"}`;
}

/** The body the template renders, for the local gateway. */
export function buildGatewayErrorBody(
  spec: GatewayResponseSpec,
  message: string,
  requestId: string,
): { error: GatewayErrorCode; message: string; retryable: boolean; request_id: string } {
  return { error: spec.error, message, retryable: spec.retryable, request_id: requestId };
}
