/**
 * The local stack's event destination: a one-line summary on the console for the developer
 * watching, and the full event appended to a JSON-lines file for anything that wants to read it.
 */
import { appendFile, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { buildEventAttributes } from '../lambda/core/events';
import type { EventPublisher } from '../lambda/core/ports';
import type { BrokerEvent } from '../lambda/core/types';

/** `[critical] token_broker.incident.opened orgs/demo consumer_not_approved (count 1)` */
export function summarizeEvent(event: BrokerEvent): string {
  const { severity, category } = buildEventAttributes(event);
  const data = event.data as Record<string, unknown>;
  const details = [
    category,
    typeof data.count === 'number' ? `(count ${data.count})` : undefined,
    typeof data.jwtExchangeWorks === 'boolean'
      ? `jwt exchange ${data.jwtExchangeWorks ? 'works' : 'still fails'}`
      : undefined,
  ].filter(Boolean);
  return [`[${severity}]`, event.type, event.subject, ...details].join(' ');
}

export class JsonLinesEventSink implements EventPublisher {
  readonly #file: string;
  readonly #print: (line: string) => void;

  /**
   * @param file the JSON-lines file events are appended to (created with its folder)
   * @param print where the summary goes @default console.log
   */
  constructor(file: string, print: (line: string) => void = console.log) {
    this.#file = file;
    this.#print = print;
  }

  async publish(event: BrokerEvent): Promise<void> {
    this.#print(`event ${summarizeEvent(event)}`);
    try {
      await mkdir(dirname(this.#file), { recursive: true });
      await appendFile(this.#file, `${JSON.stringify(event)}\n`);
    } catch (error) {
      // Same promise as the SNS publisher: never throw, never lose the event.
      console.error(
        JSON.stringify({
          level: 'ERROR',
          message: 'Event delivery failed',
          event_delivery_failed: true,
          event,
          error_message: (error as Error).message,
        }),
      );
    }
  }
}
