/**
 * The one composition root of the OAuth function: config + runtime in, the Lambda handler out.
 * Used by the Lambda entry (oauth.ts), the local stack and the tests alike. The adapters are
 * composed on the first request (oauth-function-adapters.ts, imported dynamically), so the
 * cold-start import stays small.
 */
import type { EventsConfig } from './events-config';
import { type FunctionRuntime, once } from './function-runtime';
import type { OAuthConfig } from './oauth-config';
import type { RestHandler } from './rest-handler';

export interface OAuthFunctionConfig {
  readonly oauth: OAuthConfig;
  readonly events: EventsConfig;
}

export function composeOAuthFunction(
  config: OAuthFunctionConfig,
  runtime: FunctionRuntime,
): RestHandler {
  const handler = once(async () => {
    const { composeOAuthHandler } = await import('./oauth-function-adapters');
    return composeOAuthHandler(config, runtime, await runtime.clients());
  });
  return async (event, context) => (await handler())(event, context);
}
