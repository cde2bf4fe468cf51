/**
 * The client credentials exchange: read the org's consumer secret, POST the consumer key and
 * secret to the org's own token endpoint (its My Domain: Salesforce refuses this grant on the
 * shared login hosts), and turn the classified answer into a grant or a {@link BrokerError} with
 * its remediation. The token runs as the run-as user configured on the app. The secret goes
 * into the form and nowhere else. Records nothing: bookkeeping is the caller's.
 */
import type { Category } from '../core/categories';
import { BrokerError, isBrokerError } from '../core/errors';
import type {
  ConsumerSecretProvider,
  ExchangeReport,
  GrantExchange,
  TokenEndpointClient,
} from '../core/ports';
import { buildRemediation } from '../core/remediation';
import { computeExpiry } from '../core/token-cache';
import type { Clock, OrgRecord, SalesforceErrorDetail } from '../core/types';
import { toGrant } from './jwt-exchange';

export const CLIENT_CREDENTIALS_GRANT_TYPE = 'client_credentials';

export interface ClientCredentialsExchangeDeps {
  readonly consumerSecrets: ConsumerSecretProvider;
  readonly tokenEndpoint: TokenEndpointClient;
  /** The API's public base URL, for links in remediations. */
  readonly publicBaseUrl: string;
  readonly clock: Clock;
  /** Retry-After for `salesforce_unavailable`, seconds. @default 5 */
  readonly unavailableRetryAfterSeconds?: number;
  /** Retry-After for `login_rate_exceeded`, seconds. @default 300 */
  readonly rateLimitRetryAfterSeconds?: number;
}

export function createClientCredentialsExchange(
  deps: ClientCredentialsExchangeDeps,
): GrantExchange {
  const { clock } = deps;

  function failure(
    category: Category,
    org: OrgRecord,
    salesforce: SalesforceErrorDetail | undefined,
  ): BrokerError {
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

  async function readSecret(org: OrgRecord): Promise<string> {
    if (org.consumerSecretId === undefined) {
      throw new BrokerError(
        'consumer_secret_unavailable',
        `Org ${org.orgId} has no consumerSecretId, which the client credentials grant needs`,
      );
    }
    return deps.consumerSecrets.getConsumerSecret(org.consumerSecretId);
  }

  return {
    async run(org, { requestId, salesforceBy }) {
      const base = { orgId: org.orgId, requestId, keyReread: false };
      let secret: string;
      try {
        secret = await readSecret(org);
      } catch (cause) {
        const error = isBrokerError(cause)
          ? cause
          : new BrokerError(
              'consumer_secret_unavailable',
              'The consumer secret could not be read',
              {
                cause,
              },
            );
        const report: ExchangeReport = {
          ...base,
          ok: false,
          category: error.category,
          salesforce: undefined,
          latencyMs: 0,
          attempts: 0,
        };
        return { ok: false, error, report };
      }

      const result = await deps.tokenEndpoint.postForm(
        `${org.loginUrl}/services/oauth2/token`,
        async () => ({
          grant_type: CLIENT_CREDENTIALS_GRANT_TYPE,
          client_id: org.consumerKey,
          client_secret: secret,
        }),
        { deadline: salesforceBy },
      );
      const measured = { ...base, latencyMs: result.latencyMs, attempts: result.attempts };
      const { classification } = result;
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
