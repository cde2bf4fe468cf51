/**
 * The whole benchmark in one run: bundles, cold start (broker, floor, jsforce), warm path, cache
 * miss, concurrency, the fleet tier and gateway throughput, all against one loopback world on
 * this machine. Returns the figures; report.ts turns them into the table.
 *
 * The shared token table outlives every function process, so a measurement that needs a cold org
 * (an exchange, a single-flight count) takes orgs no earlier one touched (`world.addOrgs`).
 */
import { mkdtemp, symlink } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildRestEvent } from '../local/rest-event';
import { startFleet } from '../test/fleet/fleet';
import { BURST_ENVIRONMENTS } from './budgets';
import { buildFunctionBundle, type FunctionBundle, presentFunctions } from './bundling';
import { runChild, startServerChild } from './child';
import { generateLoad } from './load';
import type { BenchScale } from './scale';
import { percentile, type Summary, summarize } from './stats';
import { type BenchOrg, type BenchWorld, CALLER_ARN, startWorld } from './world';

export const PROJECT_ROOT = fileURLToPath(new URL('..', import.meta.url));

export type ColdVariant = 'broker' | 'brokerSdkExternal' | 'brokerSourceMaps' | 'floor' | 'jsforce';

/**
 * One cold-start variant's figures. Each summary is over the repetitions: its median, min and max
 * are of the repetitions' own medians (each over `coldRounds` fresh processes).
 */
export interface ColdFigures {
  readonly importMs: Summary;
  /** From just after the import to the token in hand. */
  readonly requestMs: Summary;
  /** From process start (`performance.now()` 0) to the token in hand. */
  readonly totalMs: Summary;
  /** Total as a multiple of the floor's total in the same repetition. */
  readonly totalVersusFloor: Summary;
  /** Total as a multiple of jsforce's total in the same repetition. */
  readonly totalVersusJsforce: Summary;
  /** Resident set size right after the import (the floor: at its first line). */
  readonly rssImportedMb: Summary;
  /** RSS growth from just after the import to just after the first token. */
  readonly rssGrowthMb: Summary;
  readonly maxRssMb: Summary;
  /** Broker variants only: from Salesforce's token answer to the handler's response. */
  readonly afterAnswerMs?: Summary;
}

export interface BenchmarkResults {
  readonly scale: BenchScale;
  readonly machine: string;
  /** The stack's builds, then the what-if token build with the SDK external. */
  readonly bundles: readonly FunctionBundle[];
  readonly cold: Readonly<Record<ColdVariant, ColdFigures>>;
  /** Cold starts per variant behind each cold figure: repetitions x rounds. */
  readonly coldRuns: { readonly repetitions: number; readonly rounds: number };
  /** Per-request latency percentiles, µs; each summary is across warm instances. */
  readonly warm: {
    readonly brokerP50: Summary;
    readonly brokerP99: Summary;
    readonly bareP50: Summary;
    readonly bareP99: Summary;
  };
  /** Medians per warm instance, ms. */
  readonly miss: {
    readonly broker: Summary;
    readonly floor: Summary;
    /** The broker's median minus the floor's: includes the table round trips before the POST. */
    readonly overhead: Summary;
    /** From the token answer's last byte to the handler's response: the work after the POST. */
    readonly brokerAfterAnswer: Summary;
    /** The floor's equivalent (reading the answer's JSON), for scale. */
    readonly floorAfterAnswer: Summary;
    /** One outcome write (the DynamoDB UpdateItem every fresh exchange makes), per batch. */
    readonly outcomeWrite: Summary;
  };
  readonly concurrency: {
    readonly singleMs: Summary;
    /** Exchanges Salesforce saw for the one org, per run. */
    readonly singleExchanges: readonly number[];
    readonly manyMs: Summary;
    /** Exchanges per org, every org of every run. */
    readonly manyExchanges: readonly number[];
  };
  readonly fleet: {
    /** Per-request latency percentiles across fresh instances, ms. */
    readonly latency: {
      readonly memoryP50: Summary;
      readonly memoryP99: Summary;
      readonly fleetP50: Summary;
      readonly fleetP99: Summary;
      readonly exchangeP50: Summary;
      readonly exchangeP99: Summary;
    };
    /** One entry per fleet and org count (the judged fleet size runs `burstRuns` fleets). */
    readonly logins: readonly FleetLogins[];
  };
  readonly gateway: {
    readonly target: string;
    readonly perSecond: Summary;
    readonly p50Ms: Summary;
    readonly p99Ms: Summary;
    readonly requests: number;
  };
}

