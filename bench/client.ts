/**
 * `npx tsx bench/client.ts`: what the client library (client/) costs a caller.
 *
 * - Bundle: client/index.ts built with esbuild, minified ESM for node, three ways: with the AWS
 *   SDK's default credential chain (what a caller who passes no credentials ships), without it
 *   (credentials passed in, chain marked external), and the jsforce entry with jsforce external.
 * - Added latency: the same signed requests against the local gateway (SigV4 checked) with a stub
 *   handler, once as a raw `fetch` signed with the SDK signer and once through the client
 *   (`status`, and `getToken` with `forceRefresh` so each call reaches the gateway), interleaved;
 *   plus `getToken` served from the client's cache. Loopback only; the difference is the client.
 *
 * BENCH_CLIENT_ROUNDS=N changes the number of requests per variant (default 400).
 */
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import { build } from 'esbuild';
import { createTokenBrokerClient } from '../client/index';
import { createRequestSigner } from '../client/signer';
import { startGateway } from '../local/gateway';
import { createLocalCallerKey } from '../local/sigv4';

const REGION = 'eu-west-1';
const rounds = Number(process.env.BENCH_CLIENT_ROUNDS ?? 400);

async function bundleSize(entry: string, external: string[]) {
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    // As the stack bundles: ESM builds first, so unused SDK modules are tree-shaken.
    mainFields: ['module', 'main'],
    minify: true,
    write: false,
    external,
    logLevel: 'error',
  });
  const code = result.outputFiles[0]?.contents ?? new Uint8Array();
  return { bytes: code.length, gzipBytes: (await promisify(gzip)(code)).length };
}

function quantile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? Number.NaN;
}

function summary(samples: readonly number[]) {
  const sorted = [...samples].sort((a, b) => a - b);
  return { p50: quantile(sorted, 0.5), p95: quantile(sorted, 0.95), n: sorted.length };
}

async function timed(run: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await run();
  return performance.now() - started;
}

const bundles = {
  withDefaultChain: await bundleSize('client/index.ts', []),
  credentialsPassed: await bundleSize('client/index.ts', ['@aws-sdk/credential-provider-node']),
  jsforceEntry: await bundleSize('client/jsforce.ts', [
    'jsforce',
    '@aws-sdk/credential-provider-node',
  ]),
};

const key = createLocalCallerKey('arn:aws:sts::123456789012:assumed-role/Bench/client');
const body = JSON.stringify({
  access_token: '00Dbench!token',
  instance_url: 'https://bench.my.salesforce.com',
  id: 'https://login.salesforce.com/id/00D/005',
  token_type: 'Bearer',
  expires_at: new Date(Date.now() + 3_600_000).toISOString(),
  org_id: 'bench',
});
const gateway = await startGateway({
  sigv4: { region: REGION, keys: [key] },
  handlers: { token: async () => ({ statusCode: 200, body }) },
});
try {
  const sign = createRequestSigner(REGION, key);
  const raw = async (method: 'GET' | 'POST', path: string, payload?: string) => {
    const url = new URL(`${gateway.url}${path}`);
    const headers = await sign({
      method,
      url,
      headers: payload ? { 'content-type': 'application/json' } : {},
      body: payload,
    });
    const response = await fetch(url, { method, headers, ...(payload ? { body: payload } : {}) });
    return response.json();
  };
  const client = createTokenBrokerClient({ apiUrl: gateway.url, region: REGION, credentials: key });
  const force = JSON.stringify({ forceRefresh: true });
  const variants = {
    rawStatus: () => raw('GET', '/orgs/bench/status'),
    clientStatus: () => client.status('bench'),
    rawTokenPost: () => raw('POST', '/orgs/bench/token', force),
    clientForceRefresh: () => client.getToken('bench', { forceRefresh: true }),
    clientCacheHit: () => client.getToken('bench'),
  };
  const samples = Object.fromEntries(Object.keys(variants).map((name) => [name, [] as number[]]));
  for (let warm = 0; warm < 50; warm++) for (const run of Object.values(variants)) await run();
  for (let round = 0; round < rounds; round++) {
    for (const [name, run] of Object.entries(variants)) samples[name]?.push(await timed(run));
  }
  const latency = Object.fromEntries(
    Object.entries(samples).map(([name, values]) => [name, summary(values)]),
  );
  const ms = (value: number | undefined) => `${(value ?? Number.NaN).toFixed(3)} ms`;
  const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;
  const lines = [
    '| client bundle (esbuild, minified ESM) | size | gzip |',
    '| --- | --- | --- |',
    ...Object.entries(bundles).map(
      ([name, size]) => `| ${name} | ${kb(size.bytes)} | ${kb(size.gzipBytes)} |`,
    ),
    '',
    `| request over loopback (n=${rounds} each, interleaved) | p50 | p95 |`,
    '| --- | --- | --- |',
    ...Object.entries(latency).map(([name, s]) => `| ${name} | ${ms(s.p50)} | ${ms(s.p95)} |`),
    '',
    `client added latency, p50: status ${ms((latency.clientStatus?.p50 ?? 0) - (latency.rawStatus?.p50 ?? 0))}, token ${ms((latency.clientForceRefresh?.p50 ?? 0) - (latency.rawTokenPost?.p50 ?? 0))}`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  process.stdout.write(`${JSON.stringify({ bundles, latency })}\n`);
} finally {
  await gateway.close();
}
