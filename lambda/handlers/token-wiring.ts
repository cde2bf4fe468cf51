/**
 * The production composition of the token service: AWS SDK clients and adapters, built once per
 * function instance on the first request. Imported dynamically by token.ts so that neither the SDK
 * nor the adapters are evaluated during the cold-start import. SDK endpoints follow the standard
 * AWS_ENDPOINT_URL_* variables, which is how the local stack points them at loopback servers.
 */

import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { buildBoundedClientConfig } from '../adapters/aws-client-config';
import { createDynamoOrgRegistry } from '../adapters/org-registry';
import { createSalesforceTokenClient } from '../adapters/salesforce-token-client';
import { createSecretsManagerSigningKeys } from '../adapters/signing-keys';
import type { IncidentTracker } from '../core/ports';
import { createTokenService, type TokenService } from '../services/token-service';
import type { TokenConfig } from './token-config';
import type { ServiceHooks } from './token-handler';

export interface AwsTokenServiceExtras {
  /**
   * The incident tracker, or how to build it on the service's own DynamoDB document client (so
   * the function runs one DynamoDB client, not two).
   * @default a tracker that does nothing
   */
  readonly incidents?: IncidentTracker | ((documents: DynamoDBDocumentClient) => IncidentTracker);
}

/**
 * Every SDK client is bounded by {@link buildBoundedClientConfig}, so a stalled AWS call ends in
 * the broker's own error response rather than in the Lambda timeout.
 */
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
  const documents = DynamoDBDocumentClient.from(new DynamoDBClient(buildBoundedClientConfig()));
  const incidents =
    typeof extras.incidents === 'function' ? extras.incidents(documents) : extras.incidents;
  const signingKeys = createSecretsManagerSigningKeys({
    client: new SecretsManagerClient(buildBoundedClientConfig()),
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
    ...(incidents ? { incidents } : {}),
    ...hooks,
  });
}
