/**
 * Every CLI command against real local endpoints: DynamoDB (dynalite), the local Secrets Manager
 * endpoint and the Salesforce emulator, through the real AWS SDK clients. Onboards an org the way
 * an operator would (keys create, upload the certificate, orgs put), then approves and diagnoses.
 */
import { X509Certificate } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningEmulator, startEmulator } from '../../emulator/server';
import { type LocalKms, startKmsServer } from '../../local/kms-server';
import {
  type LocalSecretsManager,
  startSecretsManagerServer,
} from '../../local/secrets-manager-server';
import { type LocalDynamo, startDynalite } from '../support/dynalite';
import { signingMaterial } from '../support/keys';
import { findSecrets } from '../support/logs';
import { type CliRun, cli } from './run-cli';

const USER = 'integration@acme.example';
const BASE_URL = 'https://broker.example.com/prod';
const CALLER = 'arn:aws:iam::123456789012:role/Fulfilment';

let dynamo: LocalDynamo;
let secrets: LocalSecretsManager;
let emulator: RunningEmulator;
let kms: LocalKms;
let target: string[];
let consumerKey: string;
let loginUrl: string;
let certificatePem: string;
const transcript: string[] = [];

async function run(...args: string[]): Promise<CliRun> {
  const result = await cli([...args, ...target]);
  transcript.push(result.stdout, result.stderr);
  return result;
}

beforeAll(async () => {
  [dynamo, secrets, emulator, kms] = await Promise.all([
    startDynalite(),
    startSecretsManagerServer(),
    startEmulator(),
    startKmsServer(),
  ]);
  const table = await dynamo.createTable();
  const approvalLinkKey = await kms.createKey({ spec: 'HMAC_256' });
  target = [
    '--local',
    '--dynamodb-endpoint',
    dynamo.endpoint,
    '--secrets-endpoint',
    secrets.endpoint,
    '--table',
    table,
    '--kms-endpoint',
    kms.endpoint,
    '--approval-link-key',
    approvalLinkKey.arn,
    '--public-base-url',
    BASE_URL,
  ];
});

afterAll(async () => {
  await Promise.all([dynamo?.close(), secrets?.close(), emulator?.close(), kms?.close()]);
});

describe('keys create', () => {
  it('stores key and certificate in the signing key secret format and prints only the certificate', async () => {
    // Named under the stack's default prefix, which the deployed functions may read.
    const result = await run(
      'keys',
      'create',
      '--org',
      'acme',
      '--days',
      '400',
      '--secrets-kms-key',
      'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab',
      '--reader-role',
      'arn:aws:iam::123456789012:role/TokenBroker-TokenFunctionRole',
    );
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^Created secret salesforce-token-broker\/acme /);
    expect(result.stderr).toBe('');
    certificatePem = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n/.exec(
      result.stdout,
    )?.[0] as string;
    const certificate = new X509Certificate(certificatePem);
    const fingerprint = certificate.fingerprint256.replaceAll(':', '').toLowerCase();
    expect(result.stdout).toContain(fingerprint);
    expect(result.stdout).toContain(new Date(certificate.validTo).toISOString());
    expect(certificate.publicKey.asymmetricKeyDetails?.modulusLength).toBe(2048);
    const daysValid = (Date.parse(certificate.validTo) - Date.now()) / 86_400_000;
    expect(Math.round(daysValid)).toBe(400);
    expect(findSecrets(result.stdout + result.stderr)).toEqual([]);
  });

  it('refuses to replace an existing secret without --overwrite, and rotates with it', async () => {
    const refused = await run('keys', 'create', '--secret', 'token-broker/other');
    expect(refused.code).toBe(0);
    expect(refused.stderr).toMatch(
      /^warning: secret token-broker\/other is outside salesforce-token-broker\/: the deployed functions may read only secrets under it/,
    );
    const again = await run('keys', 'create', '--secret', 'token-broker/other');
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/already exists.*--overwrite/);
    const rotated = await run(
      'keys',
      'create',
      '--secret',
      'token-broker/other',
      '--overwrite',
      '--json',
    );
    expect(rotated.code).toBe(0);
    const body = rotated.json<{ created: boolean; versionId: string; certificatePem: string }>();
    expect(body.created).toBe(false);
    expect(body.versionId).toBeTruthy();
    expect(body.certificatePem).toContain('BEGIN CERTIFICATE');
    expect(JSON.stringify(body)).not.toMatch(/PRIVATE KEY/);
  });

  it('names the secret under the prefix by default, and takes another prefix', async () => {
    const plain = await run('keys', 'create', '--json');
    expect(plain.code).toBe(0);
    expect(plain.json()).toMatchObject({ secretId: 'salesforce-token-broker/signing-key' });
    const other = await run('keys', 'create', '--org', 'acme', '--secret-prefix', 'brokers/x/');
    expect(other.code).toBe(0);
    expect(other.stdout).toMatch(/^Created secret brokers\/x\/acme /);
    expect(other.stderr).toBe('');
    for (const args of [
      ['--org', 'acme', '--secret', 'x/acme'],
      ['--org', 'Not An Org'],
      ['--secret-prefix', 'no-slash'],
    ]) {
      const refused = await run('keys', 'create', ...args);
      expect(refused.code, args.join(' ')).toBe(2);
      expect(refused.stderr).toMatch(/^error: /);
    }
  });
});

