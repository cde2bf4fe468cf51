/**
 * `npx tsx bench/kms-signing.ts`: a fresh JWT exchange signed with a key held in KMS (`kms:Sign`
 * per assertion) beside one signed with a key read from Secrets Manager (signed in memory), both
 * through the broker's own exchange (`createJwtExchange`), the real SDK clients against the local
 * KMS and Secrets Manager, and the Salesforce emulator over HTTP. Interleaved round by round.
 * KMS_BENCH_LATENCY_MS adds latency to every KMS call (a regional KMS Sign takes a few ms);
 * KMS_BENCH_ROUNDS sets the measured rounds. Writes nothing; prints a Markdown table.
 *
 * Not wired into `npm run bench` (bench/run.ts belongs to the fleet work): to add it there, import
 * the measurement below as a section of bench/report.ts, or run it on its own as above.
 */
import { KMSClient } from '@aws-sdk/client-kms';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { startEmulator } from '../emulator/server';
import { createKmsSigningKey } from '../keys/kms-signing-key';
import { generateSigningMaterial } from '../keys/signing-material';
import { createSalesforceTokenClient } from '../lambda/adapters/salesforce-token-client';
import { createSecretsManagerSigningKeys } from '../lambda/adapters/signing-keys';
import { validateOrgRecord } from '../lambda/core/org-record';
import { createJwtExchange } from '../lambda/services/jwt-exchange';
import { createLocalAwsClient } from '../local/aws-clients';
import { startKmsServer } from '../local/kms-server';
import { startSecretsManagerServer } from '../local/secrets-manager-server';
import { percentile } from './stats';

function intFromEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) throw new Error(`${name} must be a whole number`);
  return value;
}

const rounds = intFromEnv('KMS_BENCH_ROUNDS', 300);
const warmup = Math.min(30, rounds);
const latencyMs = intFromEnv('KMS_BENCH_LATENCY_MS', 0);
const USER = 'integration@acme.example';

const [kms, secrets, emulator] = await Promise.all([
  startKmsServer({ latencyMs }),
  startSecretsManagerServer(),
  startEmulator(),
]);
const local = { region: 'eu-west-1', credentials: { accessKeyId: 'l', secretAccessKey: 'l' } };
const kmsClient = new KMSClient({ ...local, endpoint: kms.endpoint, maxAttempts: 1 });
const secretsClient = new SecretsManagerClient({ ...local, endpoint: secrets.endpoint });

const material = await generateSigningMaterial({ commonName: 'bench-secret' });
const kmsKey = await createKmsSigningKey(kmsClient, {
  aliasName: 'bench',
  commonName: 'bench-kms',
  days: 30,
  description: 'bench',
});
await secrets.putSecret('bench/secret', material.secretString);
await secrets.putSecret('bench/kms', kmsKey.secretString);

const variants = await Promise.all(
  [
    { name: 'Secrets Manager key (signed in memory)', secretId: 'bench/secret', pem: material },
    { name: 'KMS-held key (kms:Sign)', secretId: 'bench/kms', pem: kmsKey },
  ].map(async (variant, index) => {
    const org = await emulator.control.createOrg({
      myDomainHost: `bench${index}.my.salesforce.com`,
    });
    const app = await emulator.control.createApp(org.id, {
      certificates: [variant.pem.certificatePem],
    });
    const user = `${index}${USER}`;
    await emulator.control.createUser(org.id, { username: user });
    await emulator.control.approve(user, app.consumerKey, ['api', 'refresh_token']);
    return {
      ...variant,
      samples: [] as number[],
      record: validateOrgRecord({
        orgId: `bench-${index}`,
        loginUrl: emulator.hostUrl('login.salesforce.com'),
        consumerKey: app.consumerKey,
        username: user,
        signingKeySecretId: variant.secretId,
      }),
    };
  }),
);

const exchange = createJwtExchange({
  signingKeys: createSecretsManagerSigningKeys({
    client: secretsClient,
    kms: createLocalAwsClient('kms', kms.endpoint, { maxAttempts: 1 }),
  }),
  tokenEndpoint: createSalesforceTokenClient({ timeoutMs: 5000 }),
  publicBaseUrl: 'https://broker.example.com/prod',
  clock: Date.now,
});

for (let round = 0; round < rounds + warmup; round += 1) {
  const order = round % 2 === 0 ? variants : [...variants].reverse();
  for (const variant of order) {
    const started = performance.now();
    const result = await exchange.run(variant.record, {
      requestId: `bench-${round}`,
      salesforceBy: Date.now() + 10_000,
    });
    const elapsed = performance.now() - started;
    if (!result.ok) throw new Error(`${variant.name}: ${result.error.category}`);
    if (round >= warmup) variant.samples.push(elapsed);
  }
}

const lines = [
  `Fresh exchange by key custody: ${rounds} interleaved rounds (+${warmup} warm-up), local KMS latency ${latencyMs} ms, emulator on loopback, node ${process.version}`,
  '',
  '| signing key | p50 ms | p99 ms | KMS Sign calls |',
  '|---|---:|---:|---:|',
];
for (const variant of variants) {
  const signs = variant.secretId === 'bench/kms' ? kms.callCount('Sign', kmsKey.keyId) : 0;
  lines.push(
    `| ${variant.name} | ${percentile(variant.samples, 50).toFixed(2)} | ${percentile(variant.samples, 99).toFixed(2)} | ${signs} |`,
  );
}
process.stdout.write(`${lines.join('\n')}\n`);

kmsClient.destroy();
secretsClient.destroy();
await Promise.all([kms.close(), secrets.close(), emulator.close()]);
