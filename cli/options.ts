/**
 * Command-line parsing shared by every command: node:util parseArgs in strict mode with the
 * global options (target selection, output format, help) added to each command's own.
 */
import { type ParseArgsConfig, parseArgs } from 'node:util';
import { DEFAULT_SECRET_PREFIX, SECRET_PREFIX_PATTERN } from '../lib/secret-prefix';
import { usageError } from './io';

type OptionSpecs = NonNullable<ParseArgsConfig['options']>;

/** Options every command accepts: where the broker lives and how to print. */
export const GLOBAL_OPTIONS = {
  local: { type: 'boolean' },
  'stack-file': { type: 'string' },
  table: { type: 'string' },
  region: { type: 'string' },
  'public-base-url': { type: 'string' },
  'dynamodb-endpoint': { type: 'string' },
  'secrets-endpoint': { type: 'string' },
  'kms-endpoint': { type: 'string' },
  'approval-link-key': { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies OptionSpecs;

export const GLOBAL_HELP = `Target (every command):
  --local                   use the running local stack (npm start); reads .local/stack.json
  --stack-file PATH         the local stack's endpoint file (env TOKEN_BROKER_STACK_FILE)
  --table NAME              DynamoDB table (env TOKEN_BROKER_TABLE or TABLE_NAME)
  --region REGION           AWS region (env AWS_REGION; standard credential chain)
  --public-base-url URL     the broker API's base URL, for links (env PUBLIC_BASE_URL)
  --dynamodb-endpoint URL   DynamoDB endpoint override (or AWS_ENDPOINT_URL_DYNAMODB)
  --secrets-endpoint URL    Secrets Manager endpoint override (or AWS_ENDPOINT_URL_SECRETS_MANAGER)
  --kms-endpoint URL        KMS endpoint override (or AWS_ENDPOINT_URL_KMS)
  --approval-link-key KEY   the approval links' KMS HMAC key, output ApprovalLinkKeyArn (env
                            TOKEN_BROKER_APPROVAL_LINK_KEY; the local stack's with --local)
Output:
  --json                    machine-readable output on stdout
  -h, --help                this help`;

export type GlobalValues = {
  readonly local?: boolean | undefined;
  readonly 'stack-file'?: string | undefined;
  readonly table?: string | undefined;
  readonly region?: string | undefined;
  readonly 'public-base-url'?: string | undefined;
  readonly 'dynamodb-endpoint'?: string | undefined;
  readonly 'secrets-endpoint'?: string | undefined;
  readonly 'kms-endpoint'?: string | undefined;
  readonly 'approval-link-key'?: string | undefined;
  readonly json?: boolean | undefined;
  readonly help?: boolean | undefined;
};

/**
 * Parses `args` against the command's options plus {@link GLOBAL_OPTIONS}.
 * @throws CliError (usage) naming the unknown option or missing value
 */
export function parseCommand<T extends OptionSpecs>(args: readonly string[], options: T) {
  try {
    return parseArgs({
      args: [...args],
      options: { ...GLOBAL_OPTIONS, ...options },
      strict: true,
      allowPositionals: false,
    });
  } catch (error) {
    throw usageError(`${(error as Error).message}. See --help.`);
  }
}

/** The value of a required string option. @throws CliError (usage) */
export function requireOption(value: string | undefined, name: string): string {
  if (value === undefined || value.trim() === '') throw usageError(`--${name} is required`);
  return value.trim();
}

/** A positive integer option. @throws CliError (usage) */
export function integerOption(
  value: string | undefined,
  name: string,
  bounds: { readonly min: number; readonly max: number; readonly default: number },
): number {
  if (value === undefined) return bounds.default;
  const parsed = Number(value);
  if (!/^\d+$/.test(value) || parsed < bounds.min || parsed > bounds.max) {
    throw usageError(`--${name} must be an integer from ${bounds.min} to ${bounds.max}`);
  }
  return parsed;
}

/** `--secret-prefix`, for the commands that name or check secrets. */
export const SECRET_PREFIX_OPTION = {
  'secret-prefix': { type: 'string' },
} as const satisfies OptionSpecs;

export const SECRET_PREFIX_HELP = `  --secret-prefix PREFIX        the stack's signingKeySecretPrefix (stack output
                                SigningKeySecretPrefix): deployed functions read only
                                secrets under it (env TOKEN_BROKER_SECRET_PREFIX;
                                default ${DEFAULT_SECRET_PREFIX})`;

/**
 * The secret-name prefix from `--secret-prefix`, `TOKEN_BROKER_SECRET_PREFIX` or the stack's
 * default. @throws CliError (usage) for a value the stack would refuse
 */
export function resolveSecretPrefix(
  value: string | undefined,
  env: Readonly<Record<string, string | undefined>>,
): string {
  const prefix = value ?? env.TOKEN_BROKER_SECRET_PREFIX ?? DEFAULT_SECRET_PREFIX;
  if (!SECRET_PREFIX_PATTERN.test(prefix)) {
    throw usageError(
      `secret prefix "${prefix}" must end in "/" and hold only letters, digits and /_+=.@- (e.g. ${DEFAULT_SECRET_PREFIX})`,
    );
  }
  return prefix;
}
