/**
 * Wiring of events and incidents for a function: the SNS publisher, the DynamoDB incident ledger
 * and the tracker over them. The configuration is read at cold start; the SDK is loaded and its
 * clients built on first use, off the cold-start import path. Shared by the token and OAuth
 * functions so both publish identical envelopes from the same settings.
 */
import { randomUUID } from 'node:crypto';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SNSClient } from '@aws-sdk/client-sns';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoIncidentLedger } from '../adapters/incident-ledger';
import { SnsEventPublisher } from '../adapters/sns-publisher';
import type { EventContext } from '../core/events';
import type { EventPublisher, IncidentTracker } from '../core/ports';
import { createIncidentTracker } from '../services/incident-tracker';
import { readInteger, readString } from './env';
import { logger, metrics } from './observability';

type Env = Readonly<Record<string, string | undefined>>;

export interface IncidentTrackingConfig {
  readonly topicArn: string;
  readonly tableName: string;
  /** `INCIDENT_REMINDER_INTERVAL_SECONDS`. @default 3600 */
  readonly reminderIntervalSeconds: number;
  /** CloudEvents `source`: the publishing function. */
  readonly source: string;
}

/**
 * @param role which function publishes, used in the event `source` when not running in Lambda
 * @throws ConfigError naming the variable when one is missing or malformed
 */
export function readIncidentTrackingConfig(
  env: Env,
  role: 'token' | 'oauth',
): IncidentTrackingConfig {
  const functionName = env.AWS_LAMBDA_FUNCTION_NAME?.trim();
  const region = env.AWS_REGION?.trim();
  return {
    topicArn: readString(env, 'EVENTS_TOPIC_ARN'),
    tableName: readString(env, 'TABLE_NAME'),
    reminderIntervalSeconds: readInteger(env, 'INCIDENT_REMINDER_INTERVAL_SECONDS', 3600, {
      min: 60,
      max: 7 * 24 * 3600,
    }),
    source:
      functionName && region
        ? `urn:salesforce-token-broker:${region}:${functionName}`
        : `urn:salesforce-token-broker:${role}`,
  };
}

export interface IncidentTracking {
  readonly publisher: EventPublisher;
  readonly tracker: IncidentTracker;
  /** For builders called directly, e.g. the approval events. */
  readonly events: EventContext;
}

/**
 * Builds no SDK client and loads no SDK code until the first ledger call or publish.
 * @param clients SDK clients to share (`documents` wins over `dynamo`); by default new ones, whose
 * endpoints follow the standard `AWS_ENDPOINT_URL_*` variables
 */
export function createIncidentTracking(
  config: IncidentTrackingConfig,
  clients: {
    readonly documents?: DynamoDBDocumentClient;
    readonly dynamo?: DynamoDBClient;
    readonly sns?: SNSClient;
  } = {},
): IncidentTracking {
  const events: EventContext = { source: config.source, clock: Date.now, newId: randomUUID };
  const publisher = new SnsEventPublisher({
    ...(clients.sns && { client: clients.sns }),
    topicArn: config.topicArn,
    logger,
    metrics,
  });
  const tracker = createIncidentTracker({
    ledger: new DynamoIncidentLedger({
      ...(clients.documents && { documents: clients.documents }),
      ...(clients.dynamo && { client: clients.dynamo }),
      tableName: config.tableName,
    }),
    publisher,
    events,
    reminderIntervalMs: config.reminderIntervalSeconds * 1000,
    logger,
    metrics,
  });
  return { publisher, tracker, events };
}
