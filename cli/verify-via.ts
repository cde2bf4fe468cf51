/** `verify --via`: through the token API as a caller, or the direct exchange an operator runs. */
import { usageError } from './io';
import type { BrokerApi, Target } from './target';

export const VIA_HELP = `  --via api|direct          api: through the token API with the client library, signed as a
                            caller (the local stack's caller key; in AWS the standard credential
                            chain, which must be one of the org's callers); direct: the exchange
                            with the operator's own access to the registry and the key
                            (default: api with --local, direct in AWS)`;

/**
 * The API to verify through, or undefined for the direct exchange.
 * @throws CliError (usage) for an unknown value, or api without a known API URL
 */
export function resolveVia(via: string | undefined, target: Target): BrokerApi | undefined {
  if (via !== undefined && via !== 'api' && via !== 'direct') {
    throw usageError('--via must be api or direct');
  }
  if (via === 'direct') return undefined;
  if (via === 'api') {
    if (!target.brokerApi) {
      throw usageError(
        target.kind === 'local'
          ? '--via api needs the running stack (npm start) and its stack file, not explicit endpoints'
          : '--via api needs the API base URL: --public-base-url URL or PUBLIC_BASE_URL',
      );
    }
    return target.brokerApi;
  }
  return target.kind === 'local' ? target.brokerApi : undefined;
}