export interface FleetLogins {
  /** Fresh environments (processes) the requests were spread over. */
  readonly environments: number;
  readonly requests: number;
  /** JWT Bearer logins Salesforce saw, per org. */
  readonly loginsPerOrg: readonly number[];
  /** Requests not answered with a token, by error category. */
  readonly failures: Readonly<Record<string, number>>;
  readonly wallMs: number;
}

interface ColdSample {
  readonly importMs: number;
  readonly requestMs: number;
  readonly totalMs: number;
  readonly afterAnswerMs?: number;
  readonly rssImportedBytes: number;
  readonly rssServedBytes: number;
  readonly maxRssKb: number;
}

const COLD_SCRIPTS: Readonly<Record<ColdVariant, string>> = {
  broker: 'cold-token.mjs',
  brokerSdkExternal: 'cold-token.mjs',
  brokerSourceMaps: 'cold-token.mjs',
  floor: 'cold-floor.mjs',
  jsforce: 'cold-jsforce.mjs',
};

function tokenEvent(orgId: string) {
  return buildRestEvent({
    method: 'POST',
    path: `/orgs/${orgId}/token`,
    resource: '/orgs/{orgId}/token',
    pathParameters: { orgId },
    callerArn: CALLER_ARN,
  });
}

function childEnv(
  world: BenchWorld,
  bundle: FunctionBundle,
  org: BenchOrg,
): Record<string, string> {
  return {
    ...world.functionEnv,
    BENCH_BUNDLE: bundle.file,
    BENCH_EVENT: JSON.stringify(tokenEvent(org.orgId)),
    BENCH_SECRETS_ENDPOINT: world.secretsEndpoint,
    BENCH_SECRET_ID: world.secretId,
    BENCH_LOGIN_URL: world.loginUrl,
    BENCH_AUDIENCE: world.audience,
    BENCH_CONSUMER_KEY: world.consumerKey,
    BENCH_USERNAME: org.username,
  };
}

const MB = 1024 * 1024;

