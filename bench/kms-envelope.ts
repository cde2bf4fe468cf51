/**
 * `npx tsx bench/kms-envelope.ts`: direct KMS Encrypt/Decrypt against data-key AES-256-GCM, both
 * through the functions' KMS client against the local KMS on loopback, interleaved round by round so
 * machine noise hits both alike. Loopback KMS answers in well under a millisecond, so the gap
 * shown is a floor: a real regional KMS adds milliseconds per direct call. KMS_BENCH_LATENCY_MS
 * adds that latency to every KMS call; KMS_BENCH_ROUNDS sets the measured rounds.
 * Writes nothing; prints a Markdown table.
 */
import {
  createDataKeySealer,
  createDirectKmsSealer,
  type Sealer,
} from '../lambda/adapters/kms-envelope';
import { createLocalAwsClient } from '../local/aws-clients';
import { startKmsServer } from '../local/kms-server';
import { percentile } from './stats';

/**
 * Reads a whole-number setting.
 * @default fallback when the variable is unset
 */
function intFromEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) throw new Error(`${name} must be a whole number`);
  return value;
}

const rounds = intFromEnv('KMS_BENCH_ROUNDS', 2000);
const warmup = Math.min(200, rounds);
const latencyMs = intFromEnv('KMS_BENCH_LATENCY_MS', 0);

const local = await startKmsServer({ latencyMs });
const client = createLocalAwsClient('kms', local.endpoint, {
  region: local.region,
  maxAttempts: 1,
});

interface Variant {
  readonly name: string;
  readonly keyId: string;
  readonly sealer: Sealer;
  readonly seal: number[];
  readonly open: number[];
}

const variants: Variant[] = [];
for (const [name, make] of [
  ['direct Encrypt/Decrypt', createDirectKmsSealer],
  ['data key + AES-GCM', createDataKeySealer],
] as const) {
  const { keyId } = await local.createKey();
  variants.push({ name, keyId, sealer: make({ client, keyId }), seal: [], open: [] });
}

// About the size of a cached Salesforce token entry (access token, instance URL, timestamps).
const plaintext = Buffer.from(
  JSON.stringify({
    accessToken: `00D000000000001!${'A'.repeat(110)}`,
    instanceUrl: 'https://example.my.salesforce.com',
    issuedAt: Date.now(),
    scope: 'api refresh_token',
  }),
);

for (let round = 0; round < warmup + rounds; round += 1) {
  const context = { org: '00D000000000001', user: `user-${round % 50}` };
  // Alternate which variant goes first, so neither always runs on a warmer cache.
  const order = round % 2 === 0 ? variants : [...variants].reverse();
  for (const variant of order) {
    const sealStart = performance.now();
    const sealed = await variant.sealer.seal(plaintext, context);
    const openStart = performance.now();
    const opened = await variant.sealer.open(sealed, context);
    const end = performance.now();
    if (opened.length !== plaintext.length) throw new Error(`${variant.name} did not round-trip`);
    if (round >= warmup) {
      variant.seal.push(openStart - sealStart);
      variant.open.push(end - openStart);
    }
  }
}

const us = (ms: number) => (ms * 1000).toFixed(0);
const lines = [
  `KMS envelope bench: ${rounds} interleaved rounds (+${warmup} warm-up), ${plaintext.length}-byte value, local KMS latency ${latencyMs} ms, node ${process.version}`,
  '',
  '| variant | op | ops/s | p50 µs | p99 µs | KMS calls |',
  '|---|---|---:|---:|---:|---|',
];
for (const variant of variants) {
  const calls = ['Encrypt', 'Decrypt', 'GenerateDataKey']
    .map((operation) => `${operation} ${local.callCount(operation, variant.keyId)}`)
    .join(', ');
  for (const [op, samples] of [
    ['seal', variant.seal],
    ['open', variant.open],
  ] as const) {
    const total = samples.reduce((sum, value) => sum + value, 0);
    const opsPerSecond = (samples.length / (total / 1000)).toFixed(0);
    lines.push(
      `| ${variant.name} | ${op} | ${opsPerSecond} | ${us(percentile(samples, 50))} | ${us(percentile(samples, 99))} | ${op === 'seal' ? calls : ''} |`,
    );
  }
}
process.stdout.write(`${lines.join('\n')}\n`);

await local.close();
