/**
 * `npm run bench`: runs the benchmark (BENCH_SCALE=smoke for tiny counts) and prints its table,
 * then the client library's figures (bench/client.ts).
 * BENCH_CPU_PROF_DIR=dir also writes a `--cpu-prof` profile of each cold broker process there.
 * Bundles and the table (latest.md) go to a fresh directory under the system temp dir, named on
 * stderr: nothing is written into the checkout.
 */
import { spawnSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { makeOutDir, runBenchmark } from './benchmark';
import { formatTable } from './report';
import { scaleFromEnv } from './scale';

const outDir = await makeOutDir();
const started = performance.now();
const results = await runBenchmark({
  scale: scaleFromEnv(process.env),
  outDir,
  ...(process.env.BENCH_CPU_PROF_DIR ? { cpuProfileDir: process.env.BENCH_CPU_PROF_DIR } : {}),
  // Elapsed time on each line, so the cost of every phase shows when tuning the scale.
  progress: (message) =>
    process.stderr.write(
      `bench: ${((performance.now() - started) / 1000).toFixed(1)} s: ${message}\n`,
    ),
});
const table = formatTable(results);
// The callers' side: the client library's bundle and its added latency (bench/client.ts), in a
// process of its own so its gateway and SDK state stay out of the broker's figures.
const scale = scaleFromEnv(process.env);
const client = spawnSync(
  process.execPath,
  ['--import', 'tsx', join(import.meta.dirname, 'client.ts')],
  {
    encoding: 'utf8',
    env: { ...process.env, BENCH_CLIENT_ROUNDS: scale.name === 'smoke' ? '50' : '400' },
  },
);
const clientTable =
  client.status === 0 ? client.stdout.trim() : `client benchmark failed: ${client.stderr}`;
await writeFile(join(outDir, 'latest.md'), `${table}\n\n${clientTable}\n`);
process.stdout.write(`${table}\n\n## Client library (bench/client.ts)\n\n${clientTable}\n`);
process.stderr.write(
  `bench: done in ${((performance.now() - started) / 1000).toFixed(1)} s; bundles and latest.md in ${outDir}\n`,
);
