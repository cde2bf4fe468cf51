/**
 * Classification of what Salesforce's token endpoint answered (docs/contracts.md#error-categories) into a stable category.
 * Matching is on Salesforce's exact `error` / `error_description` strings and the variants seen in
 * the wild (docs/contracts.md#salesforce-error-signals); anything else is `unexpected_response` with the
 * answer kept verbatim, never guessed. Pure: the HTTP client hands over status, type and body.
 */
import type { SalesforceCategory } from './categories';
import type { SalesforceErrorDetail } from './types';

/** What came back from one POST to `/services/oauth2/token`. */
export type TokenEndpointAnswer =
  | {
      readonly kind: 'response';
      readonly status: number;
      readonly contentType: string;
      readonly body: string;
    }
  | { readonly kind: 'timeout'; readonly timeoutMs: number }
  | { readonly kind: 'network'; readonly message: string };

/** Salesforce's success body, reduced to the fields the broker serves. */
export interface SalesforceToken {
  readonly access_token: string;
  readonly instance_url: string;
  readonly id: string;
  readonly token_type: string;
  readonly scope?: string | undefined;
  readonly issued_at?: string | undefined;
  /**
   * Only from the web-server flow's code exchange, kept to revoke a stray approval; the JWT flow
   * never gets one and the broker never stores or returns it.
   */
  readonly refresh_token?: string | undefined;
}

export type Classification =
  | { readonly ok: true; readonly token: SalesforceToken }
  | {
      readonly ok: false;
      readonly category: SalesforceCategory;
      readonly salesforce: SalesforceErrorDetail;
    };

/**
 * Why no HTTP answer came back. Each kind has its own fix: a name that does not resolve or a port
 * that refuses is a wrong login URL (retrying will not help), a timeout may be Salesforce or the
 * network path, and a TLS failure is a wrong host or something intercepting TLS.
 */
export type ConnectionFailureKind = 'dns' | 'refused' | 'timeout' | 'tls' | 'network';

export interface ConnectionFailure {
  readonly kind: ConnectionFailureKind;
  /** The network layer's code (`ENOTFOUND`, `ECONNREFUSED`, ...) or what timed out. */
  readonly code: string;
}

const CONNECTION_FAILED = 'connection failed: ';
const NO_ANSWER = 'no answer within ';

const FAILURE_KINDS: readonly (readonly [ConnectionFailureKind, RegExp])[] = [
  ['dns', /^(ENOTFOUND|EAI_AGAIN|EAI_FAIL|EAI_NONAME|ENODATA)\b/],
  ['refused', /^ECONNREFUSED\b/],
  ['timeout', /^(ETIMEDOUT|UND_ERR_CONNECT_TIMEOUT|UND_ERR_HEADERS_TIMEOUT)\b/],
  [
    'tls',
    /^(CERT_|ERR_TLS_|ERR_SSL_|EPROTO\b|UNABLE_TO_|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|HOSTNAME_MISMATCH)/,
  ],
];

/**
 * The network cause of a failure that never got an HTTP answer (status 0), read back from the
 * detail {@link classifyTokenAnswer} wrote; undefined for anything Salesforce answered.
 */
export function connectionFailureOf(
  detail: SalesforceErrorDetail | undefined,
): ConnectionFailure | undefined {
  const description = detail?.status === 0 ? (detail.error_description ?? '') : '';
  if (description.startsWith(NO_ANSWER)) return { kind: 'timeout', code: 'timeout' };
  if (!description.startsWith(CONNECTION_FAILED)) return undefined;
  const code = description.slice(CONNECTION_FAILED.length);
  const kind = FAILURE_KINDS.find(([, pattern]) => pattern.test(code))?.[0] ?? 'network';
  return { kind, code };
}

/** Longest Salesforce-provided text kept in error details, so a hostile body cannot flood logs. */
const MAX_DETAIL_CHARS = 300;

/**
 * `[category, matcher]` rows, first match wins. A matcher sees `error` and `error_description`
 * lowercased and trimmed. Order matters: specific descriptions before bare error codes.
 */
