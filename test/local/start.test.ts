/**
 * `npm start` as a newcomer runs it: the local stack in a child process (tsx local/start.ts, in
 * its own process group like a terminal job), the printed walkthrough followed over HTTP with the
 * approval in headless Chromium, the events in the JSON-lines file, the CLI against the running
 * stack, then Ctrl-C (SIGINT to the group) and no process left behind.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRequestSigner } from '../../client/signer';
import { EmulatorClient } from '../../emulator/client';
import { launchBrowser, visibleText } from '../../emulator/testing/browser';
import type { StackFile } from '../../local/stack-file';
import { cli } from '../cli/run-cli';
import { findSecrets } from '../support/logs';

const USER = 'integration@demo.example';

interface Started {
  readonly child: ChildProcess;
  readonly output: () => string;
  /** Exit code, or the signal that ended the process. */
  readonly exited: Promise<number | string | null>;
}

function startStack(args: readonly string[]): Started {
  let output = '';
  const child = spawn('npx', ['tsx', 'local/start.ts', ...args], {
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, FORCE_COLOR: '0' },
  });
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const exited = once(child, 'exit').then(([code, signal]) => (code ?? signal) as number | string);
  return { child, output: () => output, exited };
}

async function waitFor(condition: () => boolean | Promise<boolean>, what: string): Promise<void> {
  for (let attempt = 0; attempt < 300; attempt++) {
    if (await condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

/** What the printed `curl --aws-sigv4` sends: a request signed with the stack file's caller key. */
async function signedFetch(info: StackFile, method: 'GET' | 'POST', path: string) {
  const caller = info.caller;
  if (!caller) throw new Error('the stack file has no caller key');
  const url = new URL(`${info.publicBaseUrl}${path}`);
  const headers = await createRequestSigner(info.region, caller)({ method, url });
  return fetch(url, { method, headers });
}

async function readEvents(
  file: string,
): Promise<{ type: string; data: Record<string, unknown> }[]> {
  const text = await readFile(file, 'utf8');
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line));
}

describe('npm start', () => {
  let stack: Started;
  let dataDir: string;
  let info: StackFile;
  let browser: Browser;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'token-broker-local-'));
    browser = await launchBrowser();
    stack = startStack(['--port', '0', '--emulator-port', '0', '--data-dir', dataDir]);
    await waitFor(() => stack.output().includes('Press Ctrl-C to stop.'), 'the walkthrough');
    info = JSON.parse(await readFile(join(dataDir, 'stack.json'), 'utf8')) as StackFile;
  });

  afterAll(async () => {
    await browser?.close();
    if (stack?.child.pid && groupAlive(stack.child.pid)) process.kill(-stack.child.pid, 'SIGKILL');
  });

  it('prints where everything runs and copy-paste commands for the walkthrough', () => {
    const text = stack.output();
    const signing = `--aws-sigv4 "aws:amz:eu-west-1:execute-api" --user "${info.caller?.accessKeyId}:${info.caller?.secretAccessKey}"`;
    expect(text).toContain(`curl -s -X POST ${signing} ${info.publicBaseUrl}/orgs/demo/token`);
    expect(text).toContain(`curl -s ${signing} ${info.publicBaseUrl}/orgs/demo/status`);
    // Links are signed and expire, so the walkthrough points at them instead of printing one.
    expect(text).toContain('remediation.approvalLink in the answer to step 1');
    expect(text).toContain('npm run cli -- approval-url --org demo');
    expect(text).toContain(`sign in as ${USER} and click Allow`);
    expect(text).toContain(`${dataDir}/events.jsonl`);
    for (const url of [
      info.publicBaseUrl,
      info.emulatorUrl,
      info.dynamodbEndpoint,
      info.secretsManagerEndpoint,
    ]) {
      expect(new URL(url).hostname).toBe('127.0.0.1');
    }
  });

  it('runs the walkthrough: fail, approve in the browser, verified and resolved, token, cache', async () => {
    const unsigned = await fetch(`${info.publicBaseUrl}/orgs/demo/token`, { method: 'POST' });
    expect(unsigned.status).toBe(403);
    const first = await signedFetch(info, 'POST', '/orgs/demo/token');
    const failure = (await first.json()) as {
      error: string;
      remediation: { approvalLink: string };
    };
    expect(first.status).toBe(502);
    expect(failure.error).toBe('consumer_not_approved');
    // The walkthrough's link is the signed one in the answer (and in the incident).
    const { approvalLink } = failure.remediation;
    expect(approvalLink).toMatch(
      new RegExp(`^${info.publicBaseUrl}/oauth/authorize\\?org=demo&exp=\\d+&sig=[\\w-]{43}$`),
    );
    expect((await readEvents(info.eventsFile)).map((event) => event.type)).toEqual([
      'token_broker.incident.opened',
    ]);
    await waitFor(
      () => stack.output().includes('token_broker.incident.opened orgs/demo consumer_not_approved'),
      'the incident on the console',
    );

    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      await page.goto(approvalLink);
      await expect.poll(() => page.locator('#username').inputValue()).toBe(USER);
      await page.click('#Login');
      await page.click('#oaapprove');
      await page.waitForURL((url) =>
        url.toString().startsWith(`${info.publicBaseUrl}/oauth/callback`),
      );
      const result = await visibleText(page.locator('main'));
      expect(result).toContain('Approved and verified');
      expect(result).toContain(`Approved as ${USER}`);
      expect(result).toContain('JWT exchange works');
    } finally {
      await context.close();
    }
    const types = (await readEvents(info.eventsFile)).map((event) => event.type);
    expect(types).toEqual(
      expect.arrayContaining(['token_broker.approval.completed', 'token_broker.incident.resolved']),
    );
    await waitFor(
      () => stack.output().includes('token_broker.incident.resolved orgs/demo'),
      'resolved on the console',
    );

    const emulator = new EmulatorClient(info.emulatorUrl);
    const second = await signedFetch(info, 'POST', '/orgs/demo/token');
    const grant = (await second.json()) as Record<string, string>;
    expect(second.status).toBe(200);
    expect(second.headers.get('cache-control')).toBe('no-store');
    expect(grant.org_id).toBe('demo');
    const exchanges = await emulator.countTokenExchanges(USER);
    const third = await signedFetch(info, 'POST', '/orgs/demo/token');
    expect(((await third.json()) as Record<string, string>).access_token).toBe(grant.access_token);
    expect(await emulator.countTokenExchanges(USER)).toBe(exchanges);

    const status = await signedFetch(info, 'GET', '/orgs/demo/status');
    expect(await status.json()).toMatchObject({ openIncidents: [], lastExchange: { ok: true } });

    const everything = `${stack.output()}\n${await readFile(info.eventsFile, 'utf8')}`;
    expect(findSecrets(everything, [grant.access_token as string])).toEqual([]);
  });

  it('answers the CLI in --local mode through its stack file', async () => {
    const stackFile = join(dataDir, 'stack.json');
    const verify = await cli(['verify', '--org', 'demo', '--local', '--stack-file', stackFile]);
    expect(verify.code).toBe(0);
    const doctor = await cli([
      'doctor',
      '--org',
      'demo',
      '--local',
      '--stack-file',
      stackFile,
      '--registered-callback',
      `${info.publicBaseUrl}/oauth/callback`,
      '--json',
    ]);
    expect(doctor.json()).toMatchObject({ orgId: 'demo', ok: true });
    const list = await cli(['orgs', 'list', '--local', '--stack-file', stackFile, '--json']);
    expect(list.json<{ orgId: string }[]>().map((org) => org.orgId)).toEqual(['demo']);
  });

  it('stops everything on Ctrl-C and leaves no process, port or stack file behind', async () => {
    const pgid = stack.child.pid as number;
    process.kill(-pgid, 'SIGINT');
    // npx itself may end by the signal, as it does at a terminal; start.ts must stop cleanly.
    expect([0, 'SIGINT']).toContain(await stack.exited);
    await waitFor(() => !groupAlive(pgid), 'every process of the group to exit');
    expect(stack.output()).toContain('Stopped.');
    expect(existsSync(join(dataDir, 'stack.json'))).toBe(false);
    await expect(fetch(info.publicBaseUrl)).rejects.toThrow();
    await expect(fetch(info.emulatorUrl)).rejects.toThrow();
    // The demo key stays for the next run; the private key file is the owner's only.
    expect(existsSync(join(dataDir, 'keys', 'demo-certificate.pem'))).toBe(true);
  });
});

describe('npm start with a port taken', () => {
  it('names the port, the service and how to choose another, and exits 1', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      const dataDir = await mkdtemp(join(tmpdir(), 'token-broker-port-'));
      const started = startStack(['--port', String(port), '--data-dir', dataDir]);
      expect(await started.exited).toBe(1);
      expect(started.output()).toContain(
        `API gateway: port ${port} on 127.0.0.1 is already in use; choose another with --port N or TOKEN_BROKER_PORT=N`,
      );
      expect(started.output()).not.toMatch(/\n\s+at /);
    } finally {
      blocker.close();
    }
  });
});
