/** Readable renderings of what the commands print. Nothing here ever receives a secret. */
import type { BrokerError } from '../lambda/core/errors';
import { grantOf } from '../lambda/core/org-record';
import type { OrgRecord, Remediation } from '../lambda/core/types';

/** `label  value` lines with the values aligned. */
export function formatFields(rows: readonly (readonly [string, string])[]): string {
  const width = Math.max(...rows.map(([label]) => label.length));
  return rows.map(([label, value]) => `${label.padEnd(width)}  ${value}`).join('\n');
}

export function formatOrg(org: OrgRecord): string {
  return formatFields([
    ['orgId', org.orgId],
    ['loginUrl', org.loginUrl],
    ['environment', org.environment],
    ['audience', org.audience],
    ['consumerKey', org.consumerKey],
    ['username', org.username],
    ['grant', grantOf(org)],
    ['signingKeySecretId', org.signingKeySecretId ?? '(none)'],
    ['consumerSecretId', org.consumerSecretId ?? '(none)'],
    ['tokenTtlSeconds', String(org.tokenTtlSeconds)],
    ['callers', org.callers.length > 0 ? org.callers.join(`\n${' '.repeat(20)}`) : '(nobody)'],
  ]);
}

/** One line per org: id, environment, username, login URL. */
export function formatOrgTable(orgs: readonly OrgRecord[]): string {
  if (orgs.length === 0) return 'No orgs registered.';
  const rows = [
    ['ORG', 'ENVIRONMENT', 'USERNAME', 'LOGIN URL', 'CALLERS'],
    ...orgs.map((org) => [
      org.orgId,
      org.environment,
      org.username,
      org.loginUrl,
      String(org.callers.length),
    ]),
  ];
  const widths = rows[0]?.map((_, column) =>
    Math.max(...rows.map((row) => (row[column] ?? '').length)),
  );
  return rows
    .map((row) =>
      row
        .map((cell, column) => cell.padEnd(widths?.[column] ?? 0))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

export function formatRemediation(remediation: Remediation): string {
  const lines = [remediation.summary, 'What to do:'];
  remediation.steps.forEach((step, index) => {
    lines.push(`  ${index + 1}. ${step}`);
  });
  if (remediation.approvalLink) lines.push(`Broker approval link: ${remediation.approvalLink}`);
  if (remediation.salesforceAuthorizeUrl) {
    lines.push(`Raw Salesforce authorize URL: ${remediation.salesforceAuthorizeUrl}`);
  }
  if (remediation.runbook) lines.push(`Runbook: ${remediation.runbook}`);
  return lines.join('\n');
}

/** A failed exchange: category, what Salesforce said, what to do. */
export function formatExchangeFailure(orgId: string, error: BrokerError): string {
  const lines = [`FAIL  org ${orgId}: ${error.category}`];
  if (error.salesforce) {
    const { status, error: code, error_description: description } = error.salesforce;
    lines.push(
      `Salesforce answered: ${status === 0 ? 'no response' : `HTTP ${status}`}${code ? ` ${code}` : ''}${description ? `: ${description}` : ''}`,
    );
  }
  lines.push(error.remediation ? formatRemediation(error.remediation) : error.message);
  return lines.join('\n');
}

/** The JSON shape of a failed exchange (`--json`). */
export function exchangeFailureJson(orgId: string, error: BrokerError) {
  return {
    ok: false,
    orgId,
    category: error.category,
    retryable: error.retryable,
    message: error.message,
    ...(error.salesforce ? { salesforce: error.salesforce } : {}),
    ...(error.remediation ? { remediation: error.remediation } : {}),
  };
}
