/**
 * The benchmark's tables, in Markdown so docs/performance.md can hold them verbatim: first the
 * Budgets table (the issue's figures and limits, budgets.ts), then every figure in detail.
 * Budgets and checks are reported, never asserted.
 */
import type { BenchmarkResults, ColdVariant, FleetLogins } from './benchmark';
import { judgeBudgets, limitText, measuredText, verdictText } from './budgets';
import { type Summary, summarize } from './stats';

/** A property every run must have whatever the timings, e.g. exact single-flight. */
export interface CheckVerdict {
  readonly name: string;
  readonly pass: boolean;
}

type Row = readonly [string, string, string, string, string, string];

const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;
const fixed = (digits: number, unit: string) => (value: number) =>
  `${value.toFixed(digits)}${unit}`;
const ms = fixed(1, ' ms');
const ms2 = fixed(2, ' ms');
const us = fixed(1, ' µs');
const mb = fixed(1, ' MB');
const times = fixed(2, 'x');
const verdict = (pass: boolean) => (pass ? 'PASS' : 'MISS');

function spread(summary: Summary, format: (value: number) => string): [string, string, string] {
  return [format(summary.median), format(summary.min), format(summary.max)];
}

const line = (cells: readonly string[]) => `| ${cells.join(' | ')} |`;

/** The properties that must hold whatever the timings: exact single-flight, one login per org. */
export function judgeChecks(results: BenchmarkResults): CheckVerdict[] {
  const { concurrency } = results;
  return [
    {
      name: 'fleet: one login per org',
      pass: results.fleet.logins.every((entry) => entry.loginsPerOrg.every((count) => count === 1)),
    },
    {
      name: 'single-flight exact',
      pass:
        concurrency.singleExchanges.every((count) => count === 1) &&
        concurrency.manyExchanges.every((count) => count === 1),
    },
  ];
}

/** The Budgets table: one row per figure of the performance issue, judged on its median. */
export function formatBudgets(results: BenchmarkResults): string {
  return [
    line(['figure', 'measured: median (min–max, runs)', 'budget', 'goal', 'verdict']),
    line(['---', '---:', '---', '---', '---']),
    ...judgeBudgets(results).map((verdict) =>
      line([
        verdict.budget.figure,
        measuredText(verdict.budget, verdict.measured),
        limitText(verdict.budget, verdict.budget.budget),
        limitText(verdict.budget, verdict.budget.goal),
        verdictText(verdict),
      ]),
    ),
  ].join('\n');
}

const COLD_LABELS: Readonly<Record<ColdVariant, string>> = {
  broker: 'broker (token bundle)',
  brokerSdkExternal: 'what-if: broker, SDK external',
  brokerSourceMaps: 'what-if: broker, --enable-source-maps',
  floor: 'floor (node:crypto + fetch)',
  jsforce: 'jsforce OAuth2.requestToken',
};

function coldRows(results: BenchmarkResults): Row[] {
  const { cold } = results;
  const rows: Row[] = [];
  for (const variant of Object.keys(COLD_LABELS) as ColdVariant[]) {
    const figures = cold[variant];
    const label = `2 cold: ${COLD_LABELS[variant]}`;
    const versus = [
      variant === 'floor' ? '' : `${times(figures.totalVersusFloor.median)} floor`,
      variant === 'floor' || variant === 'jsforce'
        ? ''
        : `${times(figures.totalVersusJsforce.median)} jsforce`,
    ]
      .filter(Boolean)
      .join(', ');
    // What --enable-source-maps adds is read against the same bundle's import, same rounds.
    const added = figures.importMs.median - cold.broker.importMs.median;
    const importNote =
      variant === 'brokerSourceMaps' ? `${added < 0 ? '' : '+'}${ms(added)} vs broker` : '';
    rows.push(
      [`${label}, import`, ...spread(figures.importMs, ms), importNote, ''],
      [`${label}, first request`, ...spread(figures.requestMs, ms), '', ''],
      [`${label}, total (process start to token)`, ...spread(figures.totalMs, ms), versus, ''],
    );
    if (figures.afterAnswerMs) {
      rows.push([
        `${label}, first request after the Salesforce POST`,
        ...spread(figures.afterAnswerMs, ms2),
        '',
        '',
      ]);
    }
    rows.push(
      [`${label}, RSS after import`, ...spread(figures.rssImportedMb, mb), '', ''],
      [`${label}, RSS growth, import -> first token`, ...spread(figures.rssGrowthMb, mb), '', ''],
      [`${label}, peak RSS`, ...spread(figures.maxRssMb, mb), '', ''],
    );
  }
  return rows;
}

