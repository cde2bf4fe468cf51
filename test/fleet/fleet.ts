/**
 * A fleet of Lambda-like execution environments for tests: separate Node processes, each running
 * the token function's production bundle and serving one request at a time
 * (environment.mjs), all against one table, one KMS, one Secrets Manager and the emulator.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';

const ENVIRONMENT = fileURLToPath(new URL('./environment.mjs', import.meta.url));

export interface FleetAnswer {
  readonly statusCode: number;
  readonly body: Record<string, unknown>;
}

export interface FleetRequest {
  readonly orgId: string;
  readonly forceRefresh?: boolean;
  /** The invocation's remaining time when it starts, ms. @default 20000 */
  readonly timeoutMs?: number;
}

export interface Environment {
  readonly pid: number;
  request(request: FleetRequest): Promise<FleetAnswer>;
  /** Ends the process as Lambda ends a crashed environment: no cleanup at all. */
  kill(): void;
}

export interface Fleet {
  readonly environments: readonly Environment[];
  close(): Promise<void>;
}

let sequence = 0;

async function startEnvironment(
  bundle: string,
  env: Readonly<Record<string, string>>,
  event: unknown,
): Promise<{ environment: Environment; child: ChildProcess }> {
  const child = spawn(process.execPath, [ENVIRONMENT], {
    env: {
      PATH: process.env.PATH ?? '',
      ...env,
      FLEET_BUNDLE: bundle,
      FLEET_EVENT: JSON.stringify(event),
    },
    stdio: ['pipe', 'pipe', 'pipe', 'pipe'],
  });
  // The function's logs and metrics: drained, as the Lambda runtime ships them.
  child.stdout?.resume();
  child.stderr?.resume();
  const pending = new Map<string, (answer: FleetAnswer) => void>();
  let ready: () => void = () => undefined;
  const started = new Promise<void>((resolve) => {
    ready = resolve;
  });
  createInterface({ input: child.stdio[3] as Readable }).on('line', (line) => {
    const message = JSON.parse(line) as {
      ready?: boolean;
      extensions?: string[];
      id?: string;
      statusCode?: number;
      body?: string;
    };
    if (message.ready) {
      // The bundle must defer its bookkeeping as it does in Lambda, or the fleet is not the real one.
      if (!message.extensions?.includes(AFTER_RESPONSE_EXTENSION)) {
        child.kill('SIGKILL');
        throw new Error(`the bundle registered no after-response extension: ${line}`);
      }
      return ready();
    }
    const settle = message.id ? pending.get(message.id) : undefined;
    if (!settle || message.id === undefined) return;
    pending.delete(message.id);
    settle({
      statusCode: message.statusCode ?? 0,
      body: message.body ? (JSON.parse(message.body) as Record<string, unknown>) : {},
    });
  });
  await started;
  return {
    child,
    environment: {
      pid: child.pid ?? 0,
      request(request) {
        const id = `fleet-${process.pid}-${sequence++}`;
        return new Promise<FleetAnswer>((resolve) => {
          pending.set(id, resolve);
          child.stdin?.write(`${JSON.stringify({ id, ...request })}\n`);
        });
      },
      kill() {
        child.kill('SIGKILL');
      },
    },
  };
}

/** The extension the token bundle registers (lambda/handlers/lambda-extension.ts EXTENSION_NAME). */
const AFTER_RESPONSE_EXTENSION = 'token-broker-after-response';

/** Starts `count` environments in parallel and waits until each has imported the bundle. */
export async function startFleet(options: {
  readonly count: number;
  readonly bundle: string;
  readonly env: Readonly<Record<string, string>>;
  /** The API Gateway event every request is built from. */
  readonly event: unknown;
}): Promise<Fleet> {
  const started = await Promise.all(
    Array.from({ length: options.count }, () =>
      startEnvironment(options.bundle, options.env, options.event),
    ),
  );
  return {
    environments: started.map(({ environment }) => environment),
    async close() {
      await Promise.all(
        started.map(
          ({ child }) =>
            new Promise<void>((resolve) => {
              if (child.exitCode !== null || child.signalCode !== null) return resolve();
              child.once('exit', () => resolve());
              child.kill('SIGKILL');
            }),
        ),
      );
    },
  };
}
