/**
 * The token function's internal events (docs/contracts.md#internal-events): payloads of a direct
 * Lambda invoke, never of an HTTP request. API Gateway only ever sends proxy events (with
 * `httpMethod`), so an internal event can only come from a principal allowed
 * `lambda:InvokeFunction` on the token function: the OAuth role, and the scheduler's role for the
 * daily certificate check. Parsing only; no I/O.
 */
import { type Category, isCategory } from './categories';
import { isValidOrgId } from './org-record';
import type { Remediation, SalesforceErrorDetail } from './types';

/** The field that marks an internal event; a proxy event never has it. */
export const INTERNAL_EVENT_FIELD = 'brokerInternal';

/**
 * Run a fresh JWT exchange for an org (the approval callback's proof of the fix). The token
 * function reads the org record itself: the caller names the org, nothing more.
 */
export interface ExchangeFreshEvent {
  readonly brokerInternal: 'exchange_fresh';
  readonly orgId: string;
  readonly requestId: string;
  /** ms since the epoch after which no Salesforce call starts (the caller's own deadline). */
  readonly salesforceBy: number;
}

/**
 * The daily certificate check (EventBridge Scheduler): every JWT org's days to expiry, and
 * `certificate.expiring` for a threshold crossed, whether or not anyone exchanged for the org.
 */
export interface CheckCertificatesEvent {
  readonly brokerInternal: 'check_certificates';
}

export type InternalEvent = ExchangeFreshEvent | CheckCertificatesEvent;

/** What an exchange failure may tell the OAuth function: category and fix, never a credential. */
export interface InternalFailure {
  readonly category: Category;
  readonly message: string;
  readonly salesforce?: SalesforceErrorDetail;
  readonly remediation?: Remediation;
}

/** What the daily certificate check counted (its log line says the same). */
export interface CertificateCheckCounts {
  readonly orgs: number;
  readonly checked: number;
  readonly failed: number;
  readonly skipped: number;
  readonly announced: number;
}

export type InternalEventResult =
  | { readonly ok: true; readonly certificates?: CertificateCheckCounts }
  | { readonly ok: false; readonly error: InternalFailure };

/** Whether a Lambda payload is an internal event (to be parsed) rather than an API Gateway one. */
export function isInternalEvent(event: unknown): boolean {
  return typeof event === 'object' && event !== null && INTERNAL_EVENT_FIELD in event;
}

/** @returns the event, or a message naming what is wrong with it */
export function parseInternalEvent(
  event: unknown,
):
  | { readonly ok: true; readonly event: InternalEvent }
  | { readonly ok: false; readonly message: string } {
  const raw = (typeof event === 'object' && event !== null ? event : {}) as Record<string, unknown>;
  if (raw[INTERNAL_EVENT_FIELD] === 'check_certificates') {
    return { ok: true, event: { brokerInternal: 'check_certificates' } };
  }
  if (raw[INTERNAL_EVENT_FIELD] !== 'exchange_fresh') {
    return {
      ok: false,
      message: `Unknown internal event ${JSON.stringify(raw[INTERNAL_EVENT_FIELD])}`,
    };
  }
  const { orgId, requestId, salesforceBy } = raw;
  if (!isValidOrgId(orgId)) return { ok: false, message: 'orgId must be an org id' };
  if (typeof requestId !== 'string' || requestId === '' || requestId.length > 200) {
    return { ok: false, message: 'requestId must be a non-empty string' };
  }
  if (typeof salesforceBy !== 'number' || !Number.isFinite(salesforceBy)) {
    return { ok: false, message: 'salesforceBy must be ms since the epoch' };
  }
  return { ok: true, event: { brokerInternal: 'exchange_fresh', orgId, requestId, salesforceBy } };
}

/** Reads an invoke's answer back, refusing anything but the two documented shapes. */
export function parseInternalEventResult(payload: unknown): InternalEventResult | undefined {
  if (typeof payload !== 'object' || payload === null) return undefined;
  const { ok, error } = payload as { ok?: unknown; error?: unknown };
  if (ok === true) return { ok: true };
  if (ok !== false || typeof error !== 'object' || error === null) return undefined;
  const failure = error as Record<string, unknown>;
  if (!isCategory(failure.category) || typeof failure.message !== 'string') return undefined;
  return {
    ok: false,
    error: {
      category: failure.category,
      message: failure.message,
      ...(typeof failure.salesforce === 'object' && failure.salesforce !== null
        ? { salesforce: failure.salesforce as SalesforceErrorDetail }
        : {}),
      ...(typeof failure.remediation === 'object' && failure.remediation !== null
        ? { remediation: failure.remediation as Remediation }
        : {}),
    },
  };
}
