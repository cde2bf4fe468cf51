/**
 * The token function's adapters and services over its clients: built once per function instance,
 * on the first request. Only {@link composeTokenFunction} imports this module.
 */
import { createDynamoOrgRegistry } from '../adapters/org-registry';
import { createSalesforceTokenClient } from '../adapters/salesforce-token-client';
import { createSecretsManagerSigningKeys } from '../adapters/signing-keys';
import { SYSTEM_TIME } from '../core/deadline';
import { createJwtExchange } from '../services/jwt-exchange';
import { createTokenService, type TokenService } from '../services/token-service';
import { createExchangeReporter } from './exchange-reporting';
import { composeEvents, type FunctionClients, type FunctionRuntime } from './function-runtime';
import type { TokenFunctionConfig } from './token-function';

export async function composeTokenService(
  config: TokenFunctionConfig,
  runtime: FunctionRuntime,
  clients: FunctionClients,
): Promise<TokenService> {
  const { logger, metrics, time } = runtime;
  // Loaded here, not imported: esbuild hoists a static SDK import into the entry's cold start.
  const documents = (await import('@aws-sdk/lib-dynamodb')).DynamoDBDocumentClient.from(
    clients.dynamo,
  );
  const { incidents, publisher, eventContext } = composeEvents(
    config.events,
    documents,
    runtime,
    clients.sns,
  );
  const registry = createDynamoOrgRegistry({
    client: documents,
    tableName: config.token.tableName,
  });
  const signingKeys = createSecretsManagerSigningKeys({
    client: clients.secrets,
    kms: clients.kms,
    maxAgeMs: config.token.signingKeyMaxAgeSeconds * 1000,
    onRefreshFailure: (secretId, error) =>
      logger.warn('Signing key refresh failed; serving the last good key', {
        secret_id: secretId,
        message: error.message,
      }),
  });
  return createTokenService({
    registry,
    exchange: createJwtExchange({
      signingKeys,
      tokenEndpoint: createSalesforceTokenClient({
        timeoutMs: config.token.salesforceTimeoutMs,
        ...(time ? { time } : {}),
      }),
      publicBaseUrl: config.token.publicBaseUrl,
      clock: () => (time ?? SYSTEM_TIME).now(),
      ...(time ? { time } : {}),
      rotation: { store: registry, publisher, eventContext, logger },
    }),
    signingKeys,
    publicBaseUrl: config.token.publicBaseUrl,
    incidents,
    reporter: createExchangeReporter(logger, metrics),
    logger,
    ...(time ? { time } : {}),
  });
}