describe('orgs', () => {
  beforeAll(async () => {
    const org = await emulator.control.createOrg({ myDomainHost: 'acme.my.salesforce.com' });
    const app = await emulator.control.createApp(org.id, {
      certificates: [certificatePem],
      callbackUrls: [`${BASE_URL}/oauth/callback`],
    });
    await emulator.control.createUser(org.id, { username: USER });
    consumerKey = app.consumerKey;
    loginUrl = emulator.hostUrl('acme.my.salesforce.com');
  });

  it('puts a record from flags with the defaults applied, and gets it back', async () => {
    const put = await run(
      'orgs',
      'put',
      '--org',
      'acme',
      '--login-url',
      loginUrl,
      '--consumer-key',
      consumerKey,
      '--username',
      USER,
      '--signing-key-secret',
      'salesforce-token-broker/acme',
      '--caller',
      CALLER,
    );
    expect(put.code).toBe(0);
    expect(put.stdout).toContain('Saved org acme.');
    expect(put.stdout).toMatch(/audience\s+https:\/\/login\.salesforce\.com/);
    const got = await run('orgs', 'get', '--org', 'acme', '--json');
    expect(got.code).toBe(0);
    expect(got.json()).toEqual({
      orgId: 'acme',
      loginUrl,
      environment: 'production',
      audience: 'https://login.salesforce.com',
      consumerKey,
      username: USER,
      grant: 'jwt_bearer',
      signingKeySecretId: 'salesforce-token-broker/acme',
      tokenTtlSeconds: 1800,
      callers: [CALLER],
    });
  });

  it('puts from a JSON file, updates one field, lists and deletes', async () => {
    const folder = await mkdtemp(join(tmpdir(), 'cli-'));
    const file = join(folder, 'org.json');
    await writeFile(
      file,
      JSON.stringify({
        loginUrl: 'https://test.salesforce.com',
        consumerKey: '3MVG9sandboxKey',
        username: 'int@beta.example.sandbox',
        signingKeySecretId: 'token-broker/beta',
      }),
    );
    expect((await run('orgs', 'put', '--org', 'beta', '--file', file)).code).toBe(0);
    const updated = await run(
      'orgs',
      'put',
      '--org',
      'beta',
      '--update',
      '--token-ttl',
      '900',
      '--json',
    );
    expect(updated.json()).toMatchObject({
      environment: 'sandbox',
      audience: 'https://test.salesforce.com',
      tokenTtlSeconds: 900,
    });
    const list = await run('orgs', 'list');
    expect(list.stdout.split('\n')[0]).toMatch(/^ORG\s+ENVIRONMENT\s+USERNAME/);
    expect(list.stdout).toMatch(/acme\s+production/);
    expect(list.stdout).toMatch(/beta\s+sandbox/);
    const listed = await run('orgs', 'list', '--json');
    expect(listed.json<{ orgId: string }[]>().map((org) => org.orgId)).toEqual(['acme', 'beta']);
    expect((await run('orgs', 'delete', '--org', 'beta')).stdout).toBe('Deleted org beta.\n');
    const again = await run('orgs', 'delete', '--org', 'beta');
    expect(again.code).toBe(1);
    expect(again.stderr).toBe('error: No org beta is registered; nothing deleted\n');
  });

  it('rejects an invalid record with every problem named, exit code 2', async () => {
    const result = await run(
      'orgs',
      'put',
      '--org',
      'bad',
      '--login-url',
      'http://login.salesforce.com',
      '--consumer-key',
      'k',
      '--username',
      'nobody',
      '--signing-key-secret',
      's',
      '--caller',
      'not-an-arn',
    );
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('loginUrl must use https');
    expect(result.stderr).toContain('username must be a Salesforce username');
    expect(result.stderr).toContain('"not-an-arn" is not an IAM role or user ARN');
    expect(result.stderr.split('\n').filter(Boolean)).toHaveLength(1);
    expect((await run('orgs', 'get', '--org', 'bad')).code).toBe(1);
  });

  it('says which option is missing or unknown, exit code 2', async () => {
    expect(await run('orgs', 'get')).toMatchObject({
      code: 2,
      stderr: 'error: --org is required\n',
    });
    const unknown = await run('orgs', 'list', '--colour');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/^error: Unknown option '--colour'/);
    expect((await run('orgs', 'rename')).code).toBe(2);
  });
});

