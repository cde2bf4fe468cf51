/**
 * The token function's adapters and services over its clients: built once per function instance,
 * on the first request. Only {@link composeTokenFunction} imports this module.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createKmsApprovalLinkSigner } from '../adapters/approval-link-signer';
import { createDynamoOrgRegistry } from '../adapters/org-registry';
import { createSalesforceTokenClient } from '../adapters/salesforce-token-client';
import { createSecretsManagerSigningKeys } from '../adapters/signing-keys';
import { SYSTEM_TIME } from '../core/deadline';
import { type ApprovalLinks, createApprovalLinks } from '../services/approval-links';
import { createJwtExchange } from '../services/jwt-exchange';
import { createTokenService, type TokenService } from '../services/token-service';
import type { ApprovalLinkConfig } from './approval-link-config';
import { createExchangeReporter } from './exchange-reporting';
import {
  composeEvents,
  type FunctionClients,
  type FunctionEvents,
  type FunctionRuntime,
} from './function-runtime';
import type { TokenFunctionConfig } from './token-function';

/** The function's approval links: signed with the stack's KMS HMAC key. */
export function composeApprovalLinks(
  config: { readonly publicBaseUrl: string; readonly approvalLinks: ApprovalLinkConfig },
  runtime: FunctionRuntime,
  clients: FunctionClients,
): ApprovalLinks {
  const time = runtime.time ?? SYSTEM_TIME;
  return createApprovalLinks({
    signer: createKmsApprovalLinkSigner({
      client: clients.kms,
      keyId: config.approvalLinks.keyId,
    }),
    publicBaseUrl: config.publicBaseUrl,
    lifetimeSeconds: config.approvalLinks.lifetimeSeconds,
    clock: () => time.now(),
    logger: runtime.logger,
  });
}

/**
 * @param shared the document client and events when the caller composes more than the token
 * service over them (the OAuth function), so the function runs one of each
 */
export async function composeTokenService(
  config: TokenFunctionConfig,
  runtime: FunctionRuntime,
  clients: FunctionClients,
  shared?: { readonly documents: DynamoDBDocumentClient; readonly events: FunctionEvents },
): Promise<TokenService> {
  const { logger, metrics, time } = runtime;
  // Loaded here, not imported: esbuild hoists a static SDK import into the entry's cold start.
  const documents =
    shared?.documents ??
    (await import('@aws-sdk/lib-dynamodb')).DynamoDBDocumentClient.from(clients.dynamo);
  const { incidents } =
    shared?.events ?? composeEvents(config.events, documents, runtime, clients.sns);
  const signingKeys = createSecretsManagerSigningKeys({
    client: clients.secrets,
    maxAgeMs: config.token.signingKeyMaxAgeSeconds * 1000,
    onRefreshFailure: (secretId, error) =>
      logger.warn('Signing key refresh failed; serving the last good key', {
        secret_id: secretId,
        message: error.message,
      }),
  });
  const approvalLinks = composeApprovalLinks(config.token, runtime, clients);
  return createTokenService({
    registry: createDynamoOrgRegistry({ client: documents, tableName: config.token.tableName }),
    exchange: createJwtExchange({
      signingKeys,
      tokenEndpoint: createSalesforceTokenClient({
        timeoutMs: config.token.salesforceTimeoutMs,
        ...(time ? { time } : {}),
      }),
      publicBaseUrl: config.token.publicBaseUrl,
      approvalLinks,
      clock: () => (time ?? SYSTEM_TIME).now(),
    }),
    signingKeys,
    publicBaseUrl: config.token.publicBaseUrl,
    approvalLinks,
    incidents,
    reporter: createExchangeReporter(logger, metrics),
    logger,
    ...(time ? { time } : {}),
  });
}
