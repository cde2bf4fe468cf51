/**
 * What a command may touch of the outside world, injected so tests run the CLI in-process, and the
 * one error type a command throws to stop with a message and an exit code (never a stack trace).
 */

/** Exit codes, documented in docs/cli.md. */
export const EXIT = {
  ok: 0,
  /** The operation ran and failed: a check, an exchange, a missing record. */
  failed: 1,
  /** The command line or its input is invalid. */
  usage: 2,
} as const;

export interface CliIo {
  /** Writes to stdout. */
  readonly out: (text: string) => void;
  /** Writes to stderr. */
  readonly err: (text: string) => void;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Resolves relative paths (the stack file, --file). */
  readonly cwd: string;
  /** Reads stdin when `--file -` is given. */
  readonly readStdin?: () => Promise<string>;
}

/** Stops the command with `message` on stderr and `exitCode`. The message never holds a secret. */
export class CliError extends Error {
  override readonly name = 'CliError';
  constructor(
    message: string,
    readonly exitCode: number = EXIT.failed,
  ) {
    super(message);
  }
}

export function usageError(message: string): CliError {
  return new CliError(message, EXIT.usage);
}

/** Writes `value` as indented JSON and a newline. */
export function writeJson(io: CliIo, value: unknown): void {
  io.out(`${JSON.stringify(value, null, 2)}\n`);
}
