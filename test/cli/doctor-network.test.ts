/**
 * `doctor` and `verify` when the login host cannot be reached: they name the network cause
 * (ENOTFOUND, ECONNREFUSED) and point at the login URL, while a Salesforce outage (5xx) keeps the
 * advice to wait. The unresolvable host is under `.invalid` (RFC 6761), the refused one a closed
 * loopback port; the outage comes from the emulator.
 */
import { lookup } from 'node:dns/promises';
import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningEmulator, startEmulator } from '../../emulator/server';
import {
  type LocalSecretsManager,
  startSecretsManagerServer,
} from '../../local/secrets-manager-server';
import { type LocalDynamo, startDynalite } from '../support/dynalite';
import { type CliRun, cli } from './run-cli';

const USER = 'integration@net.example';
const UNRESOLVABLE = 'login.broker-test.invalid';
const OUTAGE_HOST = 'outage.my.salesforce.com';

let dynamo: LocalDynamo;
let secrets: LocalSecretsManager;
let emulator: RunningEmulator;
let target: string[];
let closedPort: number;

const run = (...args: string[]): Promise<CliRun> => cli([...args, ...target]);

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function putOrg(orgId: string, loginUrl: string, consumerKey = '3MVG9netTestConsumerKey') {
  const put = await run(
    'orgs',
    'put',
    '--org',
    orgId,
    '--login-url',
    loginUrl,
    '--consumer-key',
    consumerKey,
    '--username',
    USER,
    '--signing-key-secret',
    'salesforce-token-broker/net',
  );
  expect(put.code).toBe(0);
}

beforeAll(async () => {
  [dynamo, secrets, emulator] = await Promise.all([
    startDynalite(),
    startSecretsManagerServer(),
    startEmulator(),
  ]);
  target = [
    '--local',
    '--dynamodb-endpoint',
    dynamo.endpoint,
    '--secrets-endpoint',
    secrets.endpoint,
    '--table',
    await dynamo.createTable(),
    '--public-base-url',
    'https://broker.example.com/prod',
  ];
  const keys = await run('keys', 'create', '--org', 'net');
  expect(keys.code).toBe(0);
  const certificate = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n/.exec(
    keys.stdout,
  )?.[0] as string;

  closedPort = await freePort();
  await putOrg('dns', `https://${UNRESOLVABLE}`);
  await putOrg('refused', `http://127.0.0.1:${closedPort}`);

  const org = await emulator.control.createOrg({ myDomainHost: OUTAGE_HOST });
  const app = await emulator.control.createApp(org.id, { certificates: [certificate] });
  await emulator.control.createUser(org.id, { username: USER });
  await emulator.control.addFault({ host: OUTAGE_HOST, kind: 'unknown_error', status: 503 });
  await putOrg('outage', emulator.hostUrl(OUTAGE_HOST), app.consumerKey);
});

afterAll(async () => {
  await Promise.all([dynamo?.close(), secrets?.close(), emulator?.close()]);
});

describe('a login host that does not resolve', () => {
  it('fails locally and at once (.invalid), so the test never waits on real DNS', async () => {
    const started = Date.now();
    await expect(lookup(UNRESOLVABLE)).rejects.toMatchObject({ code: 'ENOTFOUND' });
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('doctor names ENOTFOUND and the login URL fix, not "wait"', async () => {
    const doctor = await run('doctor', '--org', 'dns', '--timeout', '2');
    expect(doctor.code).toBe(1);
    expect(doctor.stdout).toContain(
      `FAIL  exchange            salesforce_unavailable: The login host ${UNRESOLVABLE} does not resolve (ENOTFOUND)`,
    );
    expect(doctor.stdout).toContain(
      'token-broker orgs put --org dns --update --login-url URL, then token-broker verify --org dns',
    );
    expect(doctor.stdout).not.toContain('Retry after');
  });

  it('verify says the same as doctor', async () => {
    const verify = await run('verify', '--org', 'dns', '--timeout', '2');
    expect(verify.code).toBe(1);
    expect(verify.stdout).toContain('FAIL  org dns: salesforce_unavailable');
    expect(verify.stdout).toContain(
      'Salesforce answered: no response: connection failed: ENOTFOUND',
    );
    expect(verify.stdout).toContain(`The login host ${UNRESOLVABLE} does not resolve (ENOTFOUND)`);
    const json = (await run('verify', '--org', 'dns', '--timeout', '2', '--json')).json();
    expect(json).toMatchObject({
      category: 'salesforce_unavailable',
      salesforce: { status: 0, error_description: 'connection failed: ENOTFOUND' },
      remediation: { summary: expect.stringContaining('(ENOTFOUND)') },
    });
  });
});

describe('a login URL where nothing listens', () => {
  it('doctor names ECONNREFUSED and the login URL fix', async () => {
    const doctor = await run('doctor', '--org', 'refused', '--timeout', '2', '--json');
    expect(doctor.code).toBe(1);
    const report = doctor.json<{
      checks: { check: string; verdict: string; detail: string }[];
      exchange: { remediation: { summary: string; steps: string[] } };
    }>();
    expect(report.checks.find((check) => check.check === 'exchange')).toEqual({
      check: 'exchange',
      verdict: 'fail',
      detail: expect.stringContaining(
        `salesforce_unavailable: Nothing accepts connections at 127.0.0.1:${closedPort} (ECONNREFUSED)`,
      ),
    });
    expect(report.exchange.remediation.steps[0]).toContain('orgs put --org refused --update');
  });
});

describe('a Salesforce outage (503)', () => {
  it('doctor keeps the advice to wait and retry, not to change the login URL', async () => {
    const doctor = await run('doctor', '--org', 'outage', '--timeout', '2');
    expect(doctor.code).toBe(1);
    expect(doctor.stdout).toContain('FAIL  exchange            salesforce_unavailable:');
    expect(doctor.stdout).toContain('Salesforce did not answer usefully');
    expect(doctor.stdout).toContain('Retry after the Retry-After delay');
    expect(doctor.stdout).not.toContain('--update --login-url');
  });
});
