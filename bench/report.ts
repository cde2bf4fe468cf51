/**
 * The benchmark's one table (Markdown, so docs/performance.md can hold it verbatim) with the
 * budgets of issue 8 marked PASS or MISS. Budgets are reported, never asserted.
 */
import type { BenchmarkResults, ColdVariant } from './benchmark';
import type { Summary } from './stats';

export const BUDGETS = {
  tokenBundleBytes: 250 * 1024,
  importMs: 60,
  /** Cold first request total, as a multiple of the floor's. */
  coldVersusFloor: 2,
  warmP50Us: 100,
  warmP99Us: 1000,
  missOverheadMs: 2,
} as const;

export interface BudgetVerdict {
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
const verdict = (pass: boolean) => (pass ? 'PASS' : 'MISS');

function spread(summary: Summary, format: (value: number) => string): [string, string, string] {
  return [format(summary.median), format(summary.min), format(summary.max)];
}

/** The budgets, each judged on the medians. */
export function judgeBudgets(results: BenchmarkResults): BudgetVerdict[] {
  const token = results.bundles.find((b) => b.name === 'token' && b.variant === 'stack');
  const { cold, warm, miss, concurrency } = results;
  return [
    {
      name: 'token bundle <= 250 KB',
      pass: (token?.bytes ?? Infinity) <= BUDGETS.tokenBundleBytes,
    },
    { name: 'import <= 60 ms', pass: cold.broker.importMs.median <= BUDGETS.importMs },
    {
      name: 'cold total <= 2x floor',
      pass: cold.broker.totalMs.median <= BUDGETS.coldVersusFloor * cold.floor.totalMs.median,
    },
    {
      name: 'cold total < jsforce',
      pass: cold.broker.totalMs.median < cold.jsforce.totalMs.median,
    },
    { name: 'warm p50 <= 100 µs', pass: warm.brokerP50.median <= BUDGETS.warmP50Us },
    { name: 'warm p99 <= 1 ms', pass: warm.brokerP99.median <= BUDGETS.warmP99Us },
    { name: 'miss overhead <= 2 ms', pass: miss.overhead.median <= BUDGETS.missOverheadMs },
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

const COLD_LABELS: Readonly<Record<ColdVariant, string>> = {
  broker: 'broker (token bundle)',
  brokerSdkExternal: 'what-if: broker, SDK external',
  floor: 'floor (node:crypto + fetch)',
  jsforce: 'jsforce OAuth2.requestToken',
};

function coldRows(results: BenchmarkResults, verdicts: Map<string, boolean>): Row[] {
  const { cold } = results;
  const rows: Row[] = [];
  for (const variant of ['broker', 'brokerSdkExternal', 'floor', 'jsforce'] as const) {
    const figures = cold[variant];
    const label = COLD_LABELS[variant];
    const ratio = `${(figures.totalMs.median / cold.floor.totalMs.median).toFixed(2)}x floor`;
    const isBroker = variant === 'broker';
    rows.push(
      [
        `2 cold: ${label}, import`,
        ...spread(figures.importMs, ms),
        '',
        isBroker ? `<= 60 ms ${verdict(verdicts.get('import <= 60 ms') ?? false)}` : '',
      ],
      [`2 cold: ${label}, first request`, ...spread(figures.requestMs, ms), '', ''],
      [
        `2 cold: ${label}, total (process start to token)`,
        ...spread(figures.totalMs, ms),
        ratio,
        isBroker
          ? `<= 2x floor ${verdict(verdicts.get('cold total <= 2x floor') ?? false)}; < jsforce ${verdict(verdicts.get('cold total < jsforce') ?? false)}`
          : '',
      ],
      [`2 cold: ${label}, peak RSS`, ...spread(figures.maxRssMb, mb), '', ''],
    );
  }
  return rows;
}

const count = (value: number) => value.toLocaleString('en-US');

function fleetRows(results: BenchmarkResults, verdicts: Map<string, boolean>): Row[] {
  const { latency, logins } = results.fleet;
  const times = (a: Summary, b: Summary, name: string) =>
    `${(a.median / b.median).toFixed(1)}x ${name}`;
  const asUs = (summary: Summary): Summary => ({
    ...summary,
    median: summary.median * 1000,
    min: summary.min * 1000,
    max: summary.max * 1000,
  });
  const rows: Row[] = [
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
      times(latency.fleetP50, latency.memoryP50, 'memory hit'),
      '',
    ],
    [
      '6 fleet: fleet hit (token from the table, memory cold), p99',
      ...spread(latency.fleetP99, ms2),
      times(latency.fleetP99, latency.memoryP99, 'memory hit'),
      '',
    ],
    [
      '6 fleet: exchange (cold org: lease, login, seal, writes), p50',
      ...spread(latency.exchangeP50, ms2),
      times(latency.exchangeP50, latency.fleetP50, 'fleet hit'),
      '',
    ],
    [
      '6 fleet: exchange (cold org: lease, login, seal, writes), p99',
      ...spread(latency.exchangeP99, ms2),
      times(latency.exchangeP99, latency.fleetP99, 'fleet hit'),
      '',
    ],
  ];
  const pass = verdicts.get('fleet: one login per org') ?? false;
  for (const entry of logins) {
    const orgs = entry.loginsPerOrg.length;
    const total = entry.loginsPerOrg.reduce((sum, value) => sum + value, 0);
    const per1000 = (1000 * total) / entry.requests;
    const cold = entry.environments === 1 ? 'cold environment' : 'cold environments';
    rows.push([
      `6 fleet: logins per 1,000 requests, ${orgs === 1 ? '1 org' : `${orgs} orgs`}, ${entry.environments} ${cold}`,
      per1000.toFixed(1),
      '',
      '',
      [
        `${total} ${total === 1 ? 'login' : 'logins'} / ${count(entry.requests)} requests, ${ms(entry.wallMs)} wall`,
        ...Object.entries(entry.failures).map(([category, n]) => `${n} failed: ${category}`),
      ].join('; '),
      `per org ${Math.min(...entry.loginsPerOrg)}-${Math.max(...entry.loginsPerOrg)}, = 1 ${verdict(pass)}`,
    ]);
  }
  return rows;
}

/** The whole result as one Markdown table, with a header line naming the run. */
export function formatTable(results: BenchmarkResults): string {
  const verdicts = new Map(judgeBudgets(results).map((v) => [v.name, v.pass]));
  const { warm, miss, concurrency, gateway, scale } = results;
  const rows: Row[] = [];
  for (const bundle of results.bundles) {
    const whatIf = bundle.variant !== 'stack';
    const isToken = bundle.name === 'token' && !whatIf;
    const name = whatIf ? `what-if: ${bundle.name}, SDK external` : bundle.name;
    rows.push([
      `1 bundle: ${name}, minified (gzip ${kb(bundle.gzipBytes)})`,
      kb(bundle.bytes),
      '',
      '',
      '',
      isToken ? `<= 250 KB ${verdict(verdicts.get('token bundle <= 250 KB') ?? false)}` : '',
    ]);
    for (const part of bundle.contributors.slice(0, 6)) {
      const share = `${((100 * part.bytes) / bundle.bytes).toFixed(0)}%`;
      rows.push([`1 bundle: ${name}, of which ${part.name}`, kb(part.bytes), '', '', share, '']);
    }
  }
  rows.push(...coldRows(results, verdicts));
  const warmRatio = (a: Summary, b: Summary) => `${(a.median / b.median).toFixed(1)}x bare`;
  rows.push(
    [
      '3 warm: cached token via handler, p50',
      ...spread(warm.brokerP50, us),
      warmRatio(warm.brokerP50, warm.bareP50),
      `<= 100 µs ${verdict(verdicts.get('warm p50 <= 100 µs') ?? false)}`,
    ],
    [
      '3 warm: cached token via handler, p99',
      ...spread(warm.brokerP99, us),
      warmRatio(warm.brokerP99, warm.bareP99),
      `<= 1 ms ${verdict(verdicts.get('warm p99 <= 1 ms') ?? false)}`,
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
      '4 miss: broker overhead beyond the floor',
      ...spread(miss.overhead, ms2),
      '',
      `<= 2 ms ${verdict(verdicts.get('miss overhead <= 2 ms') ?? false)}`,
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
      `= 1 ${verdict(verdicts.get('single-flight exact') ?? false)}`,
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
    ...fleetRows(results, verdicts),
  );
  const header: Row = ['measure', 'median', 'min', 'max', 'ratio', 'budget'];
  const line = (row: Row) => `| ${row.join(' | ')} |`;
  return [
    `salesforce-token-broker benchmark, scale ${scale.name}: ${results.machine}`,
    `gateway target: ${gateway.target}`,
    '',
    line(header),
    line(['---', '---:', '---:', '---:', '---', '---']),
    ...rows.map(line),
  ].join('\n');
}
