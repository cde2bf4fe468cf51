/**
 * What every composition of a function is made from besides its config: observability, the AWS
 * clients (the lean signed-fetch clients of aws-request.ts, and the SDK's Secrets Manager client,
 * built on first use so no SDK code runs during the cold-start import), where events go, and
 * time. The Lambda entries pass {@link createAwsClients}; the local stack, the tests and
 * the benchmark pass clients on loopback endpoints, a different event sink or a moved clock, and
 * nothing else differs.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from '@aws-lambda-powertools/logger';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { buildBoundedClientConfig } from '../adapters/aws-client-config';
import {
  type AwsClient,
  type AwsClientOptions,
  type AwsCredentialProvider,
  createAwsClient,
} from '../adapters/aws-request';
import { createDynamoDocuments, type DynamoDocuments } from '../adapters/dynamo-documents';
import { DynamoIncidentStore } from '../adapters/incident-store';
import { SnsEventPublisher } from '../adapters/sns-publisher';
import { SYSTEM_TIME, type TimeSource } from '../core/deadline';
import type { EventContext } from '../core/events';
import type { EventPublisher, IncidentService, TokenFunctionInvoker } from '../core/ports';
import { createIncidentService } from '../services/incident-service';
import type { AfterResponseQueue } from './after-response';
import type { EventsConfig } from './events-config';

export interface FunctionClients {
  /** DynamoDB with native values (dynamo-documents.ts), shared by every table adapter. */
  readonly dynamo: DynamoDocuments;
  /** The SDK client: signing keys and consumer secrets stay on it. */
  readonly secrets: SecretsManagerClient;
  /** A `kms` client (aws-request.ts): the token cache's data keys, approval links, KMS signing. */
  readonly kms: AwsClient;
  /** An `sns` client for the events. @default none: the runtime's `publisher` must be given */
  readonly sns?: AwsClient;
  /**
   * A `lambda` client, for the OAuth function's invoke of the token function.
   * @default none: the runtime's `tokenFunction` must be given
   */
  readonly lambda?: AwsClient;
}

export interface FunctionRuntime {
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** The AWS clients, asked for once, on the first request. */
  readonly clients: () => FunctionClients | Promise<FunctionClients>;
  /** Where events go. @default SNS, to the configured topic */
  readonly publisher?: EventPublisher;
  /** @default real time */
  readonly time?: TimeSource;
  /**
   * How the OAuth function reaches the token function, the only signer.
   * @default Lambda Invoke of the OAuth config's `tokenFunctionName`
   */
  readonly tokenFunction?: TokenFunctionInvoker;
  /**
   * Work after the response (the token function in Lambda, with its extension registered).
   * @default none: everything is awaited before the handler returns
   */
  readonly afterResponse?: AfterResponseQueue | undefined;
}

/**
 * The endpoint the SDK would use for `variable` (its `AWS_ENDPOINT_URL_<SERVICE>` suffix), from
 * the standard service-specific or global variable, so the lean clients and the Secrets Manager
 * SDK client are pointed the same way (local stack, tests).
 */
function configuredEndpoint(variable: string): string | undefined {
  return process.env[`AWS_ENDPOINT_URL_${variable}`] || process.env.AWS_ENDPOINT_URL || undefined;
}

/**
 * The production clients, in `AWS_REGION` with the credentials Lambda puts in the environment
 * (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`). Every call is bounded
 * (3 attempts of at most 1 s by default), so a stalled AWS call ends in the broker's own error
 * answer rather than in the Lambda timeout. Endpoints follow the standard `AWS_ENDPOINT_URL_*`
 * variables, read here and nowhere else.
 */
export async function createAwsClients(): Promise<FunctionClients> {
  // Dynamic imports keep the SDK's module initialisation off the cold-start import path.
  const [{ SecretsManagerClient }, { defaultProvider }] = await Promise.all([
    import('@aws-sdk/client-secrets-manager'),
    import('./lambda-credentials'),
  ]);
  const region = process.env.AWS_REGION ?? '';
  const credentials: AwsCredentialProvider = defaultProvider();
  const client = (
    service: string,
    variable: string,
    limits: Pick<AwsClientOptions, 'maxAttempts' | 'attemptTimeoutMs'> = {},
  ) =>
    createAwsClient({
      service,
      region,
      endpoint: configuredEndpoint(variable),
      credentials,
      ...limits,
    });
  return {
    dynamo: createDynamoDocuments(client('dynamodb', 'DYNAMODB')),
    secrets: new SecretsManagerClient(buildBoundedClientConfig()),
    kms: client('kms', 'KMS'),
    sns: client('sns', 'SNS'),
    // One attempt of up to 19 s: the token function answers within its own 20 s timeout, and a
    // retried invoke would run a second Salesforce login for the same approval.
    lambda: client('lambda', 'LAMBDA', { maxAttempts: 1, attemptTimeoutMs: 19_000 }),
  };
}

/** Builds `build()` once, on first use; a failed build is not kept, so the next call tries again. */
export function once<T>(build: () => Promise<T>): () => Promise<T> {
  let built: Promise<T> | undefined;
  return () => {
    built ??= build().catch((error: unknown) => {
      built = undefined;
      throw error;
    });
    return built;
  };
}

export interface FunctionEvents {
  readonly publisher: EventPublisher;
  readonly incidents: IncidentService;
  /** `source`, clock and ids of the events built outside the incident service (approvals). */
  readonly eventContext: EventContext;
}

/** The event publisher and the incident service over the function's table. */
export function composeEvents(
  config: EventsConfig,
  documents: DynamoDocuments,
  runtime: Pick<FunctionRuntime, 'logger' | 'metrics' | 'publisher' | 'time'>,
  sns?: AwsClient,
): FunctionEvents {
  const { logger, metrics } = runtime;
  const time = runtime.time ?? SYSTEM_TIME;
  const eventContext: EventContext = {
    source: config.source,
    clock: () => time.now(),
    newId: randomUUID,
  };
  let publisher = runtime.publisher;
  if (!publisher) {
    if (!sns) throw new Error('Events need an SNS client or a publisher');
    publisher = new SnsEventPublisher({ client: sns, topicArn: config.topicArn, logger, metrics });
  }
  const incidents = createIncidentService({
    store: new DynamoIncidentStore({ documents, tableName: config.tableName }),
    publisher,
    events: eventContext,
    reminderIntervalMs: config.reminderIntervalSeconds * 1000,
    logger,
    metrics,
  });
  return { publisher, incidents, eventContext };
}
