/**
 * The token function composed as production composes it, over dynalite and the local Secrets
 * Manager, with KMS on a closed loopback port: nothing is shared through the fleet tier or
 * linked, so every request exchanges (for tests of what an exchange does: rotation, expiry).
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { DynamoDocuments } from '../../lambda/adapters/dynamo-documents';
import { METRIC_NAMESPACE, SERVICE_NAME } from '../../lambda/core/metrics';
import type { EventPublisher } from '../../lambda/core/ports';
import { readEventsConfig } from '../../lambda/handlers/events-config';
import { composeTokenFunction } from '../../lambda/handlers/token-function';
import { createLocalAwsClient } from '../../local/aws-clients';

const LOCAL = { region: 'eu-west-1', credentials: { accessKeyId: 'l', secretAccessKey: 'l' } };

export function composeExchangingTokenFunction(options: {
  readonly tableName: string;
  readonly dynamo: DynamoDocuments;
  readonly secretsEndpoint: string;
  readonly publisher: EventPublisher;
}) {
  const { tableName } = options;
  return composeTokenFunction(
    {
      token: {
        tableName,
        publicBaseUrl: 'https://broker.example.com/prod',
        salesforceTimeoutMs: 2000,
        signingKeyMaxAgeSeconds: 300,
        tokenCacheKeyId: 'alias/unreachable',
        failureMemorySeconds: 0,
        minTokenAgeSeconds: 0,
        approvalLinks: { keyId: 'alias/unreachable', lifetimeSeconds: 604_800 },
      },
      events: readEventsConfig(
        { EVENTS_TOPIC_ARN: 'arn:aws:sns:eu-west-1:123456789012:events', TABLE_NAME: tableName },
        'token',
      ),
    },
    {
      logger: new Logger({ serviceName: SERVICE_NAME }),
      metrics: new Metrics({ namespace: METRIC_NAMESPACE, serviceName: SERVICE_NAME }),
      clients: () => ({
        dynamo: options.dynamo,
        secrets: new SecretsManagerClient({ ...LOCAL, endpoint: options.secretsEndpoint }),
        kms: createLocalAwsClient('kms', 'http://127.0.0.1:9'),
      }),
      publisher: options.publisher,
    },
  );
}
