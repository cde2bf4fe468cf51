/**
 * External Client Apps end to end, through the operator CLI and the Salesforce emulator over real
 * HTTP: `apps scaffold` writes the org's app, the emulator deploys it from those files, the
 * integration user gets the permission set, and the broker's own exchange gets a JWT token with no
 * approval step; then the org switches to the client credentials grant and gets a token that way.
 * A sandbox refresh then breaks it the way Salesforce does, with the remediation saying so. No
 * consumer secret, token or key appears in anything printed.
 */
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningEmulator, startEmulator } from '../../emulator/server';
import {
  type LocalSecretsManager,
  startSecretsManagerServer,
} from '../../local/secrets-manager-server';
import { type CliRun, cli } from '../cli/run-cli';
import { type LocalDynamo, startDynalite } from '../support/dynalite';
import { findSecrets } from '../support/logs';

const USER = 'integration@acme-uat.example';
const BASE_URL = 'https://broker.example.com/prod';
const MY_DOMAIN = 'acme--uat.sandbox.my.salesforce.com';

let dynamo: LocalDynamo;
let secrets: LocalSecretsManager;
let emulator: RunningEmulator;
let target: string[];
let orgId: string;
let projectDir: string;
let consumerSecret: string;
const transcript: string[] = [];

async function run(...args: string[]): Promise<CliRun> {
  const result = await cli([...args, ...target]);
  transcript.push(result.stdout, result.stderr);
  return result;
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
    BASE_URL,
  ];
  const org = await emulator.control.createOrg({ environment: 'sandbox', myDomainHost: MY_DOMAIN });
  orgId = org.id;
  await emulator.control.createUser(org.id, { username: USER });
  projectDir = join(await mkdtemp(join(tmpdir(), 'eca-e2e-')), 'project');
});

afterAll(async () => {
  await Promise.all([dynamo?.close(), secrets?.close(), emulator?.close()]);
});

