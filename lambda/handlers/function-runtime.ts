/**
 * What every composition of a function is made from besides its config: observability, the AWS
 * SDK clients (built on first use, so no SDK code runs during the cold-start import), where events
 * go, and time. The Lambda entries pass {@link createAwsClients}; the local stack, the tests and
 * the benchmark pass clients on loopback endpoints, a different event sink or a moved clock, and
 * nothing else differs.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from '@aws-lambda-powertools/logger';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { KMSClient } from '@aws-sdk/client-kms';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { SNSClient } from '@aws-sdk/client-sns';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { buildBoundedClientConfig } from '../adapters/aws-client-config';
import { DynamoIncidentStore } from '../adapters/incident-store';
import { SnsEventPublisher } from '../adapters/sns-publisher';
import { SYSTEM_TIME, type TimeSource } from '../core/deadline';
import type { EventContext } from '../core/events';
import type { EventPublisher, IncidentService, TokenFunctionInvoker } from '../core/ports';
import { createIncidentService } from '../services/incident-service';
import type { AfterResponseQueue } from './after-response';
import type { EventsConfig } from './events-config';

export interface FunctionClients {
  readonly dynamo: DynamoDBClient;
  readonly secrets: SecretsManagerClient;
  readonly kms: KMSClient;
  /** @default a client built on the first publish (endpoint from `AWS_ENDPOINT_URL_SNS`) */
  readonly sns?: SNSClient;
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
 * The production clients: every call bounded by {@link buildBoundedClientConfig}, so a stalled AWS
 * call ends in the broker's own error answer rather than in the Lambda timeout. Endpoints follow
 * the standard `AWS_ENDPOINT_URL_*` variables.
 */
export async function createAwsClients(): Promise<FunctionClients> {
  // Dynamic imports keep the SDK's module initialisation off the cold-start import path.
  const [{ DynamoDBClient }, { SecretsManagerClient }, { KMSClient }] = await Promise.all([
    import('@aws-sdk/client-dynamodb'),
    import('@aws-sdk/client-secrets-manager'),
    import('@aws-sdk/client-kms'),
  ]);
  return {
    dynamo: new DynamoDBClient(buildBoundedClientConfig()),
    secrets: new SecretsManagerClient(buildBoundedClientConfig()),
    kms: new KMSClient(buildBoundedClientConfig()),
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
  documents: DynamoDBDocumentClient,
  runtime: Pick<FunctionRuntime, 'logger' | 'metrics' | 'publisher' | 'time'>,
  sns?: SNSClient,
): FunctionEvents {
  const { logger, metrics } = runtime;
  const time = runtime.time ?? SYSTEM_TIME;
  const eventContext: EventContext = {
    source: config.source,
    clock: () => time.now(),
    newId: randomUUID,
  };
  const publisher =
    runtime.publisher ??
    new SnsEventPublisher({
      ...(sns && { client: sns }),
      topicArn: config.topicArn,
      logger,
      metrics,
    });
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
