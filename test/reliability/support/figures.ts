/**
 * The figures a reliability suite reports: faults injected and survived, fuzz cases run, requests
 * under load, errors, secrets found, latency percentiles. Each suite file runs in its own process,
 * so each writes its own JSON under {@link FIGURES_DIR}; summarize.ts merges them into
 * `figures.json` there and prints the table docs/reliability.md quotes.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const CHECKOUT = fileURLToPath(new URL('../../../', import.meta.url));

/**
 * `RELIABILITY_FIGURES_DIR`, or a folder under the system temp directory named after this
 * checkout: tests never write into the checkout, and two checkouts on one machine (worktrees)
 * keep their figures apart while the suites and summarize.ts still agree on where they are.
 */
export const FIGURES_DIR = pathToFileURL(
  `${
    process.env.RELIABILITY_FIGURES_DIR ??
    join(
      tmpdir(),
      `token-broker-reliability-${createHash('sha256').update(CHECKOUT).digest('hex').slice(0, 12)}`,
    )
  }/`,
);

export interface LatencySummary {
  readonly count: number;
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
  readonly max: number;
}

export interface SuiteFigures {
  readonly suite: string;
  faultsInjected: number;
  faultsSurvived: number;
  /** Names of the faults injected, in order. */
  readonly faults: string[];
  fuzzCases: number;
  authorizationCases: number;
  attacks: number;
  /** Names of the attacks run, in order. */
  readonly attackNames: string[];
  loadRequests: number;
  errors: number;
  secretsFound: number;
  readonly latency: Record<string, LatencySummary>;
}

/** Nearest-rank percentiles of `samples` (ms), rounded to 0.1 ms. */
export function summarizeLatency(samples: readonly number[]): LatencySummary {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (p: number) => {
    const value = sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;
    return Math.round(value * 10) / 10;
  };
  return { count: sorted.length, p50: at(50), p95: at(95), p99: at(99), max: at(100) };
}

export interface FiguresRecorder {
  readonly figures: SuiteFigures;
  /**
   * Injects a fault through `run` (which also asserts its documented outcome): counted as injected
   * before, and as survived only when `run` completes.
   */
  fault<T>(name: string, run: () => Promise<T>): Promise<T>;
  /** Writes the suite's JSON and prints one summary line. */
  flush(): void;
}

export function recordFigures(suite: string): FiguresRecorder {
  const figures: SuiteFigures = {
    suite,
    faultsInjected: 0,
    faultsSurvived: 0,
    faults: [],
    fuzzCases: 0,
    authorizationCases: 0,
    attacks: 0,
    attackNames: [],
    loadRequests: 0,
    errors: 0,
    secretsFound: 0,
    latency: {},
  };
  return {
    figures,
    async fault(name, run) {
      figures.faultsInjected += 1;
      figures.faults.push(name);
      const result = await run();
      figures.faultsSurvived += 1;
      return result;
    },
    flush() {
      mkdirSync(FIGURES_DIR, { recursive: true });
      writeFileSync(new URL(`${suite}.json`, FIGURES_DIR), `${JSON.stringify(figures, null, 2)}\n`);
      const latency = Object.entries(figures.latency)
        .map(([name, l]) => ` ${name} p50=${l.p50}ms p95=${l.p95}ms p99=${l.p99}ms max=${l.max}ms`)
        .join(';');
      console.log(
        `[reliability] ${suite}: faults ${figures.faultsSurvived}/${figures.faultsInjected} survived, ` +
          `fuzz cases ${figures.fuzzCases}, authorization cases ${figures.authorizationCases}, ` +
          `attacks ${figures.attacks}, load requests ${figures.loadRequests}, errors ${figures.errors}, ` +
          `secrets found ${figures.secretsFound}${latency ? `;${latency}` : ''}`,
      );
    },
  };
}