async function measureCold(
  scale: BenchScale,
  world: BenchWorld,
  env: Record<string, string>,
  sdkExternal: FunctionBundle,
  cpuProfileDir: string | undefined,
): Promise<Record<ColdVariant, ColdFigures>> {
  const profile = cpuProfileDir ? ['--cpu-prof', '--cpu-prof-dir', cpuProfileDir] : [];
  // Each broker process gets an org nobody has logged in for, so its first request is an
  // exchange, as it was before the fleet tier, not another process's token from the table.
  const brokerEnv = async (variant: ColdVariant): Promise<Record<string, string>> => {
    const [org] = await world.addOrgs(1);
    if (!org) throw new Error('no org added');
    const bundle = variant === 'brokerSdkExternal' ? sdkExternal.file : env.BENCH_BUNDLE;
    return {
      ...env,
      BENCH_BUNDLE: bundle ?? '',
      BENCH_EVENT: JSON.stringify(tokenEvent(org.orgId)),
    };
  };
  const nodeArgs = (variant: ColdVariant): string[] => {
    if (!variant.startsWith('broker')) return [];
    return variant === 'brokerSourceMaps' ? ['--enable-source-maps', ...profile] : profile;
  };
  const variants = Object.keys(COLD_SCRIPTS) as ColdVariant[];
  const repetitions: Map<ColdVariant, ColdSample[]>[] = [];
  const warmups = scale.coldRounds > 1 ? 1 : 0;
  for (let repetition = 0; repetition < scale.coldRepetitions; repetition += 1) {
    const samples = new Map<ColdVariant, ColdSample[]>(variants.map((v) => [v, []]));
    // Interleaved, so drift on the machine spreads evenly over the variants; rotated, so no
    // variant always starts right after the same other one (or first after the pause between
    // repetitions).
    for (let round = -warmups; round < scale.coldRounds; round += 1) {
      const offset = (repetition * scale.coldRounds + round + warmups) % variants.length;
      for (let k = 0; k < variants.length; k += 1) {
        const variant = variants[(offset + k) % variants.length] as ColdVariant;
        const sample = await runChild<ColdSample>({
          script: COLD_SCRIPTS[variant],
          env: variant.startsWith('broker') ? await brokerEnv(variant) : env,
          nodeArgs: nodeArgs(variant),
        });
        if (round >= 0) samples.get(variant)?.push(sample);
      }
    }
    repetitions.push(samples);
  }
  const median = (variant: ColdVariant, repetition: number, pick: (s: ColdSample) => number) =>
    percentile(repetitions[repetition]?.get(variant)?.map(pick) ?? [], 50);
  const across = (variant: ColdVariant, pick: (s: ColdSample) => number) =>
    summarize(repetitions.map((_, repetition) => median(variant, repetition, pick)));
  const ratioTo = (variant: ColdVariant, base: ColdVariant) =>
    summarize(
      repetitions.map(
        (_, repetition) =>
          median(variant, repetition, (s) => s.totalMs) /
          median(base, repetition, (s) => s.totalMs),
      ),
    );
  const figures = (variant: ColdVariant): ColdFigures => ({
    importMs: across(variant, (s) => s.importMs),
    requestMs: across(variant, (s) => s.requestMs),
    totalMs: across(variant, (s) => s.totalMs),
    totalVersusFloor: ratioTo(variant, 'floor'),
    totalVersusJsforce: ratioTo(variant, 'jsforce'),
    rssImportedMb: across(variant, (s) => s.rssImportedBytes / MB),
    rssGrowthMb: across(variant, (s) => (s.rssServedBytes - s.rssImportedBytes) / MB),
    maxRssMb: across(variant, (s) => s.maxRssKb / 1024),
    ...(variant.startsWith('broker')
      ? { afterAnswerMs: across(variant, (s) => s.afterAnswerMs ?? Number.NaN) }
      : {}),
  });
  return Object.fromEntries(variants.map((v) => [v, figures(v)])) as Record<
    ColdVariant,
    ColdFigures
  >;
}

interface WarmSample {
  readonly warm: number[];
  readonly bare: number[];
  readonly brokerMiss: number[];
  readonly floorMiss: number[];
  readonly brokerAfterAnswer: number[];
  readonly floorAfterAnswer: number[];
  /** Logins the refresh and floor loops made (the first request may add one). */
  readonly logins: number;
}

async function measureWarm(scale: BenchScale, world: BenchWorld, env: Record<string, string>) {
  const runs: WarmSample[] = [];
  const outcomeWrites: number[] = [];
  for (let run = 0; run < scale.warmRuns; run += 1) {
    outcomeWrites.push(await world.timeOutcomeWrite(scale.missRequests));
    const username = env.BENCH_USERNAME ?? '';
    const before = await world.exchanges(username);
    const sample = await runChild<WarmSample>({
      script: 'warm.mjs',
      env: {
        ...env,
        // Every forceRefresh must reach Salesforce, as it did before the minimum token age.
        MIN_TOKEN_AGE_SECONDS: '0',
        BENCH_WARM_REQUESTS: String(scale.warmRequests),
        BENCH_MISS_REQUESTS: String(scale.missRequests),
      },
    });
    const made = (await world.exchanges(username)) - before;
    // A refresh answered without a login would time the wrong path.
    if (made < sample.logins || made > sample.logins + 1) {
      throw new Error(`cache miss: ${made} logins, expected ${sample.logins} (+1)`);
    }
    runs.push(sample);
  }
  const us = (values: number[], p: number) => percentile(values, p) * 1000;
  const across = (pick: (run: WarmSample) => number) => summarize(runs.map(pick));
  return {
    warm: {
      brokerP50: across((r) => us(r.warm, 50)),
      brokerP99: across((r) => us(r.warm, 99)),
      bareP50: across((r) => us(r.bare, 50)),
      bareP99: across((r) => us(r.bare, 99)),
    },
    miss: {
      broker: across((r) => percentile(r.brokerMiss, 50)),
      floor: across((r) => percentile(r.floorMiss, 50)),
      overhead: across((r) => percentile(r.brokerMiss, 50) - percentile(r.floorMiss, 50)),
      brokerAfterAnswer: across((r) => percentile(r.brokerAfterAnswer, 50)),
      floorAfterAnswer: across((r) => percentile(r.floorAfterAnswer, 50)),
      outcomeWrite: summarize(outcomeWrites),
    },
  };
}

