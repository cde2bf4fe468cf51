/**
 * Publishes broker events to the SNS topic, with SNS's Query protocol over the lean client
 * (aws-request.ts): throttling, 5xx, timeouts and network failures are retried within the
 * client's `maxAttempts` and per-attempt timeout; `NotFound` or `AuthorizationError` are not. An
 * event that still cannot be delivered is logged in full at ERROR with
 * `event_delivery_failed: true` and counted, so an operator can replay it from the logs; the
 * caller never sees an error.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { buildEventAttributes } from '../core/events';
import { METRIC } from '../core/metrics';
import type { EventPublisher } from '../core/ports';
import type { BrokerEvent } from '../core/types';
import { callAwsQuery } from './aws-protocols';
import { type AwsClient, readXmlElement } from './aws-request';

export interface SnsEventPublisherOptions {
  /** A client for the `sns` service; its limits bound how long a publish may take. */
  readonly client: Pick<AwsClient, 'send'>;
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

/** The Publish parameters, attributes flattened as the Query protocol lists them (1-based). */
function buildPublishParams(topicArn: string, event: BrokerEvent): Record<string, string> {
  const params: Record<string, string> = {
    Action: 'Publish',
    Version: '2010-03-31',
    TopicArn: topicArn,
    Message: JSON.stringify(event),
    Subject: buildSubject(event),
  };
  Object.entries(buildEventAttributes(event)).forEach(([name, value], index) => {
    const entry = `MessageAttributes.entry.${index + 1}`;
    params[`${entry}.Name`] = name;
    params[`${entry}.Value.DataType`] = 'String';
    params[`${entry}.Value.StringValue`] = value;
  });
  return params;
}

export class SnsEventPublisher implements EventPublisher {
  readonly #client: Pick<AwsClient, 'send'>;
  readonly #topicArn: string;
  readonly #logger: Logger;
  readonly #metrics: Metrics;

  constructor(options: SnsEventPublisherOptions) {
    this.#client = options.client;
    this.#topicArn = options.topicArn;
    this.#logger = options.logger;
    this.#metrics = options.metrics;
  }

  async publish(event: BrokerEvent): Promise<void> {
    try {
      const answer = await callAwsQuery(this.#client, buildPublishParams(this.#topicArn, event));
      this.#logger.info('Event published', {
        event_type: event.type,
        event_id: event.id,
        sns_message_id: readXmlElement(answer, 'MessageId'),
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
