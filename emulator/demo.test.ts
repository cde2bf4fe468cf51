import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signingMaterial } from '../test/support/keys';
import { DEMO_ADMIN_USERNAME, DEMO_INTEGRATION_USERNAME, seedDemoOrg } from './demo';
import { writeDemoKeys } from './demo-keys';
import { type RunningEmulator, startEmulator } from './server';
import { JWT_BEARER, postTokenForm, signAssertion } from './testing/assertion';
import { authorizeWithForms } from './testing/oauth-forms';

const CALLBACK = 'http://127.0.0.1:3000/oauth/callback';

let emulator: RunningEmulator;
let keyDir: string;

beforeAll(async () => {
  emulator = await startEmulator();
  keyDir = await mkdtemp(join(tmpdir(), 'emulator-demo-'));
});
afterAll(async () => {
  await emulator.close();
  await rm(keyDir, { recursive: true, force: true });
});

describe('demo org', () => {
  it('starts with an unapproved integration user, who can approve as themselves', async () => {
    const key = await signingMaterial('emulator');
    const demo = await seedDemoOrg(emulator.control, {
      certificatePem: key.certificatePem,
      callbackUrl: CALLBACK,
      myDomainHost: 'demo.my.salesforce.com',
    });
    expect(demo.loginUrl).toBe(emulator.hostUrl('demo.my.salesforce.com'));
    const jwt = () =>
      postTokenForm(demo.loginUrl, {
        grant_type: JWT_BEARER,
        assertion: signAssertion(key.privateKeyPem, {
          iss: demo.app.consumerKey,
          sub: DEMO_INTEGRATION_USERNAME,
          aud: demo.audience,
        }),
      });
    expect((await jwt()).body).toEqual({
      error: 'invalid_grant',
      error_description: "user hasn't approved this consumer",
    });
    const params = {
      response_type: 'code',
      client_id: demo.app.consumerKey,
      redirect_uri: CALLBACK,
      scope: 'api refresh_token',
      login_hint: DEMO_INTEGRATION_USERNAME,
    };
    const approval = await authorizeWithForms(demo.loginUrl, params, DEMO_INTEGRATION_USERNAME);
    expect(approval.location).toMatch(/^http:\/\/127\.0\.0\.1:3000\/oauth\/callback\?code=/);
    expect((await jwt()).status).toBe(200);
    expect(demo.adminUsername).toBe(DEMO_ADMIN_USERNAME);
  });

  it('writes a fresh demo key whose certificate the emulator accepts', async () => {
    const keys = await writeDemoKeys(keyDir);
    expect(await readFile(keys.privateKeyPath, 'utf8')).toBe(keys.privateKeyPem);
    await emulator.control.reset();
    const demo = await seedDemoOrg(emulator.control, {
      certificatePem: keys.certificatePem,
      callbackUrl: CALLBACK,
    });
    expect(demo.loginUrl).toBe(emulator.hostUrl('login.salesforce.com'));
    await emulator.control.approve(DEMO_INTEGRATION_USERNAME, demo.app.consumerKey, [
      'api',
      'refresh_token',
    ]);
    const result = await postTokenForm(demo.loginUrl, {
      grant_type: JWT_BEARER,
      assertion: signAssertion(keys.privateKeyPem, {
        iss: demo.app.consumerKey,
        sub: DEMO_INTEGRATION_USERNAME,
        aud: demo.audience,
      }),
    });
    expect(result.status).toBe(200);
  });
});

describe('npm run emulator', () => {
  function run(args: string[]): { child: ChildProcess; output: Promise<string> } {
    const child = spawn(process.execPath, ['--import', 'tsx', 'emulator/main.ts', ...args], {
      env: { ...process.env, EMULATOR_KEY_DIR: keyDir },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let text = '';
    const output = new Promise<string>((resolve) => {
      const collect = (chunk: Buffer) => {
        text += chunk.toString();
        if (text.includes('Press Ctrl-C')) resolve(text);
      };
      child.stdout?.on('data', collect);
      child.stderr?.on('data', collect);
      child.on('exit', () => resolve(text));
    });
    return { child, output };
  }

  it('prints its URL and demo credentials, and serves them', async () => {
    const { child, output } = run(['--port', '0']);
    try {
      const text = await output;
      expect(text).toContain(`integration user:  ${DEMO_INTEGRATION_USERNAME}`);
      expect(text).toContain(join(keyDir, 'demo-private-key.pem'));
      const url = /Salesforce emulator on (http:\/\/127\.0\.0\.1:\d+)/.exec(text)?.[1];
      const state = await fetch(`${url}/__control/state`);
      expect(await state.json()).toMatchObject({ users: expect.any(Array) });
    } finally {
      child.kill('SIGTERM');
    }
  });

  it('says plainly when the port is taken', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const address = blocker.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    try {
      const { child, output } = run(['--port', String(port)]);
      const exitCode = new Promise((resolve) => child.on('exit', resolve));
      expect(await output).toContain(`port ${port} on 127.0.0.1 is already in use`);
      expect(await exitCode).toBe(1);
    } finally {
      blocker.close();
    }
  });
});