async function measureConcurrency(
  scale: BenchScale,
  world: BenchWorld,
  env: Record<string, string>,
): Promise<BenchmarkResults['concurrency']> {
  const single: number[] = [];
  const many: number[] = [];
  const singleExchanges: number[] = [];
  const manyExchanges: number[] = [];
  for (let run = 0; run < scale.concurrencyRuns; run += 1) {
    // Orgs of its own per run: a later fresh instance would find an earlier run's token in the
    // table and make no exchange at all.
    const [first, ...others] = await world.addOrgs(1 + scale.manyOrgs);
    if (!first) throw new Error('no org added');
    const orgs = [first, ...others];
    const countAll = () => Promise.all(orgs.map((org) => world.exchanges(org.username)));
    const before = await countAll();
    const figures = await runChild<{ singleMs: number; manyMs: number }>({
      script: 'concurrency.mjs',
      env: {
        ...env,
        BENCH_ORG_IDS: orgs.map((org) => org.orgId).join(','),
        BENCH_CONCURRENT: String(scale.concurrent),
        BENCH_PER_ORG: String(scale.perOrg),
      },
    });
    const after = await countAll();
    single.push(figures.singleMs);
    many.push(figures.manyMs);
    after.forEach((count, index) => {
      const made = count - (before[index] ?? 0);
      if (index === 0) singleExchanges.push(made);
      else manyExchanges.push(made);
    });
  }
  return {
    singleMs: summarize(single),
    singleExchanges,
    manyMs: summarize(many),
    manyExchanges,
  };
}

/** The orgs' JWT Bearer logins, in order. */
const loginsOf = (world: BenchWorld, orgs: readonly BenchOrg[]) =>
  Promise.all(orgs.map((org) => world.logins(org.username)));

async function measureFleetLatency(
  scale: BenchScale,
  world: BenchWorld,
  env: Record<string, string>,
): Promise<BenchmarkResults['fleet']['latency']> {
  const warmupRounds = Math.max(2, Math.floor(scale.fleetLatencyRounds / 20));
  const rounds = warmupRounds + scale.fleetLatencyRounds;
  const runs: { memory: number[]; fleet: number[]; exchange: number[] }[] = [];
  for (let run = 0; run < scale.fleetLatencyRuns; run += 1) {
    const [memoryOrg, ...rest] = await world.addOrgs(1 + 2 * rounds);
    if (!memoryOrg) throw new Error('no org added');
    const fleetOrgs = rest.slice(0, rounds);
    const coldOrgs = rest.slice(rounds);
    // Another environment logs in for the fleet orgs, so the measured one finds their tokens in
    // the table and never in its own memory.
    const seeder = await startFleet({
      count: 1,
      bundle: env.BENCH_BUNDLE ?? '',
      env: world.functionEnv,
      event: tokenEvent(memoryOrg.orgId),
    });
    try {
      const [environment] = seeder.environments;
      for (const org of fleetOrgs) {
        const answer = await environment?.request({ orgId: org.orgId });
        if (answer?.statusCode !== 200)
          throw new Error(`seeding ${org.orgId}: ${answer?.statusCode}`);
      }
    } finally {
      await seeder.close();
    }
    runs.push(
      await runChild({
        script: 'fleet-latency.mjs',
        env: {
          ...env,
          BENCH_EVENT: JSON.stringify(tokenEvent(memoryOrg.orgId)),
          BENCH_MEMORY_ORG: memoryOrg.orgId,
          BENCH_FLEET_ORGS: fleetOrgs.map((org) => org.orgId).join(','),
          BENCH_COLD_ORGS: coldOrgs.map((org) => org.orgId).join(','),
          BENCH_WARMUP_ROUNDS: String(warmupRounds),
        },
      }),
    );
    // A fleet hit that logged in, or an exchange that did not, would time the wrong path.
    const [fleetLogins, coldLogins] = await Promise.all([
      loginsOf(world, fleetOrgs),
      loginsOf(world, coldOrgs),
    ]);
    if ([...fleetLogins, ...coldLogins].some((count) => count !== 1)) {
      throw new Error(
        `fleet latency: expected one login per org, got fleet ${fleetLogins} and cold ${coldLogins}`,
      );
    }
  }
  const across = (pick: (run: (typeof runs)[number]) => number[], p: number) =>
    summarize(runs.map((run) => percentile(pick(run), p)));
  return {
    memoryP50: across((r) => r.memory, 50),
    memoryP99: across((r) => r.memory, 99),
    fleetP50: across((r) => r.fleet, 50),
    fleetP99: across((r) => r.fleet, 99),
    exchangeP50: across((r) => r.exchange, 50),
    exchangeP99: across((r) => r.exchange, 99),
  };
}

