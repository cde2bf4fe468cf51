/**
 * The OAuth function's adapters and services over its clients: built once per function instance,
 * on the first request. Only {@link composeOAuthFunction} imports this module.
 */
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

/** The token function over Lambda Invoke (the clients' `lambda`: one attempt, up to 19 s). */
function invokeTokenFunction(functionName: string | undefined, clients: FunctionClients) {
  if (!functionName) {
    throw new ConfigError('Environment variable TOKEN_FUNCTION_NAME is required');
  }
  if (!clients.lambda) throw new Error('The OAuth function needs a Lambda client');
  return createLambdaTokenFunctionInvoker({ client: clients.lambda, functionName });
}

export async function composeOAuthHandler(
  config: OAuthFunctionConfig,
  runtime: FunctionRuntime,
  clients: FunctionClients,
): Promise<RestHandler> {
  const { logger, metrics } = runtime;
  const time = runtime.time ?? SYSTEM_TIME;
  const { oauth } = config;
  const documents = clients.dynamo;
  const events = composeEvents(config.events, documents, runtime, clients.sns);
  // The callback's JWT re-run is the token function's: only it reads signing keys and signs.
  const tokens = createInvokedTokenExchanger(
    runtime.tokenFunction ?? invokeTokenFunction(oauth.tokenFunctionName, clients),
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
