/**
 * `verify` through the token API, as a caller gets a token: the client library (client/), signed
 * with the local stack's caller key or the standard credential chain. A broker failure comes back
 * as the same BrokerError the direct exchange gives, so both paths print alike.
 */
import { createTokenBrokerClient, isTokenBrokerError } from '../client/index';
import { CATEGORY_TRAITS, type Category } from '../lambda/core/categories';
import { BrokerError } from '../lambda/core/errors';
import type { ExchangeCheck } from './exchange';
import { CliError } from './io';
import type { BrokerApi } from './target';

function isCategory(value: string): value is Category {
  return Object.hasOwn(CATEGORY_TRAITS, value);
}

/**
 * A fresh exchange (`forceRefresh`) for the org through the API at `api`.
 * @throws CliError when the API answers something that is not an exchange outcome (no
 * connection, not authorised as a caller of the org, a broker fault)
 */
export async function exchangeThroughApi(
  api: BrokerApi,
  orgId: string,
  timeoutMs: number,
): Promise<ExchangeCheck> {
  const client = createTokenBrokerClient({
    apiUrl: api.url,
    ...(api.region ? { region: api.region } : {}),
    ...(api.credentials ? { credentials: api.credentials } : {}),
    timeoutMs,
  });
  try {
    const grant = await client.getToken(orgId, { forceRefresh: true });
    return {
      ok: true,
      instanceUrl: grant.instance_url,
      identityUrl: grant.id,
      scope: grant.scope,
      issuedAt: grant.issued_at,
      requestId: '',
    };
  } catch (error) {
    if (!isTokenBrokerError(error)) throw error;
    const requestId = error.requestId ?? '';
    if (isCategory(error.category) && error.category !== 'caller_not_authorized') {
      return {
        ok: false,
        requestId,
        error: new BrokerError(error.category, error.message, {
          salesforce: error.salesforce,
          remediation: error.remediation,
          retryAfterSeconds: error.retryAfterSeconds,
        }),
      };
    }
    throw new CliError(
      `The token API at ${api.url} answered ${error.category}${error.status ? ` (HTTP ${error.status})` : ''}: ${error.message}${requestId ? ` (request ${requestId})` : ''}`,
    );
  }
}
