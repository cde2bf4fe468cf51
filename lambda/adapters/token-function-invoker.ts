/**
 * The OAuth function's way to the signer: a {@link TokenFunctionInvoker} over Lambda Invoke
 * (RequestResponse), and the {@link TokenExchanger} the approval service uses on top of any
 * invoker. Only the token function reads signing keys; the OAuth role may invoke it, nothing more.
 */
import { BrokerError } from '../core/errors';
import { parseInternalEventResult } from '../core/internal-events';
import type { TokenExchanger, TokenFunctionInvoker } from '../core/ports';
import type { AwsClient } from './aws-request';

export interface LambdaTokenFunctionInvokerOptions {
  /**
   * A client for the `lambda` service. One attempt is right: a retried invoke would run a second
   * Salesforce login for the same approval.
   */
  readonly client: Pick<AwsClient, 'send'>;
  /** The token function's name or ARN (`TOKEN_FUNCTION_NAME`). */
  readonly functionName: string;
}

/** @throws Error naming the function error or the malformed answer (the payload is never quoted) */
export function createLambdaTokenFunctionInvoker(
  options: LambdaTokenFunctionInvokerOptions,
): TokenFunctionInvoker {
  return {
    async invoke(event) {
      // Lambda's REST-JSON Invoke: the payload is the body, a function error is a header.
      const output = await options.client.send({
        path: `/2015-03-31/functions/${encodeURIComponent(options.functionName)}/invocations`,
        headers: {
          'content-type': 'application/json',
          'x-amz-invocation-type': 'RequestResponse',
        },
        body: JSON.stringify(event),
      });
      const functionError = output.headers.get('x-amz-function-error');
      if (functionError) {
        throw new Error(`The token function failed (${functionError})`);
      }
      let payload: unknown;
      try {
        payload = JSON.parse(output.body);
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
