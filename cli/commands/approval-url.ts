/**
 * `token-broker approval-url --org ID`: the broker's approval link, the Callback URL to register,
 * and the raw Salesforce authorize URL in the support article's format, from the same builders
 * the broker's remediations use.
 */
import { buildRedirectUri } from '../../lambda/core/approval-links';
import { grantOf } from '../../lambda/core/org-record';
import { buildRemediation } from '../../lambda/core/remediation';
import { DEFAULT_APPROVAL_LINK_TTL_SECONDS } from '../../lambda/handlers/approval-link-config';
import { createCliApprovalLinks } from '../approval-links';
import { loadOrg } from '../exchange';
import { CliError, type CliIo, EXIT, usageError, writeJson } from '../io';
import { GLOBAL_HELP, integerOption, parseCommand, requireOption } from '../options';
import { resolveTarget } from '../target';

export const APPROVAL_URL_HELP = `Usage: token-broker approval-url --org ID [options]

Print the broker's approval link for the org (open it, sign in AS THE INTEGRATION USER, click
Allow: the broker checks who approved and re-runs the JWT exchange), the Callback URL to register
on the app, and the raw Salesforce authorize URL in the support article's format (it approves for
whoever signs in, requests no refresh_token scope and verifies nothing: a last resort).
The link is signed with the stack's KMS HMAC key (stack output ApprovalLinkKeyArn; kms:GenerateMac
on it) and expires: the link of an incident or reminder does too. Needs the broker's base URL
(--public-base-url, PUBLIC_BASE_URL) and that key (--approval-link-key), or --local.

  --org ID                  the org's registry id
  --valid-for SECONDS       how long the link works, 300 to 2592000; match the stack's
                            approvalLinkTtl (default 604800: 7 days)

${GLOBAL_HELP}`;

export async function runApprovalUrl(args: readonly string[], io: CliIo): Promise<number> {
  const { values } = parseCommand(args, {
    org: { type: 'string' },
    'valid-for': { type: 'string' },
  });
  if (values.help) {
    io.out(`${APPROVAL_URL_HELP}\n`);
    return EXIT.ok;
  }
  const orgId = requireOption(values.org, 'org');
  const lifetimeSeconds = integerOption(values['valid-for'], 'valid-for', {
    min: 300,
    max: 30 * 86_400,
    default: DEFAULT_APPROVAL_LINK_TTL_SECONDS,
  });
  const target = await resolveTarget(values, io);
  try {
    const publicBaseUrl = target.publicBaseUrl;
    if (!publicBaseUrl) {
      throw usageError(
        "The broker's base URL is unknown: pass --public-base-url URL (the stack output PublicBaseUrl) or set PUBLIC_BASE_URL.",
      );
    }
    // Before the key: a client credentials org has no approval to link to, whatever the key.
    const org = await loadOrg(target, orgId);
    if (grantOf(org) === 'client_credentials') {
      throw new CliError(
        `Org ${orgId} uses the client credentials grant: nobody approves it; the app's policies name its run-as user (token-broker doctor --org ${orgId} checks it)`,
      );
    }
    const keyId = target.approvalLinkKeyId;
    if (!keyId) {
      throw usageError(
        'The approval-link key is unknown: pass --approval-link-key KEY (the stack output ApprovalLinkKeyArn) or set TOKEN_BROKER_APPROVAL_LINK_KEY.',
      );
    }
    const links = createCliApprovalLinks(target, { keyId, publicBaseUrl, lifetimeSeconds });
    const approvalLink = await links.mint(orgId).catch((error: Error) => {
      throw new CliError(`The approval link could not be signed with ${keyId}: ${error.message}`);
    });
    const remediation = buildRemediation('consumer_not_approved', {
      org,
      publicBaseUrl,
      approvalLink,
    });
    const result = {
      orgId,
      username: org.username,
      approvalLink,
      expiresAt: new Date(
        Number(new URL(approvalLink).searchParams.get('exp')) * 1000,
      ).toISOString(),
      redirectUri: buildRedirectUri(publicBaseUrl),
      salesforceAuthorizeUrl: remediation.salesforceAuthorizeUrl,
    };
    if (values.json) {
      writeJson(io, result);
      return EXIT.ok;
    }
    io.out(
      `Broker approval link (open it, sign in as ${org.username}, click Allow; valid until ${result.expiresAt}):\n  ${result.approvalLink}\n\n` +
        `Callback URL to register on the app (exactly, no trailing slash):\n  ${result.redirectUri}\n\n` +
        `Raw Salesforce authorize URL (support article format; approves only for whoever signs in, verifies nothing):\n  ${result.salesforceAuthorizeUrl}\n`,
    );
    return EXIT.ok;
  } finally {
    target.close();
  }
}
