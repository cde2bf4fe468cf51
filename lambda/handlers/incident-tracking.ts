/**
 * Wiring of events and incidents for a function: the SNS publisher, the DynamoDB incident ledger
 * and the tracker over them. The configuration is read at cold start; the adapters and SDK clients
 * are loaded and built on first use, off the cold-start import path. Shared by the token and OAuth
 * functions so both publish identical envelopes from the same settings.
 */
import { randomUUID } from 'node:crypto';
import type { SNSClient } from '@aws-sdk/client-sns';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { EventContext } from '../core/events';
import type { EventPublisher, IncidentTracker } from '../core/ports';
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
 * @param clients SDK clients to share; by default new ones, whose endpoints follow the standard
 * `AWS_ENDPOINT_URL_*` variables
 */
export async function createIncidentTracking(
  config: IncidentTrackingConfig,
  clients: { readonly documents?: DynamoDBDocumentClient; readonly sns?: SNSClient } = {},
): Promise<IncidentTracking> {
  const [
    { DynamoIncidentLedger },
    { createSnsClient, SnsEventPublisher },
    { createIncidentTracker },
  ] = await Promise.all([
    import('../adapters/incident-ledger'),
    import('../adapters/sns-publisher'),
    import('../services/incident-tracker'),
  ]);
  const documents = clients.documents ?? (await createDocumentClient());
  const events: EventContext = { source: config.source, clock: Date.now, newId: randomUUID };
  const publisher = new SnsEventPublisher({
    client: clients.sns ?? (await createSnsClient()),
    topicArn: config.topicArn,
    logger,
    metrics,
  });
  const tracker = createIncidentTracker({
    ledger: new DynamoIncidentLedger({ client: documents, tableName: config.tableName }),
    publisher,
    events,
    reminderIntervalMs: config.reminderIntervalSeconds * 1000,
    logger,
    metrics,
  });
  return { publisher, tracker, events };
}

async function createDocumentClient(): Promise<DynamoDBDocumentClient> {
  // Dynamic imports: esbuild would hoist static imports of the (external) SDK to the bundle's top.
  const [{ DynamoDBClient }, { DynamoDBDocumentClient }] = await Promise.all([
    import('@aws-sdk/client-dynamodb'),
    import('@aws-sdk/lib-dynamodb'),
  ]);
  return DynamoDBDocumentClient.from(new DynamoDBClient({}));
}
