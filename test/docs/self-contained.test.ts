/**
 * The repository's documentation stands on its own: nothing cites the product brief or research
 * notes its users do not have, and every link to a section of a markdown file in the repository
 * lands on a heading that exists.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const THIS_FILE = relative(ROOT, fileURLToPath(import.meta.url))
  .split(sep)
  .join('/');

/** Generated or installed, never written by hand (the git-ignored folders). */
const SKIPPED_DIRECTORIES = new Set([
  'node_modules',
  '.git',
  'cdk.out',
  '.local',
  'coverage',
  '.vitest-reports',
  'results',
]);

/** A citation of a document outside the repository. */
const CITATIONS: readonly { readonly name: string; readonly pattern: RegExp }[] = [
  { name: 'the product brief', pattern: /\bSPEC\b/ },
  // A relative path into the research notes; a URL that merely contains the word is fine.
  { name: 'the research notes', pattern: /(?<![\w./-])reference\// },
  // The repository's docs number no sections, so a section sign always points elsewhere.
  { name: 'a numbered section', pattern: /§/ },
];

function repositoryFiles(directory = ROOT): string[] {
  return readdirSync(directory, { withFileTypes: true }).flatMap((entry) => {
    const path = join(directory, entry.name);
    if (entry.isDirectory()) {
      return SKIPPED_DIRECTORIES.has(entry.name) ? [] : repositoryFiles(path);
    }
    return entry.isFile() ? [relative(ROOT, path).split(sep).join('/')] : [];
  });
}

/** Text of a file, or undefined for a binary or very large one. */
function readText(file: string): string | undefined {
  const path = join(ROOT, file);
  if (statSync(path).size > 4 * 1024 * 1024) return undefined;
  const text = readFileSync(path, 'utf8');
  return text.includes('\u0000') ? undefined : text;
}

/** GitHub's anchors for the headings of a markdown text (duplicates get -1, -2, ...). */
function headingAnchors(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  let fenced = false;
  for (const line of markdown.split('\n')) {
    if (line.startsWith('```')) fenced = !fenced;
    const heading = fenced ? null : /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!heading?.[1]) continue;
    const slug = heading[1]
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    anchors.add(count === 0 ? slug : `${slug}-${count}`);
  }
  return anchors;
}

const files = repositoryFiles();
const texts = new Map(
  files.flatMap((file) => {
    const text = readText(file);
    return text === undefined ? [] : [[file, text] as const];
  }),
);

describe('documentation stands on its own', () => {
  it('finds the repository files', () => {
    expect(texts.has('README.md')).toBe(true);
    expect(texts.has('docs/contracts.md')).toBe(true);
  });

  it('cites no document outside the repository', () => {
    const found: string[] = [];
    for (const [file, text] of texts) {
      if (file === THIS_FILE) continue;
      text.split('\n').forEach((line, index) => {
        for (const { name, pattern } of CITATIONS) {
          if (pattern.test(line)) found.push(`${file}:${index + 1} cites ${name}: ${line.trim()}`);
        }
      });
    }
    expect(found).toEqual([]);
  });

  it('links only to headings that exist', () => {
    const anchorsOf = new Map<string, Set<string>>();
    const anchors = (markdownFile: string): Set<string> => {
      let known = anchorsOf.get(markdownFile);
      if (!known) {
        known = headingAnchors(texts.get(markdownFile) ?? '');
        anchorsOf.set(markdownFile, known);
      }
      return known;
    };
    const broken: string[] = [];
    for (const [file, text] of texts) {
      for (const match of text.matchAll(/([\w./-]*\.md)#([\w-]+)/g)) {
        const [link, target = '', anchor = ''] = match;
        // Relative to the linking file, to the root, or (in code comments) to docs/.
        const candidates = [join(dirname(file), target), target, join('docs', target)].map((path) =>
          path.split(sep).join('/'),
        );
        const resolved = candidates.find((path) => texts.has(path) && path.endsWith('.md'));
        if (!resolved) {
          if (!target.includes('://') && existsSync(join(ROOT, target)))
            broken.push(`${file}: ${link}`);
          continue;
        }
        if (!anchors(resolved).has(anchor)) broken.push(`${file}: ${link} (no such heading)`);
      }
      if (!file.endsWith('.md')) continue;
      for (const match of text.matchAll(/\]\(#([\w-]+)\)/g)) {
        if (!anchors(file).has(match[1] ?? ''))
          broken.push(`${file}: #${match[1]} (no such heading)`);
      }
    }
    expect(broken).toEqual([]);
  });
});