const count = (value: number) => value.toLocaleString('en-US');

/** One row per fleet size and org count; repeated fleets of one size are summarised together. */
function loginRows(logins: readonly FleetLogins[], pass: boolean): Row[] {
  const groups = new Map<string, FleetLogins[]>();
  for (const entry of logins) {
    const key = `${entry.environments}/${entry.loginsPerOrg.length}`;
    groups.set(key, [...(groups.get(key) ?? []), entry]);
  }
  return [...groups.values()].map((runs) => {
    const [first] = runs as [FleetLogins, ...FleetLogins[]];
    const orgs = first.loginsPerOrg.length;
    const perOrg = runs.flatMap((entry) => entry.loginsPerOrg);
    const per1000 = summarize(
      runs.map((entry) => (1000 * entry.loginsPerOrg.reduce((a, b) => a + b, 0)) / entry.requests),
    );
    const failures = new Map<string, number>();
    for (const entry of runs) {
      for (const [category, n] of Object.entries(entry.failures)) {
        failures.set(category, (failures.get(category) ?? 0) + n);
      }
    }
    const cold = first.environments === 1 ? 'cold environment' : 'cold environments';
    const fleets = runs.length === 1 ? '' : ` (${runs.length} fleets)`;
    return [
      `6 fleet: logins per 1,000 requests, ${orgs === 1 ? '1 org' : `${orgs} orgs`}, ${first.environments} ${cold}${fleets}`,
      ...spread(per1000, fixed(1, '')),
      [
        `${count(first.requests)} requests per fleet, wall ${runs.map((entry) => ms(entry.wallMs)).join(', ')}`,
        ...[...failures].map(([category, n]) => `${n} failed: ${category}`),
      ].join('; '),
      `per org ${Math.min(...perOrg)}-${Math.max(...perOrg)}, = 1 ${verdict(pass)}`,
    ];
  });
}

function fleetRows(results: BenchmarkResults, checks: Map<string, boolean>): Row[] {
  const { latency, logins } = results.fleet;
  const ratio = (a: Summary, b: Summary, name: string) =>
    `${(a.median / b.median).toFixed(1)}x ${name}`;
  const asUs = (summary: Summary): Summary => ({
    ...summary,
    median: summary.median * 1000,
    min: summary.min * 1000,
    max: summary.max * 1000,
  });
  return [
    [
      '6 fleet: memory hit (org in this environment), p50',
      ...spread(asUs(latency.memoryP50), us),
      '',
      '',
    ],
    [
      '6 fleet: memory hit (org in this environment), p99',
      ...spread(asUs(latency.memoryP99), us),
      '',
      '',
    ],
    [
      '6 fleet: fleet hit (token from the table, memory cold), p50',
      ...spread(latency.fleetP50, ms2),
      ratio(latency.fleetP50, latency.memoryP50, 'memory hit'),
      '',
    ],
    [
      '6 fleet: fleet hit (token from the table, memory cold), p99',
      ...spread(latency.fleetP99, ms2),
      ratio(latency.fleetP99, latency.memoryP99, 'memory hit'),
      '',
    ],
    [
      '6 fleet: exchange (cold org: lease, login, seal, writes), p50',
      ...spread(latency.exchangeP50, ms2),
      ratio(latency.exchangeP50, latency.fleetP50, 'fleet hit'),
      '',
    ],
    [
      '6 fleet: exchange (cold org: lease, login, seal, writes), p99',
      ...spread(latency.exchangeP99, ms2),
      ratio(latency.exchangeP99, latency.fleetP99, 'fleet hit'),
      '',
    ],
    ...loginRows(logins, checks.get('fleet: one login per org') ?? false),
  ];
}

