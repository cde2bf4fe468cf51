/**
 * Merges the per-suite figures under {@link FIGURES_DIR} into `figures.json` there and prints the
 * table docs/reliability.md quotes. Run after the suites: `npm run reliability:figures`.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { FIGURES_DIR, type SuiteFigures } from './figures';

const suites = readdirSync(FIGURES_DIR)
  .filter((file) => file.endsWith('.json') && file !== 'figures.json')
  .map((file) => JSON.parse(readFileSync(new URL(file, FIGURES_DIR), 'utf8')) as SuiteFigures);

const total = (pick: (suite: SuiteFigures) => number) =>
  suites.reduce((sum, suite) => sum + pick(suite), 0);

const summary = {
  generatedAt: new Date().toISOString(),
  scale: process.env.RELIABILITY_SCALE === 'full' ? 'full' : 'default',
  faultsInjected: total((s) => s.faultsInjected),
  faultsSurvived: total((s) => s.faultsSurvived),
  fuzzCases: total((s) => s.fuzzCases),
  authorizationCases: total((s) => s.authorizationCases),
  attacks: total((s) => s.attacks),
  loadRequests: total((s) => s.loadRequests),
  errors: total((s) => s.errors),
  secretsFound: total((s) => s.secretsFound),
  latency: Object.assign({}, ...suites.map((s) => s.latency)) as SuiteFigures['latency'],
  suites,
};
writeFileSync(new URL('figures.json', FIGURES_DIR), `${JSON.stringify(summary, null, 2)}\n`);

const rows: [string, string | number][] = [
  ['faults injected', summary.faultsInjected],
  ['faults survived (documented outcome asserted)', summary.faultsSurvived],
  ['fuzz cases run', summary.fuzzCases],
  ['authorization cases', summary.authorizationCases],
  ['approval-flow attacks', summary.attacks],
  ['requests under load', summary.loadRequests],
  ['errors', summary.errors],
  ['secrets found', summary.secretsFound],
  ...Object.entries(summary.latency).map(([name, l]): [string, string] => [
    `latency ${name} (${l.count} requests)`,
    `p50 ${l.p50} ms, p95 ${l.p95} ms, p99 ${l.p99} ms, max ${l.max} ms`,
  ]),
];
console.log(`| figure | value |\n|---|---|\n${rows.map(([k, v]) => `| ${k} | ${v} |`).join('\n')}`);
console.log(`\n(merged into ${fileURLToPath(new URL('figures.json', FIGURES_DIR))})`);
