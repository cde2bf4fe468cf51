/**
 * The OAuth function's adapters and services over its clients: built once per function instance,
 * on the first request. Only {@link composeOAuthFunction} imports this module.
 */
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createOAuthStateStore } from '../adapters/oauth-state-store';
import { createDynamoOrgRegistry } from '../adapters/org-registry';
import {
  createConsumerSecretReader,
  createSalesforceOAuthClient,
} from '../adapters/salesforce-oauth-client';
import { selectBindingCookiePolicy } from '../core/cookies';
import { SYSTEM_TIME } from '../core/deadline';
import { createApprovalService } from '../services/approval-service';
import { composeEvents, type FunctionClients, type FunctionRuntime } from './function-runtime';
import type { OAuthFunctionConfig } from './oauth-function';
import { createOAuthHandler } from './oauth-handler';
import { recordApprovalOutcome } from './oauth-metrics';
import type { RestHandler } from './rest-handler';
import { composeApprovalLinks, composeTokenService } from './token-function-adapters';

/** Signing keys are read once per instance here: approvals are rare. */
const SIGNING_KEY_MAX_AGE_SECONDS = 300;
/** The callback's own check remembers a failure like a token request would (token-config.ts). */
const FAILURE_MEMORY_SECONDS = 60;
/** Unused here: the OAuth function never drops a token on a caller's behalf. */
const MIN_TOKEN_AGE_SECONDS = 30;

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
  // The callback's JWT re-run is a Salesforce login like any other: counted and logged the same.
  const tokens = await composeTokenService(
    {
      token: {
        tableName: oauth.tableName,
        publicBaseUrl: oauth.publicBaseUrl,
        salesforceTimeoutMs: oauth.salesforceTimeoutMs,
        signingKeyMaxAgeSeconds: SIGNING_KEY_MAX_AGE_SECONDS,
        tokenCacheKeyId: oauth.tokenCacheKeyId,
        failureMemorySeconds: FAILURE_MEMORY_SECONDS,
        minTokenAgeSeconds: MIN_TOKEN_AGE_SECONDS,
        approvalLinks: oauth.approvalLinks,
      },
      events: config.events,
    },
    runtime,
    clients,
    { documents, events },
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
