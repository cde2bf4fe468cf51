/**
 * `npm run bench`: runs the benchmark (BENCH_SCALE=smoke for tiny counts) and prints its table.
 * BENCH_CPU_PROF_DIR=dir also writes a `--cpu-prof` profile of each cold broker process there.
 * Bundles and the table (latest.md) go to a fresh directory under the system temp dir, named on
 * stderr: nothing is written into the checkout.
 */
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
  progress: (message) => process.stderr.write(`bench: ${message}\n`),
});
const table = formatTable(results);
await writeFile(join(outDir, 'latest.md'), `${table}\n`);
process.stdout.write(`${table}\n`);
process.stderr.write(
  `bench: done in ${((performance.now() - started) / 1000).toFixed(1)} s; bundles and latest.md in ${outDir}\n`,
);
