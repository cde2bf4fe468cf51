/**
 * The token function invoked in-process: what the local stack and the tests give the OAuth
 * function instead of Lambda Invoke. The event and the answer cross as JSON, as they do in AWS,
 * so nothing passes that the wire would not carry.
 */
import type { InternalEventResult } from '../lambda/core/internal-events';
import type { TokenFunctionInvoker } from '../lambda/core/ports';
import type { TokenFunctionHandler } from '../lambda/handlers/token-function';
import { createLambdaContext } from './rest-event';

/** The token function's timeout in the CDK stack, seconds. */
const TOKEN_FUNCTION_TIMEOUT_MS = 20_000;

/**
 * @param handler the composed token function (composeTokenFunction)
 * @param now the token function's time source, so a moved clock moves its deadline too
 */
export function createInProcessTokenFunctionInvoker(
  handler: TokenFunctionHandler,
  now: () => number = Date.now,
): TokenFunctionInvoker {
  return {
    async invoke(event) {
      const answer = await handler(
        JSON.parse(JSON.stringify(event)),
        createLambdaContext({
          functionName: 'token-broker-token',
          timeoutMs: TOKEN_FUNCTION_TIMEOUT_MS,
          now,
        }),
      );
      return JSON.parse(JSON.stringify(answer)) as InternalEventResult;
    },
  };
}
