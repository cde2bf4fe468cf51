/**
 * `npm run bench`: runs the benchmark (BENCH_SCALE=smoke for tiny counts) and prints its table.
 * BENCH_CPU_PROF_DIR=dir also writes a `--cpu-prof` profile of each cold broker process there.
 * Bundles are written to bench/results/ (git-ignored), with the table as bench/results/latest.md.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PROJECT_ROOT, runBenchmark } from './benchmark';
import { formatTable } from './report';
import { scaleFromEnv } from './scale';

const outDir = join(PROJECT_ROOT, 'bench', 'results');
await mkdir(outDir, { recursive: true });
const started = performance.now();
const results = await runBenchmark({
  scale: scaleFromEnv(process.env),
  outDir,
  ...(process.env.BENCH_CPU_PROF_DIR ? { cpuProfileDir: process.env.BENCH_CPU_PROF_DIR } : {}),
  progress: (message) => process.stderr.write(`bench: ${message}\n`),
});
const table = formatTable(results);
await writeFile(join(outDir, 'latest.md'), `${table}\n`);
process.stdout.write(`${table}\n`);
process.stderr.write(`bench: done in ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
