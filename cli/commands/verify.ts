/**
 * `token-broker verify --org ID`: one real JWT Bearer exchange through the broker's token service;
 * prints the category and remediation on failure. Exit 0 only when the exchange works.
 */
import { grantOf } from '../../lambda/core/org-record';
import { exchangeThroughApi } from '../broker-client';
import { loadOrg, runExchange } from '../exchange';
import { exchangeFailureJson, formatExchangeFailure } from '../format';
import { type CliIo, EXIT, writeJson } from '../io';
import { GLOBAL_HELP, integerOption, parseCommand, requireOption } from '../options';
import { resolveTarget } from '../target';
import { resolveVia, VIA_HELP } from '../verify-via';

export const VERIFY_HELP = `Usage: token-broker verify --org ID [options]

Run a real exchange for the org with its grant (JWT Bearer with its signing key, or client
credentials with its consumer secret, both from Secrets Manager) against its login URL, exactly
as the broker does. Prints OK, or the failure category, what Salesforce
answered and what to do. The token obtained is discarded, never printed. Each run counts as a
Salesforce login for the integration user. Exit code 0 only on success.

  --org ID                  the org's registry id
  --timeout SECONDS         budget for the exchange, retries included (default 20)
${VIA_HELP}

${GLOBAL_HELP}`;

export async function runVerify(args: readonly string[], io: CliIo): Promise<number> {
  const { values } = parseCommand(args, {
    org: { type: 'string' },
    timeout: { type: 'string' },
    via: { type: 'string' },
  });
  if (values.help) {
    io.out(`${VERIFY_HELP}\n`);
    return EXIT.ok;
  }
  const orgId = requireOption(values.org, 'org');
  const timeoutSeconds = integerOption(values.timeout, 'timeout', {
    min: 1,
    max: 120,
    default: 20,
  });
  const target = await resolveTarget(values, io);
  try {
    const org = await loadOrg(target, orgId);
    const api = resolveVia(values.via, target);
    // The operator says "fixed, check now": a failure the fleet remembers must not answer for
    // Salesforce. If the check fails, the token function remembers it again.
    await target
      .sharedTokens()
      .clearFailure(orgId)
      .catch(() => undefined);
    const result = api
      ? await exchangeThroughApi(api, orgId, timeoutSeconds * 1000)
      : await runExchange(target, org, timeoutSeconds * 1000);
    if (!result.ok) {
      if (values.json) writeJson(io, exchangeFailureJson(orgId, result.error));
      else io.out(`${formatExchangeFailure(orgId, result.error)}\n`);
      return EXIT.failed;
    }
    if (values.json) {
      writeJson(io, {
        ok: true,
        orgId,
        username: org.username,
        instanceUrl: result.instanceUrl,
        scope: result.scope,
      });
    } else {
      io.out(
        `OK  org ${orgId}: ${grantOf(org) === 'client_credentials' ? 'client credentials' : 'JWT'} exchange as ${org.username} succeeded (instance ${result.instanceUrl}${result.scope ? `, scope ${result.scope}` : ''})\n`,
      );
    }
    return EXIT.ok;
  } finally {
    target.close();
  }
}
