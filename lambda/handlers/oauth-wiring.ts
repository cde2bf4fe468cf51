/**
 * The production composition of the OAuth function: AWS SDK clients and adapters, built once per
 * function instance on the first request. Imported dynamically by oauth.ts so the cold-start
 * import stays small. SDK endpoints follow the standard AWS_ENDPOINT_URL_* variables.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { buildBoundedClientConfig } from '../adapters/aws-client-config';
import { createOAuthStateStore } from '../adapters/oauth-state-store';
import { createDynamoOrgRegistry } from '../adapters/org-registry';
import {
  createConsumerSecretReader,
  createSalesforceOAuthClient,
} from '../adapters/salesforce-oauth-client';
import { createSalesforceTokenClient } from '../adapters/salesforce-token-client';
import { createSecretsManagerSigningKeys } from '../adapters/signing-keys';
import { selectBindingCookiePolicy } from '../core/cookies';
import { createApprovalService, deferSuccessToApproval } from '../services/approval-service';
import { createTokenService } from '../services/token-service';
import { createExchangeReporter } from './exchange-reporting';
import { createIncidentTracking, type IncidentTrackingConfig } from './incident-tracking';
import type { OAuthConfig } from './oauth-config';
import { createOAuthHandler, type RestHandler } from './oauth-handler';
import { recordApprovalOutcome } from './oauth-metrics';
import { logger, metrics } from './observability';

/** Signing keys are read once per instance here: approvals are rare. */
const SIGNING_KEY_MAX_AGE_MS = 300_000;

export async function createAwsOAuthHandler(
  config: OAuthConfig,
  tracking: IncidentTrackingConfig,
): Promise<RestHandler> {
  const dynamo = new DynamoDBClient(buildBoundedClientConfig());
  const documents = DynamoDBDocumentClient.from(dynamo);
  const secrets = new SecretsManagerClient(buildBoundedClientConfig());
  const registry = createDynamoOrgRegistry({ client: documents, tableName: config.tableName });
  const { publisher, tracker, events } = await createIncidentTracking(tracking, { documents });
  const tokens = createTokenService({
    registry,
    signingKeys: createSecretsManagerSigningKeys({
      client: secrets,
      maxAgeMs: SIGNING_KEY_MAX_AGE_MS,
    }),
    tokenEndpoint: createSalesforceTokenClient({ timeoutMs: config.salesforceTimeoutMs }),
    publicBaseUrl: config.publicBaseUrl,
    incidents: deferSuccessToApproval(tracker),
    // The callback's JWT re-run is a Salesforce login like any other: counted and logged the same.
    onExchange: createExchangeReporter(logger, metrics),
    logger,
  });
  const service = createApprovalService({
    orgs: registry,
    states: createOAuthStateStore({ client: documents, tableName: config.tableName }),
    codes: createSalesforceOAuthClient({
      timeoutMs: config.salesforceTimeoutMs,
      readConsumerSecret: createConsumerSecretReader(secrets),
    }),
    tokens,
    incidents: tracker,
    events: publisher,
    eventContext: events,
    clock: Date.now,
    logger,
    publicBaseUrl: config.publicBaseUrl,
    stateTtlSeconds: config.stateTtlSeconds,
  });
  return createOAuthHandler({
    service,
    cookiePolicy: selectBindingCookiePolicy(config.publicBaseUrl),
    logger,
    metrics,
    onOutcome: (outcome) => recordApprovalOutcome(metrics, outcome),
  });
}
