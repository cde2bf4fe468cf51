/**
 * A real exchange for one org, with the org's grant (JWT Bearer or client credentials), through
 * the broker's own exchanges and adapters, as `verify` and `doctor` run it. The token obtained is dropped here: commands only ever see
 * whether it worked and the non-secret fields.
 */
import { randomUUID } from 'node:crypto';
import { createSecretsManagerConsumerSecrets } from '../lambda/adapters/consumer-secrets';
import { createSalesforceTokenClient } from '../lambda/adapters/salesforce-token-client';
import { createSecretsManagerSigningKeys } from '../lambda/adapters/signing-keys';
import type { BrokerError } from '../lambda/core/errors';
import type { OrgRecord } from '../lambda/core/types';
import { createClientCredentialsExchange } from '../lambda/services/client-credentials-exchange';
import { createGrantExchange } from '../lambda/services/grant-exchange';
import { createJwtExchange } from '../lambda/services/jwt-exchange';
import { createCliApprovalLinks } from './approval-links';
import { CliError } from './io';
import type { Target } from './target';

export type ExchangeCheck =
  | {
      readonly ok: true;
      readonly instanceUrl: string;
      /** The identity URL Salesforce returned: its host is the org's own (My Domain). */
      readonly identityUrl: string;
      readonly scope: string | undefined;
      readonly issuedAt: string | undefined;
      readonly requestId: string;
    }
  | { readonly ok: false; readonly error: BrokerError; readonly requestId: string };

/** Loads an org or stops with exit code 1. */
export async function loadOrg(target: Target, orgId: string): Promise<OrgRecord> {
  const org = await target.registry().getOrg(orgId);
  if (!org) throw new CliError(`No org ${orgId} is registered (see token-broker orgs list)`);
  return org;
}

/** @param timeoutMs the whole exchange's budget, retries included */
export async function runExchange(
  target: Target,
  org: OrgRecord,
  timeoutMs: number,
): Promise<ExchangeCheck> {
  const common = {
    tokenEndpoint: createSalesforceTokenClient({ timeoutMs: Math.min(timeoutMs, 10_000) }),
    publicBaseUrl: target.publicBaseUrl ?? '',
    // With the key known, the remediation carries a signed link as the broker's would.
    approvalLinks:
      target.approvalLinkKeyId && target.publicBaseUrl
        ? createCliApprovalLinks(target, {
            keyId: target.approvalLinkKeyId,
            publicBaseUrl: target.publicBaseUrl,
          })
        : undefined,
    clock: Date.now,
  };
  const exchange = createGrantExchange({
    jwt_bearer: createJwtExchange({
      ...common,
      signingKeys: createSecretsManagerSigningKeys({ client: target.secrets, maxAgeMs: 0 }),
    }),
    client_credentials: createClientCredentialsExchange({
      ...common,
      consumerSecrets: createSecretsManagerConsumerSecrets({ client: target.secrets, maxAgeMs: 0 }),
    }),
  });
  const requestId = `cli-${randomUUID()}`;
  const result = await exchange.run(org, { requestId, salesforceBy: Date.now() + timeoutMs });
  // The status route shows it as the org's last exchange, as it would a token request's.
  await target
    .registry()
    .recordExchangeOutcome(org.orgId, {
      at: new Date().toISOString(),
      ok: result.ok,
      category: result.report.category,
      salesforce: result.report.salesforce,
      requestId,
      latencyMs: result.report.latencyMs,
    })
    .catch(() => undefined);
  // Each attempt was a Salesforce login; a verified fix ends the fleet's failure memory at once.
  const shared = target.sharedTokens();
  await Promise.all([
    result.report.attempts > 0 &&
      shared.countLogins(org.orgId, { count: result.report.attempts, at: Date.now() }),
    result.ok && shared.clearFailure(org.orgId),
  ]).catch(() => undefined);
  if (!result.ok) return { ok: false, error: result.error, requestId };
  const { grant } = result.entry;
  return {
    ok: true,
    instanceUrl: grant.instance_url,
    identityUrl: grant.id,
    scope: grant.scope,
    issuedAt: grant.issued_at,
    requestId,
  };
}
