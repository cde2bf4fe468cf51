/**
 * The one composition root of the token function: config + runtime (clients, observability,
 * events, time) in, the Lambda handler out. The Lambda entry (token.ts), the local stack, the
 * tests and the benchmark all build the function here. The adapters are composed on the first
 * request (token-function-adapters.ts, imported dynamically), so the cold-start import stays small.
 */
import type { EventsConfig } from './events-config';
import type { FunctionRuntime } from './function-runtime';
import type { RestHandler } from './rest-handler';
import type { TokenConfig } from './token-config';
import { createTokenHandler } from './token-handler';

export interface TokenFunctionConfig {
  readonly token: TokenConfig;
  readonly events: EventsConfig;
}

export function composeTokenFunction(
  config: TokenFunctionConfig,
  runtime: FunctionRuntime,
): RestHandler {
  return createTokenHandler({
    service: async () => {
      const { composeTokenService } = await import('./token-function-adapters');
      return composeTokenService(config, runtime, await runtime.clients());
    },
    logger: runtime.logger,
    metrics: runtime.metrics,
    ...(runtime.time ? { time: runtime.time } : {}),
  });
}
