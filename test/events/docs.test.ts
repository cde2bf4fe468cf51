import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { METRIC } from '../../lambda/core/metrics';
import { EVENT_TYPES } from '../../lambda/core/types';

const read = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');

describe('event and observability docs', () => {
  it('lists every metric of lambda/core/metrics.ts in the one table', () => {
    const documented = [...read('docs/observability.md').matchAll(/^\| metric \| `(\w+)`/gm)].map(
      (match) => match[1],
    );
    expect(documented.sort()).toEqual(Object.values(METRIC).sort());
  });

  it('describes every event type and its SNS attributes', () => {
    const events = read('docs/events.md');
    for (const type of EVENT_TYPES) expect(events).toContain(`\`${type}\``);
    for (const attribute of ['type', 'orgId', 'severity', 'category']) {
      expect(events).toMatch(new RegExp(`^\\| \`${attribute}\` +\\|`, 'm'));
    }
  });
});
