/**
 * `token-broker approval-url --org ID`: the broker's approval link, the Callback URL to register,
 * and the raw Salesforce authorize URL in the support article's format, from the same builders
 * the broker's remediations use.
 */
import { buildRedirectUri } from '../../lambda/core/approval-links';
import { grantOf } from '../../lambda/core/org-record';
import { buildRemediation } from '../../lambda/core/remediation';
import { loadOrg } from '../exchange';
import { CliError, type CliIo, EXIT, usageError, writeJson } from '../io';
import { GLOBAL_HELP, parseCommand, requireOption } from '../options';
import { resolveTarget } from '../target';

export const APPROVAL_URL_HELP = `Usage: token-broker approval-url --org ID [options]

Print the broker's approval link for the org (open it, sign in AS THE INTEGRATION USER, click
Allow: the broker checks who approved and re-runs the JWT exchange), the Callback URL to register
on the app, and the raw Salesforce authorize URL in the support article's format (it approves for
whoever signs in, requests no refresh_token scope and verifies nothing: a last resort).
Needs the broker's base URL: --public-base-url, PUBLIC_BASE_URL, or --local.

  --org ID                  the org's registry id

${GLOBAL_HELP}`;

export async function runApprovalUrl(args: readonly string[], io: CliIo): Promise<number> {
  const { values } = parseCommand(args, { org: { type: 'string' } });
  if (values.help) {
    io.out(`${APPROVAL_URL_HELP}\n`);
    return EXIT.ok;
  }
  const orgId = requireOption(values.org, 'org');
  const target = await resolveTarget(values, io);
  try {
    const publicBaseUrl = target.publicBaseUrl;
    if (!publicBaseUrl) {
      throw usageError(
        "The broker's base URL is unknown: pass --public-base-url URL (the stack output PublicBaseUrl) or set PUBLIC_BASE_URL.",
      );
    }
    const org = await loadOrg(target, orgId);
    if (grantOf(org) === 'client_credentials') {
      throw new CliError(
        `Org ${orgId} uses the client credentials grant: nobody approves it; the app's policies name its run-as user (token-broker doctor --org ${orgId} checks it)`,
      );
    }
    const remediation = buildRemediation('consumer_not_approved', { org, publicBaseUrl });
    const result = {
      orgId,
      username: org.username,
      approvalLink: remediation.approvalLink,
      redirectUri: buildRedirectUri(publicBaseUrl),
      salesforceAuthorizeUrl: remediation.salesforceAuthorizeUrl,
    };
    if (values.json) {
      writeJson(io, result);
      return EXIT.ok;
    }
    io.out(
      `Broker approval link (open it, sign in as ${org.username}, click Allow):\n  ${result.approvalLink}\n\n` +
        `Callback URL to register on the app (exactly, no trailing slash):\n  ${result.redirectUri}\n\n` +
        `Raw Salesforce authorize URL (support article format; approves only for whoever signs in, verifies nothing):\n  ${result.salesforceAuthorizeUrl}\n`,
    );
    return EXIT.ok;
  } finally {
    target.close();
  }
}
