/**
 * Vitest global setup: fails the run when the tests left new git-ignored files in the checkout
 * (`.local/`, `cdk.out/`, ...). Tests write under `os.tmpdir()` only, so a run never mixes its
 * files with a developer's own `npm start` data. `node_modules/` is left out: Vite keeps its
 * cache there. Untracked files that are not ignored are left out as well, since `git status`
 * shows them anyway and a developer may be creating files while the suite runs.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const CHECKOUT = fileURLToPath(new URL('../../', import.meta.url));

function ignoredFiles(): Set<string> {
  const listed = execFileSync(
    'git',
    ['ls-files', '--others', '--ignored', '--exclude-standard', '--directory'],
    { cwd: CHECKOUT, encoding: 'utf8' },
  )
    .split('\n')
    .filter((path) => path && !path.startsWith('node_modules/'));
  const files = new Set<string>();
  for (const path of listed) {
    if (!path.endsWith('/')) {
      files.add(path);
      continue;
    }
    for (const entry of readdirSync(join(CHECKOUT, path), {
      recursive: true,
      withFileTypes: true,
    })) {
      if (!entry.isDirectory())
        files.add(join(entry.parentPath, entry.name).slice(CHECKOUT.length));
    }
  }
  return files;
}

export default function setup(): () => void {
  const before = ignoredFiles();
  return () => {
    const created = [...ignoredFiles()].filter((path) => !before.has(path));
    if (created.length > 0) {
      // Vitest reports an error thrown here but still exits 0; the exit code is what CI reads.
      process.exitCode = 1;
      console.error(
        `\nThe tests wrote into the checkout: ${created.slice(0, 10).join(', ')}; write under os.tmpdir() instead.`,
      );
    }
  };
}
