/**
 * The token function's adapters and services over its clients: built once per function instance,
 * on the first request. Only {@link composeTokenFunction} imports this module.
 */
import { createKmsApprovalLinkSigner } from '../adapters/approval-link-signer';
import { createSecretsManagerConsumerSecrets } from '../adapters/consumer-secrets';
import { createDataKeySealer } from '../adapters/kms-envelope';
import { createDynamoOrgRegistry } from '../adapters/org-registry';
import { createSalesforceTokenClient } from '../adapters/salesforce-token-client';
import { createDynamoSharedTokenStore } from '../adapters/shared-token-store';
import { createSecretsManagerSigningKeys } from '../adapters/signing-keys';
import { SYSTEM_TIME } from '../core/deadline';
import { TOKEN_CACHE_PURPOSE } from '../core/shared-token';
import { type ApprovalLinks, createApprovalLinks } from '../services/approval-links';
import { type CertificateCheck, createCertificateCheck } from '../services/certificate-watch';
import { createClientCredentialsExchange } from '../services/client-credentials-exchange';
import { createFleetTokens } from '../services/fleet-tokens';
import { createGrantExchange } from '../services/grant-exchange';
import { createJwtExchange } from '../services/jwt-exchange';
import { shareOrgItemReads } from '../services/org-item-reads';
import { createTokenService, type TokenService } from '../services/token-service';
import type { ApprovalLinkConfig } from './approval-link-config';
import { createExchangeReporter } from './exchange-reporting';
import { composeEvents, type FunctionClients, type FunctionRuntime } from './function-runtime';
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

/** What the token function's routes and internal events run on. */
export interface TokenFunctionServices {
  readonly service: TokenService;
  /** The daily certificate check (`check_certificates`): same registry, keys and reporter. */
  readonly certificateCheck: CertificateCheck;
}

export async function composeTokenFunctionServices(
  config: TokenFunctionConfig,
  runtime: FunctionRuntime,
  clients: FunctionClients,
): Promise<TokenFunctionServices> {
  const { logger, metrics, time } = runtime;
  const { token } = config;
  const documents = clients.dynamo;
  const { incidents, publisher, eventContext } = composeEvents(
    config.events,
    documents,
    runtime,
    clients.sns,
  );
  // The org reload carries the key rotation state: a login reads the org item once.
  const registry = shareOrgItemReads(
    createDynamoOrgRegistry({ client: documents, tableName: token.tableName }),
    () => (time ?? SYSTEM_TIME).now(),
  );
  const signingKeys = createSecretsManagerSigningKeys({
    client: clients.secrets,
    kms: clients.kms,
    maxAgeMs: token.signingKeyMaxAgeSeconds * 1000,
    onRefreshFailure: (secretId, error) =>
      logger.warn('Signing key refresh failed; serving the last good key', {
        secret_id: secretId,
        message: error.message,
      }),
  });
  const reporter = createExchangeReporter(logger, metrics);
  const fleet = createFleetTokens({
    store: createDynamoSharedTokenStore({ client: documents, tableName: token.tableName }),
    sealer: createDataKeySealer({
      client: clients.kms,
      keyId: token.tokenCacheKeyId,
      // What KMS checks and CloudTrail records; the org is authenticated per value (AES-GCM AAD).
      dataKeyContext: { purpose: TOKEN_CACHE_PURPOSE, table: token.tableName },
    }),
    tableName: token.tableName,
    reporter,
    logger,
    time: time ?? SYSTEM_TIME,
    failureMemoryMs: token.failureMemorySeconds * 1000,
    minTokenAgeMs: token.minTokenAgeSeconds * 1000,
  });
  const approvalLinks = composeApprovalLinks(token, runtime, clients);
  const tokenEndpoint = createSalesforceTokenClient({
    timeoutMs: token.salesforceTimeoutMs,
    ...(time ? { time } : {}),
  });
  const clock = () => (time ?? SYSTEM_TIME).now();
  const { publicBaseUrl } = token;
  const certificateCheck = createCertificateCheck({
    registry,
    store: registry,
    signingKeys,
    reporter,
    publisher,
    eventContext,
    logger,
    clock,
    ...(time ? { time } : {}),
  });
  const service = createTokenService({
    registry,
    fleet,
    exchange: createGrantExchange({
      jwt_bearer: createJwtExchange({
        signingKeys,
        tokenEndpoint,
        publicBaseUrl,
        approvalLinks,
        clock,
        ...(time ? { time } : {}),
        rotation: { store: registry, publisher, eventContext, logger },
      }),
      client_credentials: createClientCredentialsExchange({
        // The signing keys' max age bounds how long a rotated consumer secret may go unnoticed too.
        consumerSecrets: createSecretsManagerConsumerSecrets({
          client: clients.secrets,
          maxAgeMs: token.signingKeyMaxAgeSeconds * 1000,
          clock,
        }),
        tokenEndpoint,
        publicBaseUrl,
        approvalLinks,
        clock,
      }),
    }),
    signingKeys,
    publicBaseUrl,
    approvalLinks,
    incidents,
    reporter,
    logger,
    ...(time ? { time } : {}),
  });
  return { service, certificateCheck };
}