describe('approval-url, verify and doctor', () => {
  it('prints the broker approval link, the callback to register and the raw authorize URL', async () => {
    const result = await run('approval-url', '--org', 'acme', '--json');
    expect(result.code).toBe(0);
    const redirect = `${BASE_URL}/oauth/callback`;
    const approvalLink = result.json().approvalLink as string;
    const exp = Number(new URL(approvalLink).searchParams.get('exp'));
    expect(exp * 1000 - Date.now()).toBeGreaterThan(7 * 86_400_000 - 5000);
    expect(result.json()).toEqual({
      orgId: 'acme',
      username: USER,
      approvalLink: expect.stringMatching(
        /^https:\/\/broker\.example\.com\/prod\/oauth\/authorize\?org=acme&exp=\d+&sig=[\w-]{43}$/,
      ),
      expiresAt: new Date(exp * 1000).toISOString(),
      redirectUri: redirect,
      salesforceAuthorizeUrl: `${loginUrl}/services/oauth2/authorize?client_id=${encodeURIComponent(consumerKey)}&redirect_uri=${encodeURIComponent(redirect)}&response_type=code`,
    });
    const text = await run('approval-url', '--org', 'acme');
    expect(text.stdout).toContain(`sign in as ${USER}`);
    const noBase = await cli(['approval-url', '--org', 'acme', ...target.slice(0, -2)]);
    expect(noBase.code).toBe(2);
    expect(noBase.stderr).toContain('--public-base-url');
    const keyless = target.filter((_, index) => index < 9 || index > 10);
    const noKey = await cli(['approval-url', '--org', 'acme', ...keyless]);
    expect(noKey.code).toBe(2);
    expect(noKey.stderr).toContain('--approval-link-key');
    const day = await run('approval-url', '--org', 'acme', '--valid-for', '86400', '--json');
    expect(Number(new URL(day.json().approvalLink as string).searchParams.get('exp'))).toBe(
      Math.floor(Date.now() / 1000) + 86_400,
    );
  });

  it('verify fails with the category and remediation until the user approves, then succeeds', async () => {
    const failed = await run('verify', '--org', 'acme');
    expect(failed.code).toBe(1);
    expect(failed.stdout).toContain('FAIL  org acme: consumer_not_approved');
    expect(failed.stdout).toContain(
      "Salesforce answered: HTTP 400 invalid_grant: user hasn't approved this consumer",
    );
    expect(failed.stdout).toContain(
      `Broker approval link: ${BASE_URL}/oauth/authorize?org=acme&exp=`,
    );
    const json = await run('verify', '--org', 'acme', '--json');
    expect(json.code).toBe(1);
    expect(json.json()).toMatchObject({
      ok: false,
      category: 'consumer_not_approved',
      retryable: false,
    });

    const doctor = await run('doctor', '--org', 'acme', '--json');
    expect(doctor.code).toBe(1);
    const verdicts = Object.fromEntries(
      doctor
        .json<{ checks: { check: string; verdict: string }[] }>()
        .checks.map((c) => [c.check, c.verdict]),
    );
    expect(verdicts).toEqual({
      audience: 'pass',
      'grant-host': 'pass',
      'secret-custody': 'pass',
      'secret-prefix': 'pass',
      'signing-key': 'pass',
      'certificate-key': 'pass',
      'certificate-expiry': 'pass',
      'consumer-key': 'pass',
      'redirect-uri': 'pass',
      exchange: 'fail',
      'login-budget': 'pass',
    });

    await emulator.control.approve(USER, consumerKey, ['api', 'refresh_token']);
    const ok = await run('verify', '--org', 'acme');
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(
      /^OK {2}org acme: JWT exchange as integration@acme\.example succeeded/,
    );
    const tokens = await emulator.control.loginHistory({ username: USER, status: 'Success' });
    expect(tokens.length).toBeGreaterThan(0);
  });

  it('doctor prints one verdict per check and exits 0 when all pass', async () => {
    const result = await run(
      'doctor',
      '--org',
      'acme',
      '--registered-callback',
      `${BASE_URL}/oauth/callback`,
    );
    expect(result.code, result.stdout + result.stderr).toBe(0);
    const lines = result.stdout.split('\n').filter((line) => /^(PASS|WARN|FAIL|SKIP) /.test(line));
    expect(lines.map((line) => line.split(/\s+/).slice(0, 2).join(' '))).toEqual([
      'PASS audience',
      'PASS grant-host',
      'PASS secret-prefix',
      'PASS signing-key',
      'PASS secret-custody',
      'PASS certificate-key',
      'PASS certificate-expiry',
      'PASS consumer-key',
      'PASS redirect-uri',
      'PASS exchange',
      'PASS identity-host',
      'PASS login-budget',
    ]);
    expect(result.stdout).toMatch(/OK: 0 failed, 0 warnings\n$/);
  });

  it('doctor flags a trailing-slash callback, a My Domain audience and a certificate of another key', async () => {
    const other = await signingMaterial('cli-other');
    const mine = await signingMaterial('cli-mine');
    await secrets.putSecret(
      'token-broker/mismatched',
      JSON.stringify({ privateKey: mine.privateKeyPem, certificate: other.certificatePem }),
    );
    await run(
      'orgs',
      'put',
      '--org',
      'broken',
      '--login-url',
      loginUrl,
      '--consumer-key',
      consumerKey,
      '--username',
      USER,
      '--signing-key-secret',
      'token-broker/mismatched',
      '--audience',
      'https://acme.my.salesforce.com',
      // orgs put refuses this audience; doctor must still catch a record saved around that.
      '--force',
    );
    const result = await run(
      'doctor',
      '--org',
      'broken',
      '--registered-callback',
      `${BASE_URL}/oauth/callback/`,
    );
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/FAIL {2}audience .*My Domain/);
    expect(result.stdout).toMatch(
      /WARN {2}secret-prefix +signingKeySecretId token-broker\/mismatched is outside salesforce-token-broker\/, which only the token function reads/,
    );
    expect(result.stdout).toMatch(/FAIL {2}certificate-key .*does NOT match/);
    expect(result.stdout).toMatch(/FAIL {2}redirect-uri .*trailing slash/);
    // The emulator, like Salesforce, checks the signature before the audience.
    expect(result.stdout).toMatch(/FAIL {2}exchange .*invalid_assertion/);
    const skipped = await run('doctor', '--org', 'broken', '--skip-exchange', '--json');
    expect(
      skipped
        .json<{ checks: { check: string; verdict: string }[] }>()
        .checks.find((check) => check.check === 'exchange'),
    ).toMatchObject({
      check: 'exchange',
      verdict: 'skip',
    });
    const prefixed = await run(
      'doctor',
      '--org',
      'broken',
      '--skip-exchange',
      '--secret-prefix',
      'token-broker/',
      '--json',
    );
    expect(
      prefixed.json<{ checks: { check: string; verdict: string }[] }>().checks[2],
    ).toMatchObject({ check: 'secret-prefix', verdict: 'pass' });
  });

  it('doctor and verify fail cleanly for an unknown org or an unreadable key', async () => {
    expect(await run('verify', '--org', 'nope')).toMatchObject({
      code: 1,
      stderr: 'error: No org nope is registered (see token-broker orgs list)\n',
    });
    await run(
      'orgs',
      'put',
      '--org',
      'keyless',
      '--login-url',
      loginUrl,
      '--consumer-key',
      consumerKey,
      '--username',
      USER,
      '--signing-key-secret',
      'token-broker/missing',
    );
    const doctor = await run('doctor', '--org', 'keyless');
    expect(doctor.code).toBe(1);
    expect(doctor.stdout).toMatch(
      /FAIL {2}signing-key .*token-broker\/missing could not be read \(ResourceNotFoundException\)/,
    );
    expect(doctor.stdout).toMatch(/SKIP {2}exchange/);
    const verify = await run('verify', '--org', 'keyless', '--json');
    expect(verify.json()).toMatchObject({ ok: false, category: 'signing_key_unavailable' });
  });
});

