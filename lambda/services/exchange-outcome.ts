/**
 * What both grants' exchanges make of Salesforce's classified answer: the grant the token API
 * serves, or the {@link BrokerError} with its remediation and Retry-After.
 */
import type { Category } from '../core/categories';
import type { Classification, SalesforceToken } from '../core/classify';
import { BrokerError } from '../core/errors';
import type { ExchangeReport, ExchangeResult } from '../core/ports';
import { buildRemediation, isApprovalLinkCategory } from '../core/remediation';
import { computeExpiry } from '../core/token-cache';
import type { OrgRecord, SalesforceErrorDetail, TokenGrant } from '../core/types';
import type { ApprovalLinks } from './approval-links';

export interface FailurePolicy {
  /** The API's public base URL, for the redirect URI in remediations. */
  readonly publicBaseUrl: string;
  /**
   * Mints the approval link of an approval category's remediation, fresh for each failure, so
   * incidents and their reminders carry a current one.
   * @default none: remediations offer the raw Salesforce authorize URL only (the CLI without a key)
   */
  readonly approvalLinks?: Pick<ApprovalLinks, 'mintForRemediation'> | undefined;
  /** Retry-After for `salesforce_unavailable`, seconds. @default 5 */
  readonly unavailableRetryAfterSeconds?: number;
  /** Retry-After for `login_rate_exceeded`, seconds. @default 300 */
  readonly rateLimitRetryAfterSeconds?: number;
}

/** A Salesforce token response as the token API serves it. */
export function toGrant(token: SalesforceToken, org: OrgRecord, expiresAt: string): TokenGrant {
  return {
    access_token: token.access_token,
    instance_url: token.instance_url,
    id: token.id,
    token_type: token.token_type,
    ...(token.scope === undefined ? {} : { scope: token.scope }),
    ...(token.issued_at === undefined ? {} : { issued_at: token.issued_at }),
    expires_at: expiresAt,
    org_id: org.orgId,
  };
}

/** The error for a failed exchange, worded by the remediation for its category. */
export async function buildExchangeFailure(
  category: Category,
  org: OrgRecord,
  salesforce: SalesforceErrorDetail | undefined,
  policy: FailurePolicy,
): Promise<BrokerError> {
  const approvalLink = isApprovalLinkCategory(category)
    ? await policy.approvalLinks?.mintForRemediation(org.orgId)
    : undefined;
  // The Salesforce detail words the fix: a host that does not resolve is not an outage to wait out.
  const remediation = buildRemediation(category, {
    org,
    publicBaseUrl: policy.publicBaseUrl,
    approvalLink,
    ...(salesforce ? { salesforce } : {}),
  });
  const retryAfterSeconds =
    category === 'salesforce_unavailable'
      ? (policy.unavailableRetryAfterSeconds ?? 5)
      : category === 'login_rate_exceeded'
        ? (policy.rateLimitRetryAfterSeconds ?? 300)
        : undefined;
  return new BrokerError(category, remediation.summary, {
    salesforce,
    remediation,
    retryAfterSeconds,
  });
}

/** What an exchange measured, for its report: everything but the outcome. */
export type ExchangeMeasure = Omit<ExchangeReport, 'ok' | 'category' | 'salesforce'>;

/** The exchange's result from Salesforce's classified answer: the grant, or the error. */
export async function toExchangeResult(
  classification: Classification,
  org: OrgRecord,
  measured: ExchangeMeasure,
  now: number,
  policy: FailurePolicy,
): Promise<ExchangeResult> {
  if (classification.ok) {
    const { expiresAtMs, expiresAt } = computeExpiry(now, org.tokenTtlSeconds);
    return {
      ok: true,
      entry: { grant: toGrant(classification.token, org, expiresAt), expiresAtMs },
      report: { ...measured, ok: true, category: undefined, salesforce: undefined },
    };
  }
  const { category, salesforce } = classification;
  return {
    ok: false,
    error: await buildExchangeFailure(category, org, salesforce, policy),
    report: { ...measured, ok: false, category, salesforce },
  };
}
