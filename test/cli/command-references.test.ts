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
const ACTIONS = new Set(['orgs', 'keys', 'apps']);
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

/** Every command the top-level help lists, with its action: `orgs put`, `approval-url`, ... */
async function commandsOfMainHelp(): Promise<string[][]> {
  const { stdout } = await cli(['--help']);
  const block = stdout.split('Commands:\n')[1]?.split('\n\n')[0] ?? '';
  return block.split('\n').flatMap((line) => {
    const [command = '', actions] = line.trim().split(/\s+/);
    if (!ACTIONS.has(command)) return [[command]];
    return (actions ?? '').split('|').map((action) => [command, action]);
  });
}

const mentionedOptions = (text: string) =>
  new Set([...text.matchAll(/(?<![\w-])(--[a-z][a-z-]*)/g)].map((match) => match[1] as string));

describe('docs/cli.md and --help name the same options', () => {
  const doc = readFileSync(new URL('docs/cli.md', root), 'utf8');
  const [preamble = '', commandsPart = ''] = doc.split('\n## Commands\n');
  /** `### ...` sections, each with the commands its heading names (`orgs get`, `orgs list`, ...). */
  const sections = commandsPart
    .split('\n### ')
    .slice(1)
    .map((section) => {
      const heading = section.split('\n')[0] ?? '';
      const commands = [...heading.matchAll(/`([a-z-]+)(?: ([a-z]+))?/g)].map((match) =>
        ACTIONS.has(match[1] as string) ? `${match[1]} ${match[2]}` : (match[1] as string),
      );
      return { heading, commands, options: mentionedOptions(section) };
    });
  const globalOptions = mentionedOptions(preamble);

  it('has a section for every command', async () => {
    const documented = sections.flatMap((section) => section.commands);
    const commands = (await commandsOfMainHelp()).map((command) => command.join(' '));
    expect(commands).toContain('orgs put');
    expect(documented.sort()).toEqual(commands.sort());
  });

  /** Each distinct help text with the commands that print it (`orgs put|get|...` share one). */
  async function helps(): Promise<{ commands: string[]; options: Set<string> }[]> {
    const byText = new Map<string, string[]>();
    for (const command of await commandsOfMainHelp()) {
      const { stdout } = await cli([...command, '--help']);
      byText.set(stdout, [...(byText.get(stdout) ?? []), command.join(' ')]);
    }
    return [...byText].map(([text, commands]) => ({ commands, options: mentionedOptions(text) }));
  }

  it('documents every option of every --help', async () => {
    for (const help of await helps()) {
      const documented = sections.filter((s) => s.commands.some((c) => help.commands.includes(c)));
      const missing = [...help.options].filter(
        (option) => !globalOptions.has(option) && !documented.some((s) => s.options.has(option)),
      );
      expect(missing, `${help.commands.join(', ')} --help: not in docs/cli.md`).toEqual([]);
    }
  });

  it('names no option that the documented command does not take', async () => {
    const all = await helps();
    for (const section of sections) {
      const taken = new Set(
        all
          .filter((help) => help.commands.some((c) => section.commands.includes(c)))
          .flatMap((help) => [...help.options]),
      );
      const unknown = [...section.options].filter((option) => !taken.has(option));
      expect(unknown, `docs/cli.md "${section.heading}": not in --help`).toEqual([]);
    }
    const everyOption = new Set(all.flatMap((help) => [...help.options]));
    const unknownGlobal = [...globalOptions].filter((option) => !everyOption.has(option));
    expect(unknownGlobal, 'docs/cli.md before "## Commands": not in any --help').toEqual([]);
  });
});