const RULES: readonly (readonly [
  SalesforceCategory,
  (error: string, description: string) => boolean,
])[] = [
  [
    'consumer_not_approved',
    (_, d) => /user (hasn't|hasn&#39;t|has not|hasnt) approved this consumer/.test(d),
  ],
  [
    'user_not_admin_approved',
    (e, d) =>
      d.includes('is not admin approved to access this app') ||
      e === 'invalid_app_access' ||
      e === 'oauth_app_access_denied',
  ],
  [
    'app_not_installed',
    (e, d) =>
      d.includes('external client app is not installed in this org') ||
      d.includes('app must be installed into org') ||
      e === 'oauth_ec_app_not_found',
  ],
  ['invalid_assertion', (_, d) => d === 'invalid assertion' || d.startsWith('invalid assertion')],
  [
    'audience_invalid',
    (_, d) =>
      d.includes('audience is invalid') ||
      d.includes('audicence is invalid') ||
      d.includes('audience validation failed'),
  ],
  [
    'assertion_expired',
    (e, d) => e === 'invalid_grant' && d.includes('expired authorization code'),
  ],
  [
    'unknown_consumer_key',
    (e, d) => e === 'invalid_client_id' || d.includes('client identifier invalid'),
  ],
  [
    'user_inactive',
    (e, d) =>
      e === 'inactive_user' || d.includes('inactive user') || d.includes('user is inactive'),
  ],
  ['ip_restricted', (_, d) => d.includes('ip restricted')],
  [
    'org_inactive',
    (e, d) => e === 'inactive_org' || d.includes('organization is locked, closed, or suspended'),
  ],
  [
    'login_rate_exceeded',
    (e, d) =>
      e === 'rate_limit_exceeded' ||
      d.includes('login rate exceeded') ||
      d.includes('number of logins exceeded'),
  ],
  ['salesforce_unavailable', (e, d) => e === 'unknown_error' || d.includes('retry your request')],
  // The client credentials grant's own answers (docs/contracts.md#salesforce-error-signals).
  ['client_credentials_user_missing', (_, d) => d.includes('no client credentials user enabled')],
  ['my_domain_required', (_, d) => d.includes('request not supported on this domain')],
  [
    'invalid_client_credentials',
    (e, d) => e === 'invalid_client' || d.includes('invalid client credentials'),
  ],
];

function clip(text: string): string {
  // Control characters would let a body forge log lines; collapse them with the whitespace.
  const clean = text.replace(/[\p{Cc}\s]+/gu, ' ').trim();
  return clean.length > MAX_DETAIL_CHARS ? `${clean.slice(0, MAX_DETAIL_CHARS)}...` : clean;
}

function parseJsonObject(body: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(body);
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

function isHtml(contentType: string, body: string): boolean {
  return (
    contentType.toLowerCase().includes('text/html') || /^\s*<(!doctype|html|head|body)/i.test(body)
  );
}

function toToken(json: Record<string, unknown>): SalesforceToken | undefined {
  const { access_token, instance_url, id, token_type, scope, issued_at, refresh_token } = json;
  if (typeof access_token !== 'string' || access_token === '') return undefined;
  if (typeof instance_url !== 'string' || typeof id !== 'string') return undefined;
  return {
    access_token,
    instance_url,
    id,
    token_type: typeof token_type === 'string' ? token_type : 'Bearer',
    ...(typeof scope === 'string' ? { scope } : {}),
    ...(typeof issued_at === 'string' || typeof issued_at === 'number'
      ? { issued_at: String(issued_at) }
      : {}),
    ...(typeof refresh_token === 'string' && refresh_token !== '' ? { refresh_token } : {}),
  };
}

/** The category for an OAuth `error` / `error_description` pair, if it is a known one. */
export function matchSalesforceError(
  error: string | undefined,
  description: string | undefined,
): SalesforceCategory | undefined {
  const e = (error ?? '').trim().toLowerCase();
  const d = (description ?? '').trim().toLowerCase();
  return RULES.find(([, matches]) => matches(e, d))?.[0];
}

/** Classifies one answer of the token endpoint. */
export function classifyTokenAnswer(answer: TokenEndpointAnswer): Classification {
  if (answer.kind === 'timeout') {
    return {
      ok: false,
      category: 'salesforce_unavailable',
      salesforce: { status: 0, error_description: `${NO_ANSWER}${answer.timeoutMs} ms` },
    };
  }
  if (answer.kind === 'network') {
    return {
      ok: false,
      category: 'salesforce_unavailable',
      salesforce: { status: 0, error_description: clip(`${CONNECTION_FAILED}${answer.message}`) },
    };
  }
  const { status, contentType, body } = answer;
  if (isHtml(contentType, body)) {
    const title = /<title[^>]*>([^<]*)<\/title>/i.exec(body)?.[1];
    // A success status never has its body echoed (it might hold a token); a page title is safe.
    const success = status >= 200 && status < 300;
    const summary = clip(title ?? (success ? '(untitled)' : body.replace(/<[^>]*>/g, ' ')));
    const maintenance = /maintenance|down for|unavailable/i.test(body);
    return {
      ok: false,
      category: status >= 500 || maintenance ? 'salesforce_unavailable' : 'unexpected_response',
      salesforce: { status, error_description: `HTML page: ${summary}` },
    };
  }
  const json = parseJsonObject(body);

  if (status >= 200 && status < 300) {
    const token = json && toToken(json);
    if (token) return { ok: true, token };
    // Never echo a success body: it may hold a token even when other fields are missing.
    return {
      ok: false,
      category: 'unexpected_response',
      salesforce: {
        status,
        error_description: json
          ? 'success response without access_token, instance_url or id'
          : `success status with a non-JSON body (${clip(contentType) || 'no content type'})`,
      },
    };
  }

  if (json) {
    const error = typeof json.error === 'string' ? clip(json.error) : undefined;
    const description =
      typeof json.error_description === 'string' ? clip(json.error_description) : undefined;
    const salesforce = { status, error, error_description: description };
    const category = matchSalesforceError(error, description);
    if (category) return { ok: false, category, salesforce };
    if (status >= 500) return { ok: false, category: 'salesforce_unavailable', salesforce };
    if (error === undefined && description === undefined) {
      return {
        ok: false,
        category: 'unexpected_response',
        salesforce: { status, error_description: clip(body) },
      };
    }
    return { ok: false, category: 'unexpected_response', salesforce };
  }

  return {
    ok: false,
    category: status >= 500 ? 'salesforce_unavailable' : 'unexpected_response',
    salesforce: { status, error_description: clip(body) || `empty body (${clip(contentType)})` },
  };
}
