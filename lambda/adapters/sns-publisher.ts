/**
 * Publishes broker events to the SNS topic. Retries are the SDK's standard strategy (throttling,
 * 5xx and timeouts are retried; NotFound or AuthorizationError are not), bounded by the client's
 * `maxAttempts` and per-attempt timeouts set in {@link createSnsClient}. An event that still cannot
 * be delivered is logged in full at ERROR with `event_delivery_failed: true` and counted, so an
 * operator can replay it from the logs; the caller never sees an error.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { MessageAttributeValue, SNSClient } from '@aws-sdk/client-sns';
import { buildEventAttributes } from '../core/events';
import { METRIC } from '../core/metrics';
import type { EventPublisher } from '../core/ports';
import type { BrokerEvent } from '../core/types';
import { buildBoundedClientConfig } from './aws-client-config';

let snsModule: Promise<typeof import('@aws-sdk/client-sns')> | undefined;
/** The SDK is loaded on first use, keeping it off the function's cold-start import path. */
function loadSdk() {
  snsModule ??= import('@aws-sdk/client-sns');
  return snsModule;
}

export interface SnsClientOptions {
  /** Endpoint override (tests, local stack); otherwise the SDK's, which honours AWS_ENDPOINT_URL_SNS. */
  readonly endpoint?: string | undefined;
  readonly region?: string | undefined;
  /** Attempts per publish, first one included. @default 3 */
  readonly maxAttempts?: number;
  /** Per-attempt limit for connecting and for the whole response, in ms. @default 1000 */
  readonly attemptTimeoutMs?: number;
}

/** An SNS client whose retries and timeouts keep a publish well inside a token request's budget. */
export async function createSnsClient(options: SnsClientOptions = {}): Promise<SNSClient> {
  const { SNSClient } = await loadSdk();
  return new SNSClient({
    ...(options.endpoint && { endpoint: options.endpoint }),
    ...(options.region && { region: options.region }),
    ...buildBoundedClientConfig(options),
  });
}

export interface SnsEventPublisherOptions {
  /** @default a client from {@link createSnsClient} with its defaults, built on first publish */
  readonly client?: SNSClient;
  readonly topicArn: string;
  readonly logger: Logger;
  readonly metrics: Metrics;
}

/** SNS subjects must be ASCII, at most 100 characters; they are what email subscribers see. */
function buildSubject(event: BrokerEvent): string {
  const { severity, category } = buildEventAttributes(event);
  const subject = `[${severity}] ${event.type} ${event.subject}${category ? ` ${category}` : ''}`;
  return subject.replace(/[^\x20-\x7e]/g, '?').slice(0, 100);
}

function buildMessageAttributes(event: BrokerEvent): Record<string, MessageAttributeValue> {
  return Object.fromEntries(
    Object.entries(buildEventAttributes(event)).map(([name, value]) => [
      name,
      { DataType: 'String', StringValue: value },
    ]),
  );
}

export class SnsEventPublisher implements EventPublisher {
  #client: Promise<SNSClient> | undefined;
  readonly #topicArn: string;
  readonly #logger: Logger;
  readonly #metrics: Metrics;

  constructor(options: SnsEventPublisherOptions) {
    this.#client = options.client && Promise.resolve(options.client);
    this.#topicArn = options.topicArn;
    this.#logger = options.logger;
    this.#metrics = options.metrics;
  }

  async publish(event: BrokerEvent): Promise<void> {
    try {
      this.#client ??= createSnsClient();
      const [{ PublishCommand }, client] = await Promise.all([loadSdk(), this.#client]);
      const output = await client.send(
        new PublishCommand({
          TopicArn: this.#topicArn,
          Message: JSON.stringify(event),
          Subject: buildSubject(event),
          MessageAttributes: buildMessageAttributes(event),
        }),
      );
      this.#logger.info('Event published', {
        event_type: event.type,
        event_id: event.id,
        sns_message_id: output.MessageId,
      });
    } catch (error) {
      this.#reportDeliveryFailure(event, error);
    }
  }

  #reportDeliveryFailure(event: BrokerEvent, error: unknown): void {
    const failure = error as { name?: string; message?: string; $metadata?: { attempts?: number } };
    // The whole event goes to the log: it is the copy of record an operator replays from.
    this.#logger.error('Event delivery failed', {
      event_delivery_failed: true,
      event_type: event.type,
      event_id: event.id,
      event,
      error_name: failure.name,
      error_message: failure.message,
      attempts: failure.$metadata?.attempts,
    });
    this.#metrics.singleMetric().addMetric(METRIC.eventDeliveryFailed, MetricUnit.Count, 1);
  }
}
