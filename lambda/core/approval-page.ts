/**
 * The one page the operator sees at the end of an approval attempt (or when a link is wrong):
 * what happened, as whom, with which scopes, whether the JWT exchange now works, and what to do.
 */
import type { ApprovalOutcome } from './approval-outcome';
import { escapeHtml, renderDocument } from './html';

const list = (items: readonly string[], tag: 'ol' | 'ul') =>
  `<${tag}>${items.map((item) => `<li>${escapeHtml(item)}</li>`).join('')}</${tag}>`;

const definitions = (rows: readonly { label: string; value: string }[]) =>
  `<dl>${rows
    .map((row) => `<dt>${escapeHtml(row.label)}</dt><dd>${escapeHtml(row.value)}</dd>`)
    .join('')}</dl>`;

const STEPS_HEADING = { ok: 'Note', fail: 'What to do next', notice: 'How to check' } as const;

/**
 * Renders the page for an outcome; every value from the outcome is escaped. The outcome's steps
 * are the page's only advice: the JWT failure's remediation, which would repeat them (approve as
 * the integration user, pre-authorize), stays in the events.
 */
export function renderApprovalPage(
  outcome: ApprovalOutcome,
  context: { readonly requestId: string },
): string {
  const parts = [`<h1>${escapeHtml(outcome.title)}</h1>`, `<p>${escapeHtml(outcome.summary)}</p>`];
  if (outcome.facts.length > 0) parts.push(definitions(outcome.facts));
  if (outcome.steps.length > 0) {
    parts.push(`<h2>${STEPS_HEADING[outcome.tone]}</h2>`, list(outcome.steps, 'ol'));
  }
  const { salesforce } = outcome;
  if (salesforce?.error || salesforce?.error_description) {
    const rows = [
      ...(salesforce.status ? [{ label: 'HTTP status', value: String(salesforce.status) }] : []),
      ...(salesforce.error ? [{ label: 'error', value: salesforce.error }] : []),
      ...(salesforce.error_description
        ? [{ label: 'error_description', value: salesforce.error_description }]
        : []),
    ];
    parts.push('<h2>What Salesforce said</h2>', definitions(rows));
  }
  if (outcome.approvalLink && !outcome.succeeded) {
    parts.push(
      `<p><a rel="noreferrer" href="${escapeHtml(outcome.approvalLink)}">Open the approval link again</a></p>`,
    );
  }
  parts.push(
    `<footer>Outcome: <code>${escapeHtml(outcome.kind)}</code>${
      outcome.category ? ` · category <code>${escapeHtml(outcome.category)}</code>` : ''
    } · request <code>${escapeHtml(context.requestId)}</code></footer>`,
  );
  return renderDocument({
    title: outcome.title,
    bodyHtml: parts.join('\n'),
    tone: outcome.tone,
  });
}
