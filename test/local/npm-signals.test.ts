/**
 * `npm start` and `npm run emulator` as a process manager or `kill <npm pid>` stops them: SIGTERM
 * to the npm process only (not its group). npm forwards it to its script's process; the process
 * holding the ports must get it, close them and exit, so that nothing of the group stays behind.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { StackFile } from '../../local/stack-file';

interface Started {
  readonly child: ChildProcess;
  readonly output: () => string;
  readonly exited: Promise<number | string>;
}

const started: Started[] = [];
const tempDirs: string[] = [];

function npm(args: readonly string[]): Started {
  let output = '';
  // Its own process group, like a terminal job, so the test can tell whether anything survived.
  const child = spawn('npm', [...args], {
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, FORCE_COLOR: '0', npm_config_update_notifier: 'false' },
  });
  const collect = (chunk: Buffer) => {
    output += chunk.toString();
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const exited = once(child, 'exit').then(([code, signal]) => (code ?? signal) as number | string);
  const run = { child, output: () => output, exited };
  started.push(run);
  return run;
}

async function waitFor(condition: () => boolean | Promise<boolean>, what: string): Promise<void> {
  for (let attempt = 0; attempt < 400; attempt++) {
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

async function portIsFree(port: number): Promise<boolean> {
  const server = createServer();
  return new Promise((resolve) => {
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

async function tempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  tempDirs.push(dir);
  return dir;
}

/** SIGTERM to npm alone, then: npm ends, its whole group is gone and every port is free again. */
async function terminateAndCheck(run: Started, ports: readonly number[]): Promise<void> {
  const pid = run.child.pid as number;
  process.kill(pid, 'SIGTERM');
  // npm re-raises the signal on itself once its script has exited, so it may end by the signal.
  expect([0, 'SIGTERM']).toContain(await run.exited);
  await waitFor(() => !groupAlive(pid), 'every process of the npm group to exit');
  for (const port of ports) expect(await portIsFree(port)).toBe(true);
}

afterEach(() => {
  for (const run of started.splice(0)) {
    const pid = run.child.pid;
    if (pid && groupAlive(pid)) process.kill(-pid, 'SIGKILL');
  }
});

afterAll(async () => {
  await Promise.all(tempDirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

describe('SIGTERM to the npm process', () => {
  it('npm start: stops the whole stack, frees its ports and removes stack.json', async () => {
    const dataDir = await tempDir('token-broker-npm-start-');
    const run = npm(['start', '--', '--port', '0', '--emulator-port', '0', '--data-dir', dataDir]);
    await waitFor(() => run.output().includes('Press Ctrl-C to stop.'), 'the walkthrough');
    const stackFile = join(dataDir, 'stack.json');
    const info = JSON.parse(await readFile(stackFile, 'utf8')) as StackFile;
    const ports = [
      info.publicBaseUrl,
      info.emulatorUrl,
      info.dynamodbEndpoint,
      info.secretsManagerEndpoint,
    ].map((url) => Number(new URL(url).port));
    for (const port of ports) expect(await portIsFree(port)).toBe(false);

    await terminateAndCheck(run, ports);
    expect(run.output()).toContain('Stopped.');
    expect(existsSync(stackFile)).toBe(false);
  });

  it('npm run emulator: stops the emulator and frees its port', async () => {
    const keyDir = await tempDir('token-broker-npm-emulator-');
    const run = npm(['run', 'emulator', '--', '--port', '0', '--key-dir', keyDir]);
    await waitFor(() => run.output().includes('Press Ctrl-C to stop.'), 'the emulator banner');
    const url = /Salesforce emulator on (http:\/\/\S+)/.exec(run.output())?.[1];
    expect(url).toBeDefined();
    const port = Number(new URL(url as string).port);
    expect(await portIsFree(port)).toBe(false);

    await terminateAndCheck(run, [port]);
  });
});
