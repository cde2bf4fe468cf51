/**
 * The `token-broker` command line: dispatch to a command, and the one place a failure becomes a
 * message and an exit code. No stack traces reach the operator; messages never carry a secret.
 */
import { isBrokerError } from '../lambda/core/errors';
import { runApprovalUrl } from './commands/approval-url';
import { runApps } from './commands/apps';
import { runDoctor } from './commands/doctor';
import { runKeys } from './commands/keys';
import { runOrgs } from './commands/orgs';
import { runVerify } from './commands/verify';
import { CliError, type CliIo, EXIT } from './io';

export const MAIN_HELP = `Usage: token-broker <command> [options]

Operate salesforce-token-broker: onboard orgs, create signing keys, approve and diagnose.

Commands:
  orgs put|get|list|delete   manage the org registry
  keys create|rotate         new signing key + certificate (secret or KMS); staged rotation
  apps scaffold --org ID     the org's External Client App as a deployable metadata project
  approval-url --org ID      the broker approval link and the raw Salesforce authorize URL
  verify --org ID            a real exchange with the org's grant; category and remediation
  doctor --org ID            preflight checks, one verdict per line, then a live exchange

Against AWS: the standard credential chain and region; --table / TOKEN_BROKER_TABLE and
--public-base-url / PUBLIC_BASE_URL name the deployed stack's table and API.
Against the local stack (npm start): add --local.

Run token-broker <command> --help for a command's options. Exit codes: 0 success,
1 the operation failed (check, exchange, missing record), 2 invalid usage or input.`;

const COMMANDS: Record<string, (args: readonly string[], io: CliIo) => Promise<number>> = {
  orgs: runOrgs,
  keys: runKeys,
  apps: runApps,
  'approval-url': runApprovalUrl,
  verify: runVerify,
  doctor: runDoctor,
};

/** Explains an AWS SDK or network failure in one line, without internals. */
function describeFailure(error: unknown): string {
  const failure = error as {
    name?: unknown;
    message?: unknown;
    code?: unknown;
    cause?: { code?: unknown };
  };
  const code = typeof failure.code === 'string' ? failure.code : failure.cause?.code;
  const message = typeof failure.message === 'string' ? failure.message : String(error);
  if (code === 'ECONNREFUSED' || /ECONNREFUSED/.test(message)) {
    return 'Cannot connect to the AWS endpoint (ECONNREFUSED): is the local stack running (npm start), or is the endpoint override wrong?';
  }
  if (failure.name === 'CredentialsProviderError') {
    return `No AWS credentials: ${message} (configure the standard credential chain, or use --local)`;
  }
  if (failure.name === 'ResourceNotFoundException' && /table/i.test(message)) {
    return `${message}: check --table / TOKEN_BROKER_TABLE and the region`;
  }
  const name =
    typeof failure.name === 'string' && failure.name !== 'Error' ? `${failure.name}: ` : '';
  return `${name}${message}`;
}

/** Runs the CLI; resolves to the process exit code. */
export async function runCli(args: readonly string[], io: CliIo): Promise<number> {
  const [command, ...rest] = args;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    io.out(`${MAIN_HELP}\n`);
    return command === undefined ? EXIT.usage : EXIT.ok;
  }
  const run = COMMANDS[command];
  if (!run) {
    io.err(`error: unknown command "${command}". Run token-broker --help.\n`);
    return EXIT.usage;
  }
  try {
    return await run(rest, io);
  } catch (error) {
    if (error instanceof CliError) {
      io.err(`error: ${error.message}\n`);
      return error.exitCode;
    }
    if (isBrokerError(error)) {
      io.err(`error: ${error.category}: ${error.message}\n`);
      return EXIT.failed;
    }
    io.err(`error: ${describeFailure(error)}\n`);
    return EXIT.failed;
  }
}