/**
 * `requests` at once over `environments` fresh processes (each serving one at a time), request i
 * going to environment i mod n for org floor(i / n) mod orgs: every org is asked for in every
 * environment, and all environments start on the same org.
 */
async function countFleetLogins(
  world: BenchWorld,
  fleet: Awaited<ReturnType<typeof startFleet>>,
  orgs: readonly BenchOrg[],
  requests: number,
): Promise<FleetLogins> {
  const { environments } = fleet;
  const started = performance.now();
  const answers = await Promise.all(
    Array.from({ length: requests }, (_, i) => {
      const org = orgs[Math.floor(i / environments.length) % orgs.length];
      return environments[i % environments.length]?.request({ orgId: org?.orgId ?? '' });
    }),
  );
  const wallMs = performance.now() - started;
  // Failures are reported, not thrown: under a cold burst on a busy machine they are part of
  // what the fleet does (a retryable 500), and the logins are still counted.
  const failures: Record<string, number> = {};
  for (const answer of answers) {
    if (answer?.statusCode === 200) continue;
    const category = String(answer?.body.error ?? `status ${answer?.statusCode}`);
    failures[category] = (failures[category] ?? 0) + 1;
  }
  return {
    environments: environments.length,
    requests,
    loginsPerOrg: await loginsOf(world, orgs),
    failures,
    wallMs,
  };
}

async function measureFleetLogins(
  scale: BenchScale,
  world: BenchWorld,
  env: Record<string, string>,
): Promise<FleetLogins[]> {
  const results: FleetLogins[] = [];
  const sizes = scale.fleetEnvironments.flatMap((count) =>
    Array.from({ length: count === BURST_ENVIRONMENTS ? scale.burstRuns : 1 }, () => count),
  );
  for (const count of sizes) {
    const [single, ...many] = await world.addOrgs(1 + scale.fleetOrgs);
    if (!single) throw new Error('no org added');
    const fleet = await startFleet({
      count,
      bundle: env.BENCH_BUNDLE ?? '',
      env: world.functionEnv,
      event: tokenEvent(single.orgId),
    });
    try {
      // The second burst runs in the same processes: their memory is still cold for its orgs.
      results.push(await countFleetLogins(world, fleet, [single], scale.fleetRequests));
      results.push(await countFleetLogins(world, fleet, many, scale.fleetRequests));
    } finally {
      await fleet.close();
    }
  }
  return results;
}

