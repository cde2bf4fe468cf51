import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CATEGORY_TRAITS } from '../../lambda/core/categories';
import { INTERNAL_ERROR } from '../../lambda/handlers/token-api-responses';

const runbook = readFileSync(new URL('../../docs/runbook.md', import.meta.url), 'utf8');

describe('docs/runbook.md', () => {
  it.each([...Object.keys(CATEGORY_TRAITS), INTERNAL_ERROR])(
    'has a section for %s with a fix',
    (category) => {
      const start = runbook.indexOf(`\n### ${category}\n`);
      expect(start).toBeGreaterThan(0);
      const section = runbook.slice(start + 1).split('\n### ')[0] ?? '';
      expect(section).toContain('**Fix**');
      expect(runbook).toContain(`[${category}](#${category})`);
    },
  );

  it('states each category status as CATEGORY_TRAITS does', () => {
    for (const [category, traits] of Object.entries(CATEGORY_TRAITS)) {
      const row = runbook.split('\n').find((line) => line.startsWith(`| [${category}]`)) ?? '';
      if (traits.httpStatus !== 400 || category === 'invalid_request') {
        expect(row.includes(` ${traits.httpStatus} `) || row.includes(' page ')).toBe(true);
      }
      expect(row).toContain(traits.retryable ? ' yes ' : ' no ');
    }
  });

  it('points to the approval loop diagram', () => {
    expect(runbook).toContain('## The approval loop');
    expect(runbook).toContain('(approval-loop.md)');
  });
});
