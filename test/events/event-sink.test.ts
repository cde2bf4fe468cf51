import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildIncidentOpened } from '../../lambda/core/events';
import { JsonLinesEventSink } from '../../local/event-sink';
import { expectValidEvent } from '../support/events';
import { eventContext, ManualClock } from './fixtures';

describe('local JSON-lines event sink', () => {
  it('prints one summary line per event and appends the full event to the file', async () => {
    const folder = await mkdtemp(join(tmpdir(), 'broker-events-'));
    try {
      const lines: string[] = [];
      const sink = new JsonLinesEventSink(join(folder, 'nested', 'events.jsonl'), (line) =>
        lines.push(line),
      );
      const context = eventContext(new ManualClock());
      const incident = {
        orgId: 'demo',
        category: 'consumer_not_approved',
        count: 1,
        firstSeenAt: '2026-11-28T09:00:00.000Z',
        lastSeenAt: '2026-11-28T09:00:00.000Z',
      } as const;
      const first = buildIncidentOpened(context, incident, 'req-1');
      const second = buildIncidentOpened(context, { ...incident, count: 2 }, 'req-2');
      await sink.publish(first);
      await sink.publish(second);

      expect(lines).toEqual([
        'event [critical] token_broker.incident.opened orgs/demo consumer_not_approved (count 1)',
        'event [critical] token_broker.incident.opened orgs/demo consumer_not_approved (count 2)',
      ]);
      const stored = (await readFile(join(folder, 'nested', 'events.jsonl'), 'utf8'))
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line));
      expect(stored).toEqual([first, second]);
      for (const event of stored) expectValidEvent(event);
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  });
});
