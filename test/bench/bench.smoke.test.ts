/**
 * Runs the whole benchmark at smoke scale so it cannot rot: every phase must complete against the
 * real bundle and loopback world, single-flight must hold, a fleet of environments must log in
 * once per org, and the table must name every section.
 * Nothing here is timed: budgets are reported by `npm run bench`, not asserted.
 */
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { makeOutDir, PROJECT_ROOT, runBenchmark } from '../../bench/benchmark';
import { BUDGETS, judgeBudgets } from '../../bench/budgets';
import { CDK_BUNDLING, ESM_REQUIRE_BANNER } from '../../bench/bundling';
import { formatTable, judgeChecks } from '../../bench/report';
import { SCALES, scaleFromEnv } from '../../bench/scale';

const dirs: string[] = [];
afterAll(() => Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true }))));

describe('npm run bench at smoke scale', () => {
  it('measures every section on the production bundle and keeps single-flight exact', async () => {
    const outDir = await makeOutDir();
    dirs.push(outDir);
    const results = await runBenchmark({ scale: SCALES.smoke, outDir });

    const token = results.bundles.find((b) => b.name === 'token' && b.variant === 'stack');
    expect(token?.bytes).toBeGreaterThan(0);
    expect(token?.contributors.map((part) => part.name)).toContain('lambda/core');
    expect(results.concurrency.singleExchanges).toEqual([1]);
    expect(results.concurrency.manyExchanges).toEqual(
      Array.from({ length: SCALES.smoke.manyOrgs }, () => 1),
    );
    expect(results.gateway.requests).toBeGreaterThan(0);
    expect(judgeChecks(results).find((v) => v.name === 'single-flight exact')?.pass).toBe(true);
    // The fleet's promise, through separate processes running the bundle: however many cold
    // environments share the requests, each org is logged in for once.
    expect(
      results.fleet.logins.map(({ environments, loginsPerOrg, failures }) => ({
        environments,
        loginsPerOrg,
        failures,
      })),
    ).toEqual(
      SCALES.smoke.fleetEnvironments.flatMap((environments) => [
        { environments, loginsPerOrg: [1], failures: {} },
        {
          environments,
          loginsPerOrg: Array.from({ length: SCALES.smoke.fleetOrgs }, () => 1),
          failures: {},
        },
      ]),
    );
    expect(judgeChecks(results).find((v) => v.name === 'fleet: one login per org')?.pass).toBe(
      true,
    );

    const table = formatTable(results);
    // The Budgets table comes first and names every budget with a verdict; what the verdicts
    // say depends on the machine, so only their shape is checked.
    expect(table.indexOf('### Budgets')).toBeLessThan(table.indexOf('### Details'));
    expect(judgeBudgets(results).map((verdict) => verdict.id)).toEqual(Object.keys(BUDGETS));
    const rows = table.split('\n').map((row) => row.split(' | ').map((cell) => cell.trim()));
    for (const budget of Object.values(BUDGETS)) {
      const row = rows.find((cells) => cells[0] === `| ${budget.figure}`);
      expect(row, budget.figure).toHaveLength(5);
      expect(row?.[2]).toMatch(new RegExp(`^${budget.comparison} `));
      expect(row?.[4]).toMatch(/^(PASS|MISS) \(goal (met|MISS)\) \|$/);
    }
    for (const section of [
      '1 bundle',
      '2 cold',
      '3 warm',
      '4 miss',
      '5 concurrency',
      '5 gateway',
      '6 fleet',
    ]) {
      expect(table).toContain(`| ${section}`);
    }
    expect(table).not.toMatch(/NaN|Infinity|undefined/);
  }, 90_000);

  it('builds with the bundling options of the CDK stack (lib/broker-function.ts)', async () => {
    const stack = await readFile(join(PROJECT_ROOT, 'lib', 'broker-function.ts'), 'utf8');
    const bundling = /bundling: \{([^}]*)\}/.exec(stack)?.[1] ?? '';
    // The stack's options, as NodejsFunction turns them into esbuild options.
    expect(bundling).toContain('format: OutputFormat.ESM');
    expect(bundling).toContain(`target: '${CDK_BUNDLING.target}'`);
    expect(bundling).toContain("mainFields: ['module', 'main']");
    expect(bundling).toContain('banner: ESM_REQUIRE_BANNER');
    expect(bundling).toContain('minify: true');
    expect(bundling).toContain('sourceMap: true');
    expect(bundling).toContain('sourcesContent: false');
    expect(bundling).toContain('externalModules: []');
    expect(bundling).toContain('esbuildArgs: ALIAS_ARGS');
    expect(bundling.match(/^\s+\w+:/gm)).toHaveLength(10);
    // The stack's BUNDLE_ALIASES, read as text like the rest (importing it loads aws-cdk-lib).
    const aliases = /BUNDLE_ALIASES[^=]*= \{([^}]*)\}/.exec(stack)?.[1] ?? '';
    expect(
      Object.fromEntries([...aliases.matchAll(/'([^']+)': '([^']+)'/g)].map((m) => [m[1], m[2]])),
    ).toEqual(CDK_BUNDLING.alias);
    expect(stack).toContain(
      `export const ESM_REQUIRE_BANNER =\n  ${JSON.stringify(ESM_REQUIRE_BANNER)}`,
    );
    expect(CDK_BUNDLING).toMatchObject({
      format: 'esm',
      mainFields: ['module', 'main'],
      minify: true,
      sourcemap: true,
      sourcesContent: false,
      external: [],
    });
  });

  it('reads the scale from BENCH_SCALE and refuses an unknown one', () => {
    expect(scaleFromEnv({}).name).toBe('full');
    expect(scaleFromEnv({ BENCH_SCALE: 'smoke' })).toBe(SCALES.smoke);
    expect(() => scaleFromEnv({ BENCH_SCALE: 'huge' })).toThrow('BENCH_SCALE');
  });
});
