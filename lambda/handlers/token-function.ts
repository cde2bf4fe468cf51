/**
 * The one composition root of the token function: config + runtime (clients, observability,
 * events, time) in, the Lambda handler out. The Lambda entry (token.ts), the local stack, the
 * tests and the benchmark all build the function here. The adapters are composed on the first
 * request (token-function-adapters.ts, imported dynamically), so the cold-start import stays small.
 *
 * The handler takes API Gateway proxy events (the token API) and internal events (a direct
 * invoke, lambda/core/internal-events.ts): one function, one set of signing keys in memory.
 */
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import {
  type InternalEvent,
  type InternalEventResult,
  isInternalEvent,
} from '../core/internal-events';
import type { EventsConfig } from './events-config';
import { type FunctionRuntime, once } from './function-runtime';
import { createInternalEventHandler } from './internal-event-handler';
import type { TokenConfig } from './token-config';
import { createTokenHandler } from './token-handler';

export interface TokenFunctionConfig {
  readonly token: TokenConfig;
  readonly events: EventsConfig;
}

/** The token function's handler: the token API's proxy events, or an internal event. */
export interface TokenFunctionHandler {
  (event: APIGatewayProxyEvent, context: Context): Promise<APIGatewayProxyResult>;
  (event: InternalEvent, context: Context): Promise<InternalEventResult>;
}

export function composeTokenFunction(
  config: TokenFunctionConfig,
  runtime: FunctionRuntime,
): TokenFunctionHandler {
  const services = once(async () => {
    const { composeTokenFunctionServices } = await import('./token-function-adapters');
    return composeTokenFunctionServices(config, runtime, await runtime.clients());
  });
  const service = async () => (await services()).service;
  const time = runtime.time ? { time: runtime.time } : {};
  const { afterResponse } = runtime;
  const rest = createTokenHandler({
    service,
    logger: runtime.logger,
    metrics: runtime.metrics,
    afterResponse,
    ...time,
  });
  const internal = createInternalEventHandler({
    service,
    certificateCheck: async () => (await services()).certificateCheck,
    logger: runtime.logger,
    metrics: runtime.metrics,
    ...time,
  });
  const dispatch = (event: APIGatewayProxyEvent | InternalEvent, context: Context) =>
    isInternalEvent(event)
      ? internal(event, context)
      : rest(event as APIGatewayProxyEvent, context);
  if (!afterResponse) return dispatch as TokenFunctionHandler;
  return (async (event: APIGatewayProxyEvent | InternalEvent, context: Context) => {
    afterResponse.begin(context.awsRequestId);
    try {
      return await dispatch(event, context);
    } finally {
      // The extension ends the invocation once the work deferred during it has settled.
      afterResponse.finish(context.awsRequestId);
    }
  }) as TokenFunctionHandler;
}
