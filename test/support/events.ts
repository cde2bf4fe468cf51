/**
 * Schema-checked event capture for any suite: every event a flow publishes is validated against
 * docs/schemas/broker-event.schema.json and scanned for secrets, so the published contract and
 * the code cannot drift apart unnoticed.
 */
import { readFileSync } from 'node:fs';
import { Ajv2020, type ErrorObject } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import type { EventPublisher } from '../../lambda/core/ports';
import type { BrokerEvent, EventType } from '../../lambda/core/types';
import { findSecrets } from './logs';

/** The event JSON Schema, as published in docs/. */
export const EVENT_SCHEMA = JSON.parse(
  readFileSync(new URL('../../docs/schemas/broker-event.schema.json', import.meta.url), 'utf8'),
) as Record<string, unknown> & { $defs: Record<string, Record<string, unknown>> };

const ajv = new Ajv2020({ allErrors: true, strict: true });
addFormats(ajv);
const validate = ajv.compile(EVENT_SCHEMA);

function describeErrors(errors: readonly ErrorObject[] | null | undefined): string {
  // oneOf reports every branch; the branch whose `type` const matched is the informative one.
  return (errors ?? [])
    .filter((error) => error.keyword !== 'const' || !error.instancePath.endsWith('/type'))
    .map((error) => `${error.instancePath || '/'} ${error.message ?? error.keyword}`)
    .join('; ');
}

/** Why `event` is not a valid broker event (schema or secret scan), or undefined when it is. */
export function findEventProblem(
  event: unknown,
  knownSecrets: readonly string[] = [],
): string | undefined {
  const secrets = findSecrets(JSON.stringify(event), knownSecrets);
  if (secrets.length > 0) return `event contains a secret: ${secrets.join(', ')}`;
  if (!validate(event))
    return `event does not match the schema: ${describeErrors(validate.errors)}`;
  return undefined;
}

/** Throws unless `event` matches the published schema and contains nothing secret-shaped. */
export function expectValidEvent(event: unknown, knownSecrets: readonly string[] = []): void {
  const problem = findEventProblem(event, knownSecrets);
  if (problem) throw new Error(`${problem}\n${JSON.stringify(event, null, 2)}`);
}

/**
 * An {@link EventPublisher} that keeps every event in order. Invalid events are kept too, and
 * reading {@link RecordingPublisher.events} (or {@link RecordingPublisher.types}) throws if any
 * was invalid, so a test cannot look at the events without the schema check having passed even
 * when the code under test swallows publisher errors.
 */
export class RecordingPublisher implements EventPublisher {
  readonly #events: BrokerEvent[] = [];
  readonly #problems: string[] = [];
  readonly #knownSecrets: () => readonly string[];

  /** @param knownSecrets exact secret values of the flow (tokens, codes), read at each publish */
  constructor(options: { knownSecrets?: () => readonly string[] } = {}) {
    this.#knownSecrets = options.knownSecrets ?? (() => []);
  }

  async publish(event: BrokerEvent): Promise<void> {
    this.#events.push(structuredClone(event));
    const problem = findEventProblem(event, this.#knownSecrets());
    if (problem) this.#problems.push(`${event.type} ${event.id}: ${problem}`);
  }

  /** Every event received, in order; throws if any failed validation. */
  get events(): readonly BrokerEvent[] {
    this.assertAllValid();
    return this.#events;
  }

  /** The types of every event received, in order; throws if any failed validation. */
  types(): EventType[] {
    return this.events.map((event) => event.type);
  }

  /** Events of one type, in order. */
  ofType(type: EventType): BrokerEvent[] {
    return this.events.filter((event) => event.type === type);
  }

  assertAllValid(): void {
    if (this.#problems.length > 0) throw new Error(this.#problems.join('\n'));
  }

  clear(): void {
    this.#events.length = 0;
    this.#problems.length = 0;
  }
}
