/**
 * The production composition of the token service: AWS SDK clients and adapters, built once per
 * function instance on the first request. Imported dynamically by token.ts so that neither the SDK
 * nor the adapters are evaluated during the cold-start import. SDK endpoints follow the standard
 * AWS_ENDPOINT_URL_* variables, which is how the local stack points them at loopback servers.
 */
import { createDynamoOrgRegistry } from '../adapters/org-registry';
import { createSalesforceTokenClient } from '../adapters/salesforce-token-client';
import { createSecretsManagerSigningKeys } from '../adapters/signing-keys';
import type { IncidentTracker } from '../core/ports';
import { createTokenService, type TokenService } from '../services/token-service';
import type { TokenConfig } from './token-config';
import type { ServiceHooks } from './token-handler';

export interface AwsTokenServiceExtras {
  /** @default a tracker that does nothing */
  readonly incidents?: IncidentTracker;
}

export async function createAwsTokenService(
  config: TokenConfig,
  hooks: ServiceHooks,
  extras: AwsTokenServiceExtras = {},
): Promise<TokenService> {
  // Dynamic imports keep the SDK's module initialisation off the cold-start import path.
  const [{ DynamoDBClient }, { SecretsManagerClient }, { DynamoDBDocumentClient }] =
    await Promise.all([
      import('@aws-sdk/client-dynamodb'),
      import('@aws-sdk/client-secrets-manager'),
      import('@aws-sdk/lib-dynamodb'),
    ]);
  const documents = DynamoDBDocumentClient.from(new DynamoDBClient({}));
  const signingKeys = createSecretsManagerSigningKeys({
    client: new SecretsManagerClient({}),
    maxAgeMs: config.signingKeyMaxAgeSeconds * 1000,
    onRefreshFailure: (secretId, error) =>
      hooks.logger.warn('Signing key refresh failed; serving the last good key', {
        secret_id: secretId,
        message: error.message,
      }),
  });
  return createTokenService({
    registry: createDynamoOrgRegistry({ client: documents, tableName: config.tableName }),
    signingKeys,
    tokenEndpoint: createSalesforceTokenClient({ timeoutMs: config.salesforceTimeoutMs }),
    publicBaseUrl: config.publicBaseUrl,
    ...(extras.incidents ? { incidents: extras.incidents } : {}),
    onExchange: hooks.onExchange,
    logger: hooks.logger,
  });
}
