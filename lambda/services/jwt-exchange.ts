/**
 * The JWT Bearer exchange: read the org's signing key, sign an assertion, POST it to the org's
 * token endpoint, and turn the classified answer into a grant or a {@link BrokerError} with its
 * remediation. After `invalid_assertion` the key is re-read once and, if it changed (rotated),
 * the exchange is tried again with it. Records nothing: bookkeeping is the caller's.
 */
import { buildAssertionClaims, signAssertion } from '../core/assertion';
import type { Category } from '../core/categories';
import type { Classification, SalesforceToken } from '../core/classify';
import { BrokerError, isBrokerError } from '../core/errors';
import type {
  GrantExchange,
  SigningKey,
  SigningKeyProvider,
  TokenEndpointClient,
  TokenEndpointResult,
} from '../core/ports';
import { buildRemediation } from '../core/remediation';
import { computeExpiry } from '../core/token-cache';
import type { Clock, OrgRecord, SalesforceErrorDetail, TokenGrant } from '../core/types';

export const JWT_BEARER_GRANT_TYPE = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

export interface JwtExchangeDeps {
  readonly signingKeys: SigningKeyProvider;
  readonly tokenEndpoint: TokenEndpointClient;
  /** The API's public base URL, for approval links in remediations. */
  readonly publicBaseUrl: string;
  readonly clock: Clock;
  /** Retry-After for `salesforce_unavailable`, seconds. @default 5 */
  readonly unavailableRetryAfterSeconds?: number;
  /** Retry-After for `login_rate_exceeded`, seconds. @default 300 */
  readonly rateLimitRetryAfterSeconds?: number;
}

function toGrant(token: SalesforceToken, org: OrgRecord, expiresAt: string): TokenGrant {
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

export function createJwtExchange(deps: JwtExchangeDeps): GrantExchange {
  const { clock } = deps;

  function post(org: OrgRecord, key: SigningKey, salesforceBy: number) {
    return deps.tokenEndpoint.postForm(
      `${org.loginUrl}/services/oauth2/token`,
      async () => ({
        grant_type: JWT_BEARER_GRANT_TYPE,
        assertion: await signAssertion(buildAssertionClaims(org, clock()), key),
      }),
      { deadline: salesforceBy },
    );
  }

  function failure(
    category: Category,
    org: OrgRecord,
    salesforce: SalesforceErrorDetail | undefined,
  ): BrokerError {
    // The Salesforce detail words the fix: a host that does not resolve is not an outage to wait out.
    const remediation = buildRemediation(category, {
      org,
      publicBaseUrl: deps.publicBaseUrl,
      ...(salesforce ? { salesforce } : {}),
    });
    const retryAfterSeconds =
      category === 'salesforce_unavailable'
        ? (deps.unavailableRetryAfterSeconds ?? 5)
        : category === 'login_rate_exceeded'
          ? (deps.rateLimitRetryAfterSeconds ?? 300)
          : undefined;
    return new BrokerError(category, remediation.summary, {
      salesforce,
      remediation,
      retryAfterSeconds,
    });
  }

  return {
    async run(org, { requestId, salesforceBy }) {
      const base = { orgId: org.orgId, requestId };
      let key: SigningKey;
      try {
        key = await deps.signingKeys.getSigningKey(org.signingKeySecretId);
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
          .getSigningKey(org.signingKeySecretId, { forceRefresh: true })
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
      if (classification.ok) {
        const { expiresAtMs, expiresAt } = computeExpiry(clock(), org.tokenTtlSeconds);
        return {
          ok: true,
          entry: { grant: toGrant(classification.token, org, expiresAt), expiresAtMs },
          report: { ...measured, ok: true, category: undefined, salesforce: undefined },
        };
      }
      return {
        ok: false,
        error: failure(classification.category, org, classification.salesforce),
        report: {
          ...measured,
          ok: false,
          category: classification.category,
          salesforce: classification.salesforce,
        },
      };
    },
  };
}