describe('an External Client App from apps scaffold', () => {
  it('scaffolds, deploys, and gets a JWT token with no approval step (pre-authorized)', async () => {
    expect((await run('keys', 'create', '--org', 'acme-uat')).code).toBe(0);
    const put = await run(
      'orgs',
      'put',
      '--org',
      'acme-uat',
      '--login-url',
      emulator.hostUrl('test.salesforce.com'),
      '--consumer-key',
      'pending',
      '--username',
      USER,
      '--signing-key-secret',
      'salesforce-token-broker/acme-uat',
    );
    expect(put.code, put.stderr).toBe(0);

    const scaffold = await run(
      'apps',
      'scaffold',
      '--org',
      'acme-uat',
      '--out',
      projectDir,
      '--client-credentials',
      '--sf-target-org',
      'acme-uat-admin',
    );
    expect(scaffold.code, scaffold.stderr).toBe(0);
    expect(scaffold.stdout).toContain(
      'sf project deploy start --source-dir force-app --target-org acme-uat-admin',
    );
    expect(scaffold.stdout).toContain(
      `sf org assign permset --name Token_Broker_acme_uat_Users --on-behalf-of ${USER} --target-org acme-uat-admin`,
    );
    const global = await readFile(
      join(
        projectDir,
        'force-app/main/default/extlClntAppGlobalOauthSets/Token_Broker_acme_uat_glbloauth.ecaGlblOauth-meta.xml',
      ),
      'utf8',
    );
    expect(global).toContain(`<callbackUrl>${BASE_URL}/oauth/callback</callbackUrl>`);
    expect(global).toContain('-----BEGIN CERTIFICATE-----');

    // `sf project deploy start`, then `sf org assign permset`, against the emulated sandbox.
    const app = await emulator.control.deployAppProject(orgId, projectDir);
    expect(app).toMatchObject({
      kind: 'external_client_app',
      installed: true,
      permittedUsers: 'admin_approved',
      permissionSets: ['Token_Broker_acme_uat_Users'],
      callbackUrls: [`${BASE_URL}/oauth/callback`],
      clientCredentialsEnabled: true,
      clientCredentialsUser: USER,
    });
    consumerSecret = app.consumerSecret;
    await emulator.control.updateUser(USER, { permissionSets: ['Token_Broker_acme_uat_Users'] });
    expect(
      (await run('orgs', 'put', '--org', 'acme-uat', '--update', '--consumer-key', app.consumerKey))
        .code,
    ).toBe(0);

    const verify = await run('verify', '--org', 'acme-uat', '--via', 'direct');
    expect(verify.stdout, verify.stderr).toMatch(/^OK {2}org acme-uat: JWT exchange as /);
    expect(await emulator.control.approvals({ username: USER })).toEqual([]);
  });

  it('then gets a token with the client credentials grant, on the My Domain only', async () => {
    await secrets.putSecret(
      'salesforce-token-broker/acme-uat-consumer',
      JSON.stringify({ consumerSecret }),
    );
    const refused = await run(
      'orgs',
      'put',
      '--org',
      'acme-uat',
      '--update',
      '--grant',
      'client_credentials',
      '--consumer-secret-id',
      'salesforce-token-broker/acme-uat-consumer',
    );
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('the client credentials grant works only on the org');

    const put = await run(
      'orgs',
      'put',
      '--org',
      'acme-uat',
      '--update',
      '--grant',
      'client_credentials',
      '--consumer-secret-id',
      'salesforce-token-broker/acme-uat-consumer',
      '--login-url',
      emulator.hostUrl(MY_DOMAIN),
    );
    expect(put.code, put.stderr).toBe(0);
    const verify = await run('verify', '--org', 'acme-uat', '--via', 'direct');
    expect(verify.stdout, verify.stderr).toMatch(
      /^OK {2}org acme-uat: client credentials exchange as /,
    );
    const doctor = await run(
      'doctor',
      '--org',
      'acme-uat',
      '--secret-prefix',
      'salesforce-token-broker/',
    );
    expect(doctor.stdout).toMatch(/PASS {2}grant-host/);
    expect(doctor.stdout).toMatch(/PASS {2}identity-host +Salesforce reports the configured host/);
    expect(doctor.code, doctor.stdout).toBe(0);
  });

  it('has no approval link for a client credentials org', async () => {
    const approval = await run('approval-url', '--org', 'acme-uat');
    expect(approval.code).toBe(1);
    expect(approval.stderr).toContain('uses the client credentials grant: nobody approves it');
  });

  it('after a sandbox refresh: not installed, new My Domain, and the remediation says why', async () => {
    await emulator.control.refreshSandbox(orgId, {
      myDomainHost: 'acme--uat2.sandbox.my.salesforce.com',
    });
    // The JWT grant through test.salesforce.com still reaches the org: the app is gone.
    const jwt = await run(
      'orgs',
      'put',
      '--org',
      'acme-uat',
      '--update',
      '--grant',
      'jwt_bearer',
      '--login-url',
      emulator.hostUrl('test.salesforce.com'),
    );
    expect(jwt.code, jwt.stderr).toBe(0);
    const verify = await run('verify', '--org', 'acme-uat', '--via', 'direct', '--json');
    expect(verify.code).toBe(1);
    const body = verify.json<{ remediation: { steps: string[] } }>();
    expect(body).toMatchObject({
      category: 'app_not_installed',
      salesforce: { error_description: 'External client app is not installed in this org' },
    });
    const steps = body.remediation.steps.join('\n');
    expect(steps).toContain('a sandbox refresh is the likely cause');
    expect(steps).toContain('token-broker apps scaffold --org acme-uat');
  });

  it('printed no consumer secret, token, assertion or key', () => {
    expect(findSecrets(transcript.join('\n'), [consumerSecret])).toEqual([]);
  });
});
