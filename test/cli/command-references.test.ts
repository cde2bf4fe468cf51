/**
 * Every `token-broker ...` (or `npm run cli -- ...`) command that the docs, the README or a
 * remediation text tells an operator to run exists: the command, its action and each option named
 * on the same line, checked against the CLI's own help.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { cli } from './run-cli';

const root = new URL('../../', import.meta.url);
const SOURCES = [
  'README.md',
  'lambda/core/remediation.ts',
  ...readdirSync(new URL('docs/', root))
    .filter((name) => name.endsWith('.md'))
    .map((name) => `docs/${name}`),
];
/** Commands with actions (`orgs put`); the others take options right away. */
const ACTIONS = new Set(['orgs', 'keys']);
const REFERENCE =
  /(?<![\w/-])(?:token-broker|npm run cli --) ([a-z][a-z-]*)(?: ([a-z][a-z-]*))?([^`'\n]*)/g;

interface Reference {
  readonly where: string;
  readonly command: string;
  readonly action: string | undefined;
  readonly options: readonly string[];
}

function references(): Reference[] {
  return SOURCES.flatMap((source) => {
    const text = readFileSync(new URL(source, root), 'utf8');
    return [...text.matchAll(REFERENCE)].map((match) => {
      const [whole, command = '', second, rest = ''] = match;
      const action = ACTIONS.has(command) ? second : undefined;
      const tail = ACTIONS.has(command) ? rest : `${second ? ` ${second}` : ''}${rest}`;
      const line = text.slice(0, match.index).split('\n').length;
      return {
        where: `${source}:${line}: ${whole.split('#')[0]?.trim()}`,
        command,
        action,
        // A shell comment (`# ...`) ends the command.
        options: [...(tail.split('#')[0] ?? '').matchAll(/(?:^|\s)(--[a-z][a-z-]*)/g)].map(
          (option) => option[1] as string,
        ),
      };
    });
  });
}

describe('CLI commands named in docs and remediation texts', () => {
  const found = references();

  it('finds the references (the scan itself works)', () => {
    expect(found.map((ref) => ref.command)).toEqual(
      expect.arrayContaining(['orgs', 'keys', 'approval-url', 'verify', 'doctor']),
    );
    expect(found.some((ref) => ref.where.startsWith('lambda/core/remediation.ts'))).toBe(true);
  });

  it.each(found.map((ref) => [ref.where, ref] as const))('%s exists', async (_where, ref) => {
    const help = await cli([ref.command, ...(ref.action ? [ref.action] : []), '--help']);
    expect(help.code, help.stderr).toBe(0);
    for (const option of ref.options) expect(help.stdout).toContain(option);
  });
});
