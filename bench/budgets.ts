/**
 * The performance issue's budgets and goals, in one place. Each figure is judged on its median:
 * at full scale the median of at least three independent repetitions (the bundle size, being
 * deterministic, is measured once). `npm run bench` reports the verdicts; nothing asserts them,
 * because timings on a shared machine are evidence, not a test.
 */
import type { BenchmarkResults } from './benchmark';
import type { Summary } from './stats';
import { summarize } from './stats';

/** How a figure must compare with its budget or goal. */
export type Comparison = '<=' | '<' | '=';

export interface Budget {
  /** What is measured, as the Budgets table names it. */
  readonly figure: string;
  readonly comparison: Comparison;
  /** The limit a run must meet to PASS. */
  readonly budget: number;
  /** The stricter limit the issue aims for; reported next to the verdict. */
  readonly goal: number;
  /** Appended to values and limits, e.g. ` ms`. */
  readonly unit: string;
  /** Decimals shown for measured values. */
  readonly digits: number;
  /** The judged figure of a run: its median, min and max over the repetitions. */
  readonly measure: (results: BenchmarkResults) => Summary;
}

/** The fleet size whose cold one-org burst is judged; the full and smoke scales both run it. */
export const BURST_ENVIRONMENTS = 8;

const KB = 1024;

/** Every budget of the performance issue, in the order the Budgets table prints them. */
export const BUDGETS = {
  tokenBundle: {
    figure: 'token bundle, minified',
    comparison: '<=',
    budget: 350,
    goal: 250,
    unit: ' KB',
    digits: 1,
    measure: ({ bundles }) => {
      const token = bundles.find((b) => b.name === 'token' && b.variant === 'stack');
      return summarize([token ? token.bytes / KB : Number.NaN]);
    },
  },
  coldVersusFloor: {
    figure: 'cold first token vs the floor (read key, sign, one POST)',
    comparison: '<=',
    budget: 1.5,
    goal: 1.3,
    unit: 'x',
    digits: 2,
    measure: ({ cold }) => cold.broker.totalVersusFloor,
  },
  coldVersusJsforce: {
    figure: 'cold first token vs jsforce (same work)',
    comparison: '<',
    budget: 1,
    goal: 0.6,
    unit: 'x',
    digits: 2,
    measure: ({ cold }) => cold.broker.totalVersusJsforce,
  },
  missAfterAnswer: {
    figure: 'cache-miss overhead beyond the Salesforce POST, p50',
    comparison: '<=',
    budget: 1,
    goal: 0.5,
    unit: ' ms',
    digits: 2,
    measure: ({ miss }) => miss.brokerAfterAnswer,
  },
  rssGrowth: {
    figure: 'RSS growth, import -> after the first request',
    comparison: '<=',
    budget: 20,
    goal: 10,
    unit: ' MB',
    digits: 1,
    measure: ({ cold }) => cold.broker.rssGrowthMb,
  },
  warmP50: {
    figure: 'warm memory hit, p50',
    comparison: '<=',
    budget: 30,
    goal: 15,
    unit: ' µs',
    digits: 1,
    measure: ({ warm }) => warm.brokerP50,
  },
  warmP99: {
    figure: 'warm memory hit, p99',
    comparison: '<=',
    budget: 250,
    goal: 100,
    unit: ' µs',
    digits: 1,
    measure: ({ warm }) => warm.brokerP99,
  },
  burstLogins: {
    figure: `cold burst of 1 org over ${BURST_ENVIRONMENTS} cold environments: Salesforce logins`,
    comparison: '=',
    budget: 1,
    goal: 1,
    unit: '',
    digits: 0,
    measure: ({ fleet }) =>
      summarize(
        fleet.logins
          .filter((entry) => entry.environments === BURST_ENVIRONMENTS)
          .filter((entry) => entry.loginsPerOrg.length === 1)
          .map((entry) => entry.loginsPerOrg[0] ?? Number.NaN),
      ),
  },
} as const satisfies Readonly<Record<string, Budget>>;

/** A budget's key in {@link BUDGETS}. */
export type BudgetId = keyof typeof BUDGETS;

/** One budget judged on one run. */
export interface BudgetVerdict {
  readonly id: BudgetId;
  readonly budget: Budget;
  readonly measured: Summary;
  /** The median meets the budget. */
  readonly pass: boolean;
  /** The median meets the goal too. */
  readonly goalMet: boolean;
}

/** Whether `value` meets `limit`; a missing figure (NaN) never does. */
function meets(value: number, comparison: Comparison, limit: number): boolean {
  if (comparison === '<=') return value <= limit;
  if (comparison === '<') return value < limit;
  return value === limit;
}

/** Every budget, judged on the run's median. */
export function judgeBudgets(results: BenchmarkResults): BudgetVerdict[] {
  return (Object.entries(BUDGETS) as [BudgetId, Budget][]).map(([id, budget]) => {
    const measured = budget.measure(results);
    return {
      id,
      budget,
      measured,
      pass: meets(measured.median, budget.comparison, budget.budget),
      goalMet: meets(measured.median, budget.comparison, budget.goal),
    };
  });
}

/** `PASS (goal met)`, `PASS (goal MISS)` or `MISS (goal MISS)`. */
export function verdictText(verdict: BudgetVerdict): string {
  return `${verdict.pass ? 'PASS' : 'MISS'} (goal ${verdict.goalMet ? 'met' : 'MISS'})`;
}

/** A limit as the Budgets table shows it, e.g. `<= 350 KB`. */
export function limitText(budget: Budget, limit: number): string {
  return `${budget.comparison} ${limit}${budget.unit}`;
}

/** The median, then min–max and the number of repetitions when there is more than one. */
export function measuredText(budget: Budget, measured: Summary): string {
  const value = (v: number) => `${v.toFixed(budget.digits)}${budget.unit}`;
  if (measured.count === 1) return value(measured.median);
  return `${value(measured.median)} (${value(measured.min)}–${value(measured.max)}, n=${measured.count})`;
}
