/**
 * The broker as a fleet: eight separate Node processes, each running the token function's bundle
 * exactly as the stack builds it and serving one request at a time (Lambda's execution
 * environments), over one dynalite table, the local KMS and Secrets Manager endpoints and the
 * Salesforce emulator. What must hold across environments is checked here, not in one process.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildFunctionBundle } from '../../bench/bundling';
import { type BenchWorld, CALLER_ARN, startWorld } from '../../bench/world';
import { sharedTokenKey } from '../../lambda/adapters/table-schema';
import { buildRestEvent } from '../../local/rest-event';
import { type Fleet, type FleetAnswer, startFleet } from './fleet';

const PROJECT_ROOT = new URL('../../', import.meta.url).pathname;
const ENVIRONMENTS = 8;

let world: BenchWorld;
let fleet: Fleet;
let bundleDir: string;
let documents: DynamoDBDocumentClient;

beforeAll(async () => {
  bundleDir = await mkdtemp(join(tmpdir(), 'token-broker-fleet-'));
  const [started, bundle] = await Promise.all([
    startWorld({ orgCount: 4 }),
    buildFunctionBundle('token', PROJECT_ROOT, bundleDir),
  ]);
  world = started;
  const env = world.functionEnv;
  documents = DynamoDBDocumentClient.from(
    new DynamoDBClient({
      endpoint: env.AWS_ENDPOINT_URL_DYNAMODB,
      region: env.AWS_REGION,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    }),
  );
  fleet = await startFleet({
    count: ENVIRONMENTS,
    bundle: bundle.file,
    env: { ...env, MIN_TOKEN_AGE_SECONDS: '30', FAILURE_MEMORY_SECONDS: '60' },
    event: buildRestEvent({
      method: 'POST',
      path: '/orgs/bench-0/token',
      resource: '/orgs/{orgId}/token',
      pathParameters: { orgId: 'bench-0' },
      callerArn: CALLER_ARN,
    }),
  });
}, 120_000);

afterAll(async () => {
  await fleet?.close();
  await world?.close();
  await rm(bundleDir, { recursive: true, force: true });
});

const usernameOf = (orgId: string) => world.orgs.find((org) => org.orgId === orgId)?.username ?? '';

/** Every environment gets `perEnvironment` requests at once (each serves them one by one). */
function burst(
  request: Parameters<Fleet['environments'][number]['request']>[0],
  perEnvironment: number,
) {
  return Promise.all(
    fleet.environments.flatMap((environment) =>
      Array.from({ length: perEnvironment }, () => environment.request(request)),
    ),
  );
}

const tokensOf = (answers: readonly FleetAnswer[]) =>
  new Set(answers.map(({ body }) => body.access_token));

async function loginsOf(orgId: string): Promise<number> {
  return (await world.emulator.control.loginHistory({ username: usernameOf(orgId) })).length;
}

async function sharedItem(orgId: string): Promise<Record<string, unknown> | undefined> {
  const { Item } = await documents.send(
    new GetCommand({
      TableName: world.functionEnv.TABLE_NAME,
      Key: sharedTokenKey(orgId),
      ConsistentRead: true,
    }),
  );
  return Item;
}

describe(`a fleet of ${ENVIRONMENTS} token function environments`, () => {
  it('a cold burst makes exactly one Salesforce login and serves that one token to all', async () => {
    const answers = await burst({ orgId: 'bench-0' }, 3);
    expect(answers.map(({ statusCode }) => statusCode)).toEqual(Array(ENVIRONMENTS * 3).fill(200));
    expect(tokensOf(answers).size).toBe(1);
    expect(await world.exchanges(usernameOf('bench-0'))).toBe(1);
    // The table holds it sealed: no plaintext token in the raw item.
    const raw = JSON.stringify(await sharedItem('bench-0'));
    expect(raw).not.toContain(String(answers[0]?.body.access_token));
    expect(raw).toMatch(/"tokenSealed":"e1\./);
    // Which key signed it: the certificate's fingerprint, never the key.
    expect(raw).toMatch(/"tokenKeyFingerprint":"[0-9a-f]{64}"/);
  });

  it('a forceRefresh storm inside the minimum token age makes no login', async () => {
    const before = await world.exchanges(usernameOf('bench-0'));
    const answers = await burst({ orgId: 'bench-0', forceRefresh: true }, 2);
    expect(answers.every(({ statusCode }) => statusCode === 200)).toBe(true);
    expect(tokensOf(answers).size).toBe(1);
    expect(await world.exchanges(usernameOf('bench-0'))).toBe(before);
  });

  it('a lease holder killed mid-exchange is taken over when its lease expires; one token in use', async () => {
    const control = world.emulator.control;
    await control.addFault({ host: 'login.salesforce.com', kind: 'latency', latencyMs: 1500 });
    const [holder, ...others] = fleet.environments;
    if (!holder) throw new Error('no environment');
    // A short invocation, so its lease (its answer's due time + 1 s) ends within the test.
    void holder.request({ orgId: 'bench-1', timeoutMs: 2000 });
    const leased = Date.now();
    while (!(await sharedItem('bench-1'))?.leaseOwner) {
      if (Date.now() - leased > 5000) throw new Error('no lease taken');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    holder.kill();
    await control.clearFaults();
    const answers = await Promise.all(
      others.map((environment) => environment.request({ orgId: 'bench-1', timeoutMs: 10_000 })),
    );
    expect(answers.map(({ statusCode }) => statusCode)).toEqual(Array(others.length).fill(200));
    expect(tokensOf(answers).size).toBe(1);
    // The killed holder's login may have reached Salesforce; its token was never stored or served.
    expect(await world.exchanges(usernameOf('bench-1'))).toBeLessThanOrEqual(2);
    const item = await sharedItem('bench-1');
    expect(item?.leaseOwner).toBeUndefined();
    expect(Number(item?.version)).toBeGreaterThanOrEqual(2);
  }, 30_000);

  it('consumer_not_approved under the fleet: one login per failure-memory window, one incident', async () => {
    const survivors = fleet.environments.slice(1);
    await world.emulator.control.revokeApprovals({ username: usernameOf('bench-2') });
    const answers = await Promise.all(
      survivors.map(async (environment) => {
        const served: FleetAnswer[] = [];
        for (let i = 0; i < 50; i += 1)
          served.push(await environment.request({ orgId: 'bench-2' }));
        return served;
      }),
    );
    const all = answers.flat();
    expect(all.every(({ body }) => body.error === 'consumer_not_approved')).toBe(true);
    expect(all.filter(({ body }) => body.remembered !== true)).toHaveLength(1);
    expect(await loginsOf('bench-2')).toBe(1);
    const incidents = world
      .events()
      .filter((event) => event.subject === 'orgs/bench-2' && event.type.includes('incident'));
    expect(incidents.map((event) => event.type)).toEqual(['token_broker.incident.opened']);
  }, 60_000);
});
