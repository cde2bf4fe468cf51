/**
 * Runs a benchmark child in a fresh `node` process with a clean, Lambda-like environment. The
 * child reports one JSON line on fd 3 (children/protocol.mjs); its stdout (the function's logs)
 * is drained and counted, as the Lambda runtime would ship it.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';

export const CHILDREN_DIR = fileURLToPath(new URL('./children/', import.meta.url));

export interface ChildOptions {
  /** File name under bench/children/. */
  readonly script: string;
  readonly env: Readonly<Record<string, string>>;
  /** Extra node flags, e.g. `--import tsx` or `--cpu-prof`. @default [] */
  readonly nodeArgs?: readonly string[];
  /** @default 120000 */
  readonly timeoutMs?: number;
}

function launch(options: ChildOptions): ChildProcess {
  return spawn(
    process.execPath,
    [...(options.nodeArgs ?? []), `${CHILDREN_DIR}${options.script}`],
    {
      cwd: CHILDREN_DIR,
      env: { PATH: process.env.PATH ?? '', ...options.env },
      stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
    },
  );
}

/** The first complete line written to `stream`, or undefined if it ends without one. */
function firstLine(stream: Readable): Promise<string | undefined> {
  return new Promise((resolve) => {
    let text = '';
    const onData = (chunk: Buffer) => {
      text += chunk.toString('utf8');
      const end = text.indexOf('\n');
      if (end === -1) return;
      stream.off('data', onData);
      stream.resume();
      resolve(text.slice(0, end));
    };
    stream.on('data', onData);
    stream.once('end', () => resolve(undefined));
  });
}

function tail(stream: Readable, limit = 4000): () => string {
  let text = '';
  stream.on('data', (chunk: Buffer) => {
    text = (text + chunk.toString('utf8')).slice(-limit);
  });
  return () => text;
}

/** Runs `script` to completion and returns what it reported. */
export async function runChild<T>(options: ChildOptions): Promise<T> {
  const child = launch(options);
  const [stdout, stderr, results] = [child.stdout, child.stderr, child.stdio[3]] as Readable[];
  stdout?.resume();
  const errors = tail(stderr as Readable);
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000);
  const [line, code] = await Promise.all([
    firstLine(results as Readable),
    new Promise<number | null>((resolve) => child.once('close', resolve)),
  ]);
  clearTimeout(timer);
  if (code !== 0 || line === undefined) {
    throw new Error(`${options.script} exited with ${code}: ${errors()}`);
  }
  return JSON.parse(line) as T;
}

export interface ServerChild<T> {
  readonly ready: T;
  stop(): Promise<void>;
}

/** Starts a long-running child and resolves once it has reported that it is ready. */
export async function startServerChild<T>(options: ChildOptions): Promise<ServerChild<T>> {
  const child = launch(options);
  child.stdout?.resume();
  const errors = tail(child.stderr as Readable);
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  const line = await firstLine(child.stdio[3] as Readable);
  if (line === undefined) throw new Error(`${options.script} did not start: ${errors()}`);
  return {
    ready: JSON.parse(line) as T,
    async stop() {
      child.kill('SIGTERM');
      await exited;
    },
  };
}
