/**
 * `npm start`: the whole product on loopback (see local/stack.ts and docs/local.md), a printed
 * walkthrough, and a clean stop on Ctrl-C (SIGINT), SIGTERM or SIGHUP.
 *
 * Options (flag, or environment variable): --port / TOKEN_BROKER_PORT (API gateway, 3000),
 * --emulator-port / TOKEN_BROKER_EMULATOR_PORT (4010), --dynamodb-port / TOKEN_BROKER_DYNAMODB_PORT
 * (ephemeral), --secrets-port / TOKEN_BROKER_SECRETS_PORT (ephemeral), --data-dir /
 * TOKEN_BROKER_DATA_DIR (.local), --persist / TOKEN_BROKER_PERSIST=1, --log-level /
 * POWERTOOLS_LOG_LEVEL (ERROR).
 */
import { parseArgs } from 'node:util';
import type { LogLevel } from '@aws-lambda-powertools/logger/types';
import { startLocalStack } from './stack';
import { parsePort } from './tcp-ports';
import { renderWalkthrough } from './walkthrough';

const LOG_LEVELS = ['DEBUG', 'INFO', 'WARN', 'ERROR', 'SILENT'];

function fail(message: string, exitCode: number): never {
  process.stderr.write(`npm start: ${message}\n`);
  process.exit(exitCode);
}

let values: ReturnType<typeof parse>;
function parse() {
  return parseArgs({
    options: {
      port: { type: 'string' },
      'emulator-port': { type: 'string' },
      'dynamodb-port': { type: 'string' },
      'secrets-port': { type: 'string' },
      'data-dir': { type: 'string' },
      persist: { type: 'boolean' },
      'log-level': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  }).values;
}
try {
  values = parse();
} catch (error) {
  fail(`${(error as Error).message} (see docs/local.md)`, 2);
}
if (values.help) {
  process.stdout.write(
    'Usage: npm start -- [--port N] [--emulator-port N] [--dynamodb-port N] [--secrets-port N]\n' +
      '                    [--data-dir DIR] [--persist] [--log-level LEVEL]\nSee docs/local.md.\n',
  );
  process.exit(0);
}

const env = process.env;
// Local runs need neither the SDK's Node support notice nor EMF metric blobs on the console.
env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
env.POWERTOOLS_METRICS_DISABLED ??= 'true';

let ports: { gateway: number; emulator: number; dynamodb: number; secretsManager: number };
try {
  ports = {
    gateway: parsePort(values.port ?? env.TOKEN_BROKER_PORT ?? '3000', '--port'),
    emulator: parsePort(
      values['emulator-port'] ?? env.TOKEN_BROKER_EMULATOR_PORT ?? '4010',
      '--emulator-port',
    ),
    dynamodb: parsePort(
      values['dynamodb-port'] ?? env.TOKEN_BROKER_DYNAMODB_PORT ?? '0',
      '--dynamodb-port',
    ),
    secretsManager: parsePort(
      values['secrets-port'] ?? env.TOKEN_BROKER_SECRETS_PORT ?? '0',
      '--secrets-port',
    ),
  };
} catch (error) {
  fail((error as Error).message, 2);
}
const logLevel = (values['log-level'] ?? env.POWERTOOLS_LOG_LEVEL ?? 'ERROR').toUpperCase();
if (!LOG_LEVELS.includes(logLevel)) fail(`--log-level must be one of ${LOG_LEVELS.join(', ')}`, 2);

// Installed before the start so a signal during it still ends with the ports closed and no
// stack file left behind (the default action would kill the process mid-write).
let stopRequested = false;
let stop: () => void = () => {
  stopRequested = true;
};
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(signal, () => stop());
}

const stack = await startLocalStack({
  dataDir: values['data-dir'] ?? env.TOKEN_BROKER_DATA_DIR ?? '.local',
  ports,
  persist: values.persist === true || env.TOKEN_BROKER_PERSIST === '1',
  logLevel: logLevel as LogLevel,
  print: (line) => process.stdout.write(`${line}\n`),
}).catch((error: Error) => fail(`the local stack could not start: ${error.message}`, 1));

let stopping = false;
stop = () => {
  if (stopping) return;
  stopping = true;
  process.stdout.write('\nStopping the local stack...\n');
  stack.close().then(
    () => {
      process.stdout.write('Stopped.\n');
      process.exit(0);
    },
    (error: Error) => {
      process.stderr.write(`npm start: the local stack did not stop cleanly: ${error.message}\n`);
      process.exit(1);
    },
  );
};

if (stopRequested) stop();
else process.stdout.write(`${renderWalkthrough(stack)}\nPress Ctrl-C to stop.\n`);
