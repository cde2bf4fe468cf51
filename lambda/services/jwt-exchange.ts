/**
 * The JWT Bearer exchange: read the org's signing key, sign an assertion, POST it to the org's
 * token endpoint, and turn the classified answer into a grant or a {@link BrokerError} with its
 * remediation. After `invalid_assertion` the key is re-read once and, if it changed (rotated),
 * the exchange is tried again with it. Records nothing: bookkeeping is the caller's.
 */
import { buildAssertionClaims, signAssertion } from '../core/assertion';
import type { Classification } from '../core/classify';
import { BrokerError, isBrokerError } from '../core/errors';
import { signingKeySecretIdOf } from '../core/org-record';
import type {
  GrantExchange,
  SigningKey,
  SigningKeyProvider,
  TokenEndpointClient,
  TokenEndpointResult,
} from '../core/ports';
import type { Clock, OrgRecord } from '../core/types';
import { type FailurePolicy, toExchangeResult } from './exchange-outcome';

export const JWT_BEARER_GRANT_TYPE = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

export interface JwtExchangeDeps extends FailurePolicy {
  readonly signingKeys: SigningKeyProvider;
  readonly tokenEndpoint: TokenEndpointClient;
  readonly clock: Clock;
}

export function createJwtExchange(deps: JwtExchangeDeps): GrantExchange {
  const { clock } = deps;

  function post(org: OrgRecord, key: SigningKey, salesforceBy: number) {
    return deps.tokenEndpoint.postForm(
      `${org.loginUrl}/services/oauth2/token`,
      async () => ({
        grant_type: JWT_BEARER_GRANT_TYPE,
        assertion: await signAssertion(buildAssertionClaims(org, clock()), key.privateKey),
      }),
      { deadline: salesforceBy },
    );
  }

  return {
    async run(org, { requestId, salesforceBy }) {
      const base = { orgId: org.orgId, requestId };
      let key: SigningKey;
      try {
        key = await deps.signingKeys.getSigningKey(signingKeySecretIdOf(org));
      } catch (cause) {
        const error = isBrokerError(cause)
          ? cause
          : new BrokerError('signing_key_unavailable', 'The signing key could not be loaded', {
              cause,
            });
        return {
          ok: false,
          error,
          report: {
            ...base,
            ok: false,
            category: error.category,
            salesforce: undefined,
            latencyMs: 0,
            attempts: 0,
            keyReread: false,
          },
        };
      }

      let result: TokenEndpointResult = await post(org, key, salesforceBy);
      let latencyMs = result.latencyMs;
      let attempts = result.attempts;
      let classification: Classification = result.classification;
      let keyReread = false;
      if (!classification.ok && classification.category === 'invalid_assertion') {
        // The key may have been rotated since it was cached: re-read once, retry only if it changed.
        const reread = await deps.signingKeys
          .getSigningKey(signingKeySecretIdOf(org), { forceRefresh: true })
          .catch(() => undefined);
        keyReread = true;
        if (reread && (reread.versionId === undefined || reread.versionId !== key.versionId)) {
          result = await post(org, reread, salesforceBy);
          latencyMs += result.latencyMs;
          attempts += result.attempts;
          classification = result.classification;
        }
      }

      const measured = { ...base, latencyMs, attempts, keyReread };
      return toExchangeResult(classification, org, measured, clock(), deps);
    },
  };
}
