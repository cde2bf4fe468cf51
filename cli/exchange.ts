/**
 * A real JWT Bearer exchange for one org through the broker's own token service and adapters, as
 * `verify` and `doctor` run it. The token obtained is dropped here: commands only ever see
 * whether it worked and the non-secret fields.
 */
import { randomUUID } from 'node:crypto';
import { createSalesforceTokenClient } from '../lambda/adapters/salesforce-token-client';
import { createSecretsManagerSigningKeys } from '../lambda/adapters/signing-keys';
import { connectionFailureOf } from '../lambda/core/classify';
import { BrokerError, isBrokerError } from '../lambda/core/errors';
import { buildRemediation } from '../lambda/core/remediation';
import type { OrgRecord } from '../lambda/core/types';
import { createTokenService } from '../lambda/services/token-service';
import { CliError } from './io';
import type { Target } from './target';

export type ExchangeResult =
  | {
      readonly ok: true;
      readonly instanceUrl: string;
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
): Promise<ExchangeResult> {
  const service = createTokenService({
    registry: target.registry(),
    signingKeys: createSecretsManagerSigningKeys({ client: target.secrets, maxAgeMs: 0 }),
    tokenEndpoint: createSalesforceTokenClient({ timeoutMs: Math.min(timeoutMs, 10_000) }),
    publicBaseUrl: target.publicBaseUrl ?? '',
  });
  const requestId = `cli-${randomUUID()}`;
  try {
    const grant = await service.exchangeFresh(org, {
      requestId,
      deadline: Date.now() + timeoutMs,
    });
    return {
      ok: true,
      instanceUrl: grant.instance_url,
      scope: grant.scope,
      issuedAt: grant.issued_at,
      requestId,
    };
  } catch (error) {
    if (isBrokerError(error)) {
      return { ok: false, error: withNetworkCause(error, org, target.publicBaseUrl), requestId };
    }
    throw error;
  }
}

/**
 * The token service words `salesforce_unavailable` for a Salesforce outage ("wait"); when the
 * exchange never got an HTTP answer, the operator at the terminal needs the network cause and the
 * fix for it (a host that does not resolve is a wrong login URL, and waiting will not help).
 */
function withNetworkCause(
  error: BrokerError,
  org: OrgRecord,
  publicBaseUrl: string | undefined,
): BrokerError {
  if (error.category !== 'salesforce_unavailable' || !connectionFailureOf(error.salesforce)) {
    return error;
  }
  const remediation = buildRemediation(error.category, {
    org,
    publicBaseUrl,
    salesforce: error.salesforce,
  });
  return new BrokerError(error.category, remediation.summary, {
    cause: error.cause,
    ...(error.salesforce ? { salesforce: error.salesforce } : {}),
    remediation,
    ...(error.retryAfterSeconds === undefined
      ? {}
      : { retryAfterSeconds: error.retryAfterSeconds }),
  });
}
