/**
 * The OAuth function's adapters and services over its clients: built once per function instance,
 * on the first request. Only {@link composeOAuthFunction} imports this module.
 */
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { buildBoundedClientConfig } from '../adapters/aws-client-config';
import { createOAuthStateStore } from '../adapters/oauth-state-store';
import { createDynamoOrgRegistry } from '../adapters/org-registry';
import {
  createConsumerSecretReader,
  createSalesforceOAuthClient,
} from '../adapters/salesforce-oauth-client';
import {
  createInvokedTokenExchanger,
  createLambdaTokenFunctionInvoker,
} from '../adapters/token-function-invoker';
import { selectBindingCookiePolicy } from '../core/cookies';
import { SYSTEM_TIME } from '../core/deadline';
import { createApprovalService } from '../services/approval-service';
import { ConfigError } from './env';
import { composeEvents, type FunctionClients, type FunctionRuntime } from './function-runtime';
import type { OAuthFunctionConfig } from './oauth-function';
import { createOAuthHandler } from './oauth-handler';
import { recordApprovalOutcome } from './oauth-metrics';
import type { RestHandler } from './rest-handler';
import { composeApprovalLinks } from './token-function-adapters';

/** The token function over Lambda Invoke, its client built here: only this function needs it. */
async function invokeTokenFunction(functionName: string | undefined) {
  if (!functionName) {
    throw new ConfigError('Environment variable TOKEN_FUNCTION_NAME is required');
  }
  const { LambdaClient } = await import('@aws-sdk/client-lambda');
  // One attempt of up to 19 s: the token function answers within its own 20 s timeout, and a
  // retried invoke would run a second Salesforce login for the same approval.
  const client = new LambdaClient(
    buildBoundedClientConfig({ maxAttempts: 1, attemptTimeoutMs: 19_000 }),
  );
  return createLambdaTokenFunctionInvoker({ client, functionName });
}

export async function composeOAuthHandler(
  config: OAuthFunctionConfig,
  runtime: FunctionRuntime,
  clients: FunctionClients,
): Promise<RestHandler> {
  const { logger, metrics } = runtime;
  const time = runtime.time ?? SYSTEM_TIME;
  const { oauth } = config;
  const documents = DynamoDBDocumentClient.from(clients.dynamo);
  const events = composeEvents(config.events, documents, runtime, clients.sns);
  // The callback's JWT re-run is the token function's: only it reads signing keys and signs.
  const tokens = createInvokedTokenExchanger(
    runtime.tokenFunction ?? (await invokeTokenFunction(oauth.tokenFunctionName)),
  );
  const service = createApprovalService({
    orgs: createDynamoOrgRegistry({ client: documents, tableName: oauth.tableName }),
    states: createOAuthStateStore({ client: documents, tableName: oauth.tableName }),
    codes: createSalesforceOAuthClient({
      timeoutMs: oauth.salesforceTimeoutMs,
      readConsumerSecret: createConsumerSecretReader(clients.secrets),
      time,
    }),
    tokens,
    events: events.publisher,
    eventContext: events.eventContext,
    clock: () => time.now(),
    logger,
    publicBaseUrl: oauth.publicBaseUrl,
    links: composeApprovalLinks(oauth, runtime, clients),
    stateTtlSeconds: oauth.stateTtlSeconds,
  });
  return createOAuthHandler({
    service,
    cookiePolicy: selectBindingCookiePolicy(oauth.publicBaseUrl),
    logger,
    metrics,
    time,
    onOutcome: (outcome) => recordApprovalOutcome(metrics, outcome),
  });
}
