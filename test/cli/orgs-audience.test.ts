/**
 * `orgs put` refuses, at the moment of the mistake, an audience that `doctor` would fail later:
 * a sandbox login URL with the production audience, the reverse, or a My Domain as audience.
 * `--force` saves it anyway.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type LocalSecretsManager,
  startSecretsManagerServer,
} from '../../local/secrets-manager-server';
import { type LocalDynamo, startDynalite } from '../support/dynalite';
import { type CliRun, cli } from './run-cli';

const PRODUCTION = 'https://login.salesforce.com';
const SANDBOX = 'https://test.salesforce.com';

let dynamo: LocalDynamo;
let secrets: LocalSecretsManager;
let target: string[];

const run = (...args: string[]): Promise<CliRun> => cli([...args, ...target]);

function put(orgId: string, ...fields: string[]): Promise<CliRun> {
  return run(
    'orgs',
    'put',
    '--org',
    orgId,
    '--consumer-key',
    '3MVG9audienceTestKey',
    '--username',
    'integration@acme.example',
    '--signing-key-secret',
    'salesforce-token-broker/acme',
    ...fields,
  );
}

/** Exit 2, one line on stderr naming the audience that fits and --force, and nothing saved. */
async function expectRefused(result: CliRun, orgId: string, fits: string): Promise<void> {
  expect(result.code).toBe(2);
  expect(result.stdout).toBe('');
  const lines = result.stderr.split('\n').filter(Boolean);
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^error: not saved: the audience /);
  expect(lines[0]).toContain(`use --audience ${fits}`);
  expect(lines[0]).toContain('--force');
  expect((await run('orgs', 'get', '--org', orgId)).code).toBe(1);
}

beforeAll(async () => {
  [dynamo, secrets] = await Promise.all([startDynalite(), startSecretsManagerServer()]);
  target = [
    '--local',
    '--dynamodb-endpoint',
    dynamo.endpoint,
    '--secrets-endpoint',
    secrets.endpoint,
    '--table',
    await dynamo.createTable(),
  ];
});

afterAll(async () => {
  await Promise.all([dynamo?.close(), secrets?.close()]);
});

describe('orgs put with an audience that does not fit the login URL', () => {
  it.each([
    [
      'test.salesforce.com with the production audience',
      [SANDBOX, '--audience', PRODUCTION],
      SANDBOX,
    ],
    [
      'a sandbox My Domain declared production',
      ['https://acme--uat.sandbox.my.salesforce.com', '--environment', 'production'],
      SANDBOX,
    ],
    [
      'login.salesforce.com with the sandbox audience',
      [PRODUCTION, '--audience', SANDBOX],
      PRODUCTION,
    ],
    [
      'a My Domain as the audience',
      ['https://acme.my.salesforce.com', '--audience', 'https://acme.my.salesforce.com'],
      PRODUCTION,
    ],
  ])('refuses %s, naming the fix', async (_name, [loginUrl, ...rest], fits) => {
    await expectRefused(
      await put('mismatch', '--login-url', loginUrl as string, ...rest),
      'mismatch',
      fits,
    );
  });

  it('accepts the derived audiences without a word', async () => {
    for (const [orgId, loginUrl] of [
      ['prod', PRODUCTION],
      ['sandbox', SANDBOX],
      ['uat', 'https://acme--uat.sandbox.my.salesforce.com'],
    ] as const) {
      const result = await put(orgId, '--login-url', loginUrl);
      expect(result).toMatchObject({ code: 0, stderr: '' });
    }
  });

  it('saves it with --force, and doctor then fails the audience check', async () => {
    const forced = await put(
      'forced',
      '--login-url',
      SANDBOX,
      '--audience',
      PRODUCTION,
      '--force',
      '--json',
    );
    expect(forced.code).toBe(0);
    expect(forced.json()).toMatchObject({ loginUrl: SANDBOX, audience: PRODUCTION });
    const doctor = await run('doctor', '--org', 'forced', '--skip-exchange');
    expect(doctor.stdout).toMatch(/FAIL {2}audience .*sandbox host but the audience is/);
  });

  it('judges only what an --update sets', async () => {
    const ttl = await run('orgs', 'put', '--org', 'forced', '--update', '--token-ttl', '900');
    expect(ttl.code).toBe(0);
    const audience = await run(
      'orgs',
      'put',
      '--org',
      'forced',
      '--update',
      '--audience',
      PRODUCTION,
    );
    expect(audience.code).toBe(2);
    expect(audience.stderr).toContain(`use --audience ${SANDBOX}`);
    const fixed = await run('orgs', 'put', '--org', 'forced', '--update', '--audience', SANDBOX);
    expect(fixed.code).toBe(0);
  });
});
