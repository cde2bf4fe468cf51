/**
 * The client credentials exchange: read the org's consumer secret, POST the consumer key and
 * secret to the org's own token endpoint (its My Domain: Salesforce refuses this grant on the
 * shared login hosts), and turn the classified answer into a grant or a {@link BrokerError} with
 * its remediation. The token runs as the run-as user configured on the app. The secret goes
 * into the form and nowhere else. Records nothing: bookkeeping is the caller's.
 */
import { BrokerError, isBrokerError } from '../core/errors';
import type {
  ConsumerSecretProvider,
  ExchangeReport,
  GrantExchange,
  TokenEndpointClient,
} from '../core/ports';
import type { Clock, OrgRecord } from '../core/types';
import { type FailurePolicy, toExchangeResult } from './exchange-outcome';

export const CLIENT_CREDENTIALS_GRANT_TYPE = 'client_credentials';

export interface ClientCredentialsExchangeDeps extends FailurePolicy {
  readonly consumerSecrets: ConsumerSecretProvider;
  readonly tokenEndpoint: TokenEndpointClient;
  readonly clock: Clock;
}

export function createClientCredentialsExchange(
  deps: ClientCredentialsExchangeDeps,
): GrantExchange {
  const { clock } = deps;

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
      return toExchangeResult(classification, org, measured, clock(), deps);
    },
  };
}