/** Every figure of the run, one row each, with the checks that must hold marked PASS or MISS. */
export function formatDetails(results: BenchmarkResults): string {
  const checks = new Map(judgeChecks(results).map((v) => [v.name, v.pass]));
  const { warm, miss, concurrency, gateway, scale } = results;
  const rows: Row[] = [];
  for (const bundle of results.bundles) {
    const whatIf = bundle.variant !== 'stack';
    const name = whatIf ? `what-if: ${bundle.name}, SDK external` : bundle.name;
    rows.push([
      `1 bundle: ${name}, minified (gzip ${kb(bundle.gzipBytes)})`,
      kb(bundle.bytes),
      '',
      '',
      '',
      '',
    ]);
    for (const part of bundle.contributors.slice(0, 6)) {
      const share = `${((100 * part.bytes) / bundle.bytes).toFixed(0)}%`;
      rows.push([`1 bundle: ${name}, of which ${part.name}`, kb(part.bytes), '', '', share, '']);
    }
  }
  rows.push(...coldRows(results));
  const warmRatio = (a: Summary, b: Summary) => `${(a.median / b.median).toFixed(1)}x bare`;
  rows.push(
    [
      '3 warm: cached token via handler, p50',
      ...spread(warm.brokerP50, us),
      warmRatio(warm.brokerP50, warm.bareP50),
      '',
    ],
    [
      '3 warm: cached token via handler, p99',
      ...spread(warm.brokerP99, us),
      warmRatio(warm.brokerP99, warm.bareP99),
      '',
    ],
    ['3 warm: bare handler (constant), p50', ...spread(warm.bareP50, us), '', ''],
    ['3 warm: bare handler (constant), p99', ...spread(warm.bareP99, us), '', ''],
    [
      '4 miss: broker forceRefresh exchange, p50',
      ...spread(miss.broker, ms2),
      `${(miss.broker.median / miss.floor.median).toFixed(2)}x floor`,
      '',
    ],
    ['4 miss: floor sign + POST, p50', ...spread(miss.floor, ms2), '', ''],
    [
      '4 miss: broker after the Salesforce POST (answer in -> response out), p50',
      ...spread(miss.brokerAfterAnswer, ms2),
      '',
      '',
    ],
    [
      '4 miss: floor after the POST (reading the answer), p50',
      ...spread(miss.floorAfterAnswer, ms2),
      '',
      '',
    ],
    [
      '4 miss: context: broker minus floor (lease and reads before the POST too), p50',
      ...spread(miss.overhead, ms2),
      '',
      '',
    ],
    [
      '4 miss: of which the outcome write (one UpdateItem, dynalite)',
      ...spread(miss.outcomeWrite, ms2),
      '',
      '',
    ],
    [
      `5 concurrency: ${scale.concurrent} requests, 1 org, cold instance, wall`,
      ...spread(concurrency.singleMs, ms),
      `exchanges ${concurrency.singleExchanges.join(', ')}`,
      `= 1 ${verdict(checks.get('single-flight exact') ?? false)}`,
    ],
    [
      `5 concurrency: ${scale.manyOrgs} orgs x ${scale.perOrg} requests, wall`,
      ...spread(concurrency.manyMs, ms),
      `exchanges per org ${Math.min(...concurrency.manyExchanges)}-${Math.max(...concurrency.manyExchanges)}`,
      '= 1 each',
    ],
    [
      `5 gateway: cached tokens, ${scale.gatewayConnections} keep-alive connections, req/s`,
      ...spread(gateway.perSecond, fixed(0, '/s')),
      `${gateway.requests} requests`,
      '',
    ],
    ['5 gateway: client-side latency p50', ...spread(gateway.p50Ms, ms2), '', ''],
    ['5 gateway: client-side latency p99', ...spread(gateway.p99Ms, ms2), '', ''],
    ...fleetRows(results, checks),
  );
  return [
    line(['measure', 'median', 'min', 'max', 'ratio', 'check']),
    line(['---', '---:', '---:', '---:', '---', '---']),
    ...rows.map(line),
  ].join('\n');
}

/** The whole result: a header line naming the run, the Budgets table, then the details. */
export function formatTable(results: BenchmarkResults): string {
  const { scale, coldRuns } = results;
  return [
    `salesforce-token-broker benchmark, scale ${scale.name}: ${results.machine}`,
    `gateway target: ${results.gateway.target}`,
    `cold figures: ${coldRuns.rounds} interleaved cold starts per variant in each of ${coldRuns.repetitions} repetitions; median, min and max of the repetitions' medians`,
    '',
    '### Budgets',
    '',
    formatBudgets(results),
    '',
    '### Details',
    '',
    formatDetails(results),
  ].join('\n');
}