async function measureGateway(
  scale: BenchScale,
  world: BenchWorld,
  env: Record<string, string>,
): Promise<BenchmarkResults['gateway']> {
  const org = world.orgs[0];
  if (!org) throw new Error('the world has no org');
  const perSecond: number[] = [];
  const p50: number[] = [];
  const p99: number[] = [];
  let requests = 0;
  for (let run = 0; run < scale.gatewayRuns; run += 1) {
    const server = await startServerChild<{ url: string }>({
      script: 'gateway-server.ts',
      nodeArgs: ['--import', 'tsx'],
      env: { ...env, BENCH_CALLER_ARN: CALLER_ARN },
    });
    try {
      const load = {
        url: `${server.ready.url}/orgs/${org.orgId}/token`,
        method: 'POST',
        connections: scale.gatewayConnections,
      };
      // The first request exchanges; a short warm-up fills the cache and the JIT.
      await generateLoad({ ...load, maxRequests: 200, maxSeconds: 2 });
      const result = await generateLoad({
        ...load,
        maxRequests: scale.gatewayRequests,
        maxSeconds: scale.gatewaySeconds,
      });
      perSecond.push(result.perSecond);
      p50.push(percentile(result.latencies, 50));
      p99.push(percentile(result.latencies, 99));
      requests += result.requests;
    } finally {
      await server.stop();
    }
  }
  return {
    target: 'local/gateway.ts in its own process, token bundle behind it',
    perSecond: summarize(perSecond),
    p50Ms: summarize(p50),
    p99Ms: summarize(p99),
    requests,
  };
}

export interface BenchmarkOptions {
  readonly scale: BenchScale;
  /** Where the bundles are written: a directory made by {@link makeOutDir}. */
  readonly outDir: string;
  /** Writes a `--cpu-prof` profile of every cold broker process here (where the time goes). */
  readonly cpuProfileDir?: string;
  /** Progress lines, e.g. to stderr. */
  readonly progress?: (message: string) => void;
}

/**
 * A fresh directory under the system temp dir for the bundles, outside the checkout. Its
 * `node_modules` links to the project's, so the what-if bundle finds the external SDK there, as
 * it would find the Lambda runtime's copy.
 */
export async function makeOutDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'token-broker-bench-'));
  await symlink(join(PROJECT_ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
  return dir;
}

export async function runBenchmark(options: BenchmarkOptions): Promise<BenchmarkResults> {
  const { scale } = options;
  const progress = options.progress ?? (() => undefined);
  progress('bundling');
  const bundles = await Promise.all([
    ...presentFunctions(PROJECT_ROOT).map((name) =>
      buildFunctionBundle(name, PROJECT_ROOT, options.outDir),
    ),
    buildFunctionBundle('token', PROJECT_ROOT, options.outDir, 'sdkExternal'),
  ]);
  const [token, sdkExternal] = bundles.filter((bundle) => bundle.name === 'token');
  if (!token || !sdkExternal) throw new Error('no token function bundle');
  progress('starting the loopback world');
  const world = await startWorld({ orgCount: 1 });
  try {
    const [shared] = world.orgs;
    if (!shared) throw new Error('the world has no org');
    const env = childEnv(world, token, shared);
    progress('cold start');
    const cold = await measureCold(scale, world, env, sdkExternal, options.cpuProfileDir);
    progress('warm path and cache miss');
    const { warm, miss } = await measureWarm(scale, world, env);
    progress('concurrency');
    const concurrency = await measureConcurrency(scale, world, env);
    progress('fleet: memory hit, fleet hit and exchange');
    const fleetLatency = await measureFleetLatency(scale, world, env);
    progress('fleet: logins across environments');
    const fleetLogins = await measureFleetLogins(scale, world, env);
    progress('gateway throughput');
    const gateway = await measureGateway(scale, world, env);
    const cpu = cpus()[0]?.model ?? 'unknown CPU';
    return {
      scale,
      machine: `node ${process.version}, ${process.platform}/${process.arch}, ${cpus().length} x ${cpu}`,
      bundles,
      cold,
      coldRuns: { repetitions: scale.coldRepetitions, rounds: scale.coldRounds },
      warm,
      miss,
      concurrency,
      fleet: { latency: fleetLatency, logins: fleetLogins },
      gateway,
    };
  } finally {
    await world.close();
  }
}
