/**
 * The file the running local stack writes under `.local/` so the CLI's `--local` mode finds its
 * endpoints. Besides addresses and names it holds the local caller's key pair, which only the
 * local gateway accepts (readable by the owner only); never a Salesforce key or token.
 */
import { readFile, rm, writeFile } from 'node:fs/promises';

/** @default '.local/stack.json' (relative to the working directory) */
export const DEFAULT_STACK_FILE = '.local/stack.json';

export interface StackFile {
  readonly version: 1;
  /** Process id of `npm start`, so a stale file from a crashed run is recognised. */
  readonly pid: number;
  readonly region: string;
  readonly tableName: string;
  /** The local API gateway: the local `PUBLIC_BASE_URL`. */
  readonly publicBaseUrl: string;
  readonly dynamodbEndpoint: string;
  readonly secretsManagerEndpoint: string;
  /** The local KMS endpoint (`AWS_ENDPOINT_URL_KMS`). */
  readonly kmsEndpoint: string;
  /** ARN of the key the shared token cache is sealed under. */
  readonly tokenCacheKeyId: string;
  /** ARN of the HMAC key approval links are signed with (the CLI's `approval-url` signs with it). */
  readonly approvalLinkKeyId: string;
  readonly emulatorUrl: string;
  readonly eventsFile: string;
  /** The demo org's registry id. */
  readonly demoOrgId: string;
  /** The caller identity the local gateway reports on the IAM routes. */
  readonly callerArn: string;
  /**
   * The key pair the local gateway verifies SigV4 with (region {@link StackFile.region}, service
   * `execute-api`), mapped to `arn`. Absent in files from stacks that did not check signatures.
   */
  readonly caller?: {
    readonly accessKeyId: string;
    readonly secretAccessKey: string;
    readonly arn: string;
  };
}

export async function writeStackFile(path: string, stack: StackFile): Promise<void> {
  await writeFile(path, `${JSON.stringify(stack, null, 2)}\n`, { mode: 0o600 });
}

/** @returns undefined when there is no such file */
export async function readStackFile(path: string): Promise<StackFile | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  const parsed = JSON.parse(text) as Partial<StackFile>;
  if (parsed.version !== 1 || typeof parsed.dynamodbEndpoint !== 'string') {
    throw new Error(`${path} is not a local stack file of this version`);
  }
  return parsed as StackFile;
}

export async function removeStackFile(path: string): Promise<void> {
  await rm(path, { force: true });
}
