/**
 * The production composition of the token service: AWS SDK clients and adapters, built once per
 * function instance on the first request. Imported dynamically by token.ts so that neither the SDK
 * nor the adapters are evaluated during the cold-start import. SDK endpoints follow the standard
 * AWS_ENDPOINT_URL_* variables, which is how the local stack points them at loopback servers.
 */
import { buildBoundedClientConfig } from '../adapters/aws-client-config';
import { createDynamoOrgRegistry } from '../adapters/org-registry';
import { createSalesforceTokenClient } from '../adapters/salesforce-token-client';
import { createSecretsManagerSigningKeys } from '../adapters/signing-keys';
import { createTokenService, type TokenService } from '../services/token-service';
import { createIncidentTracking, type IncidentTrackingConfig } from './incident-tracking';
import type { TokenConfig } from './token-config';
import type { ServiceHooks } from './token-handler';

/**
 * One DynamoDB client serves the org registry and the incident ledger; every SDK client is
 * bounded by {@link buildBoundedClientConfig}, so a stalled AWS call ends in the broker's own
 * error response rather than in the Lambda timeout.
 */
export async function createAwsTokenService(
  config: TokenConfig,
  tracking: IncidentTrackingConfig,
  hooks: ServiceHooks,
): Promise<TokenService> {
  // Dynamic imports: esbuild would hoist static imports of the (external) SDK to the bundle's top.
  const [{ DynamoDBClient }, { SecretsManagerClient }, { DynamoDBDocumentClient }] =
    await Promise.all([
      import('@aws-sdk/client-dynamodb'),
      import('@aws-sdk/client-secrets-manager'),
      import('@aws-sdk/lib-dynamodb'),
    ]);
  const documents = DynamoDBDocumentClient.from(new DynamoDBClient(buildBoundedClientConfig()));
  const { tracker } = createIncidentTracking(tracking, { documents });
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
    incidents: tracker,
    ...hooks,
  });
}
