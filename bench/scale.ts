/** How much work each measurement does: `full` for `npm run bench`, `smoke` for the test suite. */
export interface BenchScale {
  readonly name: 'full' | 'smoke';
  /**
   * Independent repetitions of the cold-start phase; each judged cold figure is the median of
   * the repetitions' medians, so one noisy stretch of the run moves at most one of them.
   */
  readonly coldRepetitions: number;
  /**
   * Interleaved rounds per repetition, one fresh process per variant each (after one discarded
   * warm-up round when > 1).
   */
  readonly coldRounds: number;
  /** Warm function instances (processes), each measuring the requests below. */
  readonly warmRuns: number;
  /** Cached-token requests per warm instance (and as many through the bare handler). */
  readonly warmRequests: number;
  /** Fresh exchanges (forceRefresh) per warm instance, each paired with a floor exchange. */
  readonly missRequests: number;
  /** Fresh instances hit by the concurrency bursts. */
  readonly concurrencyRuns: number;
  /** Concurrent requests for one org on a cold cache. */
  readonly concurrent: number;
  /** Other orgs requested at once, and concurrent requests for each. */
  readonly manyOrgs: number;
  readonly perOrg: number;
  /** Fresh environments measuring memory hit, fleet hit and exchange interleaved. */
  readonly fleetLatencyRuns: number;
  /** Measured rounds per run (one request of each contender per round). */
  readonly fleetLatencyRounds: number;
  /** Fleets of fresh environments counting logins, one fleet per count. */
  readonly fleetEnvironments: readonly number[];
  /**
   * Fresh fleets of the judged size (budgets.ts `BURST_ENVIRONMENTS`, one of `fleetEnvironments`)
   * that run the bursts, so the judged login count is a median too.
   */
  readonly burstRuns: number;
  /** Requests per fleet for one org, and the same number spread over `fleetOrgs` orgs. */
  readonly fleetRequests: number;
  readonly fleetOrgs: number;
  readonly gatewayRuns: number;
  readonly gatewayConnections: number;
  readonly gatewayRequests: number;
  readonly gatewaySeconds: number;
}

export const SCALES: Readonly<Record<BenchScale['name'], BenchScale>> = {
  full: {
    name: 'full',
    coldRepetitions: 3,
    coldRounds: 15,
    warmRuns: 3,
    warmRequests: 20_000,
    missRequests: 200,
    concurrencyRuns: 3,
    concurrent: 1000,
    manyOrgs: 50,
    perOrg: 20,
    fleetLatencyRuns: 3,
    fleetLatencyRounds: 200,
    fleetEnvironments: [1, 8, 32],
    burstRuns: 3,
    fleetRequests: 1000,
    fleetOrgs: 10,
    gatewayRuns: 3,
    gatewayConnections: 16,
    gatewayRequests: 30_000,
    gatewaySeconds: 5,
  },
  smoke: {
    name: 'smoke',
    coldRepetitions: 1,
    coldRounds: 1,
    warmRuns: 1,
    warmRequests: 200,
    missRequests: 5,
    concurrencyRuns: 1,
    concurrent: 100,
    manyOrgs: 3,
    perOrg: 5,
    fleetLatencyRuns: 1,
    fleetLatencyRounds: 10,
    fleetEnvironments: [1, 8],
    burstRuns: 1,
    fleetRequests: 40,
    fleetOrgs: 3,
    gatewayRuns: 1,
    gatewayConnections: 4,
    gatewayRequests: 200,
    gatewaySeconds: 2,
  },
};

/** `BENCH_SCALE=smoke` or the full scale. */
export function scaleFromEnv(env: Readonly<Record<string, string | undefined>>): BenchScale {
  const name = env.BENCH_SCALE ?? 'full';
  if (name !== 'full' && name !== 'smoke') {
    throw new Error(`BENCH_SCALE must be "full" or "smoke", got "${name}"`);
  }
  return SCALES[name];
}
