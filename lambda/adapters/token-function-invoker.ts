/**
 * The OAuth function's way to the signer: a {@link TokenFunctionInvoker} over Lambda Invoke
 * (RequestResponse), and the {@link TokenExchanger} the approval service uses on top of any
 * invoker. Only the token function reads signing keys; the OAuth role may invoke it, nothing more.
 */
import type { LambdaClient } from '@aws-sdk/client-lambda';
import { BrokerError } from '../core/errors';
import { parseInternalEventResult } from '../core/internal-events';
import type { TokenExchanger, TokenFunctionInvoker } from '../core/ports';

export interface LambdaTokenFunctionInvokerOptions {
  readonly client: Pick<LambdaClient, 'send'>;
  /** The token function's name or ARN (`TOKEN_FUNCTION_NAME`). */
  readonly functionName: string;
}

/** @throws Error naming the function error or the malformed answer (the payload is never quoted) */
export function createLambdaTokenFunctionInvoker(
  options: LambdaTokenFunctionInvokerOptions,
): TokenFunctionInvoker {
  return {
    async invoke(event) {
      const { InvokeCommand } = await import('@aws-sdk/client-lambda');
      const output = await options.client.send(
        new InvokeCommand({
          FunctionName: options.functionName,
          InvocationType: 'RequestResponse',
          Payload: new TextEncoder().encode(JSON.stringify(event)),
        }),
      );
      if (output.FunctionError) {
        throw new Error(`The token function failed (${output.FunctionError})`);
      }
      let payload: unknown;
      try {
        payload = JSON.parse(new TextDecoder().decode(output.Payload ?? new Uint8Array()));
      } catch {
        payload = undefined;
      }
      const result = parseInternalEventResult(payload);
      if (!result) throw new Error('The token function answered in an unknown shape');
      return result;
    },
  };
}

/**
 * A {@link TokenExchanger} that asks the token function for the exchange. A failure comes back as
 * the token function's own `BrokerError` (category, Salesforce detail, remediation); an invoke
 * that fails is `signing_key_unavailable`: the signer could not be reached.
 */
export function createInvokedTokenExchanger(invoker: TokenFunctionInvoker): TokenExchanger {
  return {
    async exchangeFresh(org, { requestId, deadline }) {
      let result: Awaited<ReturnType<TokenFunctionInvoker['invoke']>>;
      try {
        result = await invoker.invoke({
          brokerInternal: 'exchange_fresh',
          orgId: org.orgId,
          requestId,
          salesforceBy: deadline.salesforceBy,
        });
      } catch (cause) {
        throw new BrokerError(
          'signing_key_unavailable',
          `The token function, which holds the signing keys, could not be invoked: ${(cause as Error).message}`,
          { cause },
        );
      }
      if (result.ok) return;
      const { category, message, salesforce, remediation } = result.error;
      throw new BrokerError(category, message, {
        ...(salesforce ? { salesforce } : {}),
        ...(remediation ? { remediation } : {}),
      });
    },
  };
}