describe('help and errors', () => {
  it.each([
    'orgs',
    'orgs put',
    'orgs get',
    'orgs list',
    'orgs delete',
    'keys',
    'keys create',
    'approval-url',
    'verify',
    'doctor',
  ])('%s --help prints usage and exits 0', async (command) => {
    const result = await cli([...command.split(' '), '--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^Usage: token-broker /);
    expect(result.stdout).toContain('--local');
  });

  it('top-level help, unknown command, and a missing local stack', async () => {
    expect((await cli(['--help'])).code).toBe(0);
    expect((await cli([])).code).toBe(2);
    expect(await cli(['frobnicate'])).toMatchObject({
      code: 2,
      stderr: expect.stringContaining('unknown command'),
    });
    const folder = await mkdtemp(join(tmpdir(), 'cli-nostack-'));
    const missing = await cli(['orgs', 'list', '--local'], folder);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('No local stack found');
    expect(missing.stderr).toContain('npm start');
  });

  it('an unreachable endpoint is one line, no stack trace', async () => {
    // A loopback port nobody listens on (fetch refuses the discard port 9 before connecting).
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', () => resolve()));
    const { port } = probe.address() as AddressInfo;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const closed = `http://127.0.0.1:${port}`;
    const result = await cli([
      'orgs',
      'list',
      '--local',
      '--dynamodb-endpoint',
      closed,
      '--secrets-endpoint',
      closed,
      '--table',
      't',
    ]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^error: .*ECONNREFUSED/);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it('never printed a private key or an assertion in the whole session', () => {
    expect(findSecrets(transcript.join('\n'))).toEqual([]);
  });
});
