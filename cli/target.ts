/**
 * Where the CLI's commands act: AWS (standard credential chain and region, table and base URL from
 * flags or environment) or the local stack (`--local`: endpoints from the stack file or flags).
 * The broker's adapters run on the same lean clients as in the functions (aws-request.ts), with
 * credentials from the SDK's default chain; admin calls that are not adapters (KMS key creation,
 * Secrets Manager writes) use the SDK clients. Only the endpoints differ between the two targets.
 */
import { resolve } from 'node:path';
import { KMSClient } from '@aws-sdk/client-kms';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import {
  type AwsClient,
  type AwsCredentialProvider,
  createAwsClient,
} from '../lambda/adapters/aws-request';
import { createDynamoDocuments, type DynamoDocuments } from '../lambda/adapters/dynamo-documents';
import { createDynamoOrgRegistry, type DynamoOrgRegistry } from '../lambda/adapters/org-registry';
import { createDynamoSharedTokenStore } from '../lambda/adapters/shared-token-store';
import type { SharedTokenStore } from '../lambda/core/ports';
import { DEFAULT_STACK_FILE, readStackFile, type StackFile } from '../local/stack-file';
import { CliError, type CliIo, usageError } from './io';
import type { GlobalValues } from './options';

export interface Target {
  /** `aws` or `local`, for messages. */
  readonly kind: 'aws' | 'local';
  readonly secrets: SecretsManagerClient;
  /** The broker API's base URL, when known (needed for approval links and the redirect URI). */
  readonly publicBaseUrl: string | undefined;
  /**
   * How a caller reaches the token API here: the local gateway with the stack file's caller key,
   * or (AWS) the base URL with the standard credential chain. Undefined when the URL is unknown,
   * or when explicit endpoints say the stack file's gateway is not the one in use.
   */
  readonly brokerApi: BrokerApi | undefined;
  /** The HMAC key approval links are signed with, when known (the local stack's in `--local`). */
  readonly approvalLinkKeyId: string | undefined;
  /** @throws CliError when no table name is known */
  registry(): DynamoOrgRegistry;
  /** The orgs' shared token items (logins, remembered failures); never opens a token. */
  sharedTokens(): SharedTokenStore;
  /**
   * KMS for the broker's adapters (approval links, KMS signing): the local stack's endpoint with
   * --local, unless overridden.
   * @throws CliError when no region is known
   */
  kms(endpoint?: string): AwsClient;
  /** The SDK's KMS client, for key administration (CreateKey, DescribeKey, ScheduleKeyDeletion). */
  kmsAdmin(endpoint?: string): KMSClient;
  close(): void;
}

export interface BrokerApi {
  readonly url: string;
  readonly region: string | undefined;
  /** @default the standard credential chain */
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string };
}

const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function loadStack(values: GlobalValues, io: CliIo): Promise<StackFile | undefined> {
  const explicit = values['dynamodb-endpoint'] && values['secrets-endpoint'];
  const path = resolve(
    io.cwd,
    values['stack-file'] ?? io.env.TOKEN_BROKER_STACK_FILE ?? DEFAULT_STACK_FILE,
  );
  const stack = await readStackFile(path).catch((error: Error) => {
    throw new CliError(`Cannot read the local stack file: ${error.message}`);
  });
  if (!stack && !explicit) {
    throw new CliError(
      `No local stack found (${path} does not exist). Start it with \`npm start\`, or pass --dynamodb-endpoint and --secrets-endpoint.`,
    );
  }
  if (stack && !explicit && !isAlive(stack.pid)) {
    throw new CliError(
      `The local stack recorded in ${path} (pid ${stack.pid}) is not running. Start it with \`npm start\`.`,
    );
  }
  return stack;
}

/** Builds the target the global options describe. */
export async function resolveTarget(values: GlobalValues, io: CliIo): Promise<Target> {
  const env = io.env;
  const local = values.local === true;
  const stack = local ? await loadStack(values, io) : undefined;
  const region =
    values.region ?? stack?.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? undefined;
  const tableName =
    values.table ?? stack?.tableName ?? env.TOKEN_BROKER_TABLE ?? env.TABLE_NAME ?? undefined;
  const publicBaseUrl =
    values['public-base-url'] ??
    stack?.publicBaseUrl ??
    env.TOKEN_BROKER_PUBLIC_BASE_URL ??
    env.PUBLIC_BASE_URL ??
    undefined;
  const dynamodbEndpoint = values['dynamodb-endpoint'] ?? stack?.dynamodbEndpoint;
  const secretsEndpoint = values['secrets-endpoint'] ?? stack?.secretsManagerEndpoint;
  const kmsEndpoint = values['kms-endpoint'] ?? stack?.kmsEndpoint;
  const common = {
    ...(region ? { region } : local ? { region: 'eu-west-1' } : {}),
    ...(local ? { credentials: LOCAL_CREDENTIALS } : {}),
  };
  const secrets = new SecretsManagerClient({
    ...common,
    ...(secretsEndpoint ? { endpoint: secretsEndpoint } : {}),
  });
  // The adapters' clients need the region up front; the SDK finds it as before (flags, stack
  // file, environment, then the shared config file's profile).
  const resolvedRegion =
    common.region ?? (await secrets.config.region().catch(() => undefined)) ?? undefined;
  const credentials: AwsCredentialProvider = local
    ? async () => LOCAL_CREDENTIALS
    : defaultProvider();
  const awsClient = (service: string, endpoint: string | undefined) => {
    if (!resolvedRegion) {
      throw usageError('No AWS region: pass --region, or set AWS_REGION or a profile region.');
    }
    return createAwsClient({ service, region: resolvedRegion, endpoint, credentials });
  };
  let dynamo: DynamoDocuments | undefined;
  let kms: AwsClient | undefined;
  let kmsAdmin: KMSClient | undefined;
  const explicit = values['dynamodb-endpoint'] && values['secrets-endpoint'];
  const brokerApi: BrokerApi | undefined = local
    ? stack?.caller && !explicit
      ? { url: stack.publicBaseUrl, region: stack.region, credentials: stack.caller }
      : undefined
    : publicBaseUrl
      ? { url: publicBaseUrl.replace(/\/+$/, ''), region }
      : undefined;
  const documents = () => {
    if (!tableName) {
      throw usageError('No table name: pass --table NAME, set TOKEN_BROKER_TABLE, or use --local.');
    }
    dynamo ??= createDynamoDocuments(awsClient('dynamodb', dynamodbEndpoint));
    return { client: dynamo, tableName };
  };
  return {
    kind: local ? 'local' : 'aws',
    secrets,
    publicBaseUrl: publicBaseUrl?.replace(/\/+$/, ''),
    brokerApi,
    approvalLinkKeyId:
      values['approval-link-key'] ?? env.TOKEN_BROKER_APPROVAL_LINK_KEY ?? stack?.approvalLinkKeyId,
    registry() {
      return createDynamoOrgRegistry(documents());
    },
    sharedTokens() {
      return createDynamoSharedTokenStore(documents());
    },
    kms(endpoint) {
      kms ??= awsClient('kms', endpoint ?? kmsEndpoint);
      return kms;
    },
    kmsAdmin(endpoint) {
      const chosen = endpoint ?? kmsEndpoint;
      kmsAdmin ??= new KMSClient({ ...common, ...(chosen ? { endpoint: chosen } : {}) });
      return kmsAdmin;
    },
    close() {
      secrets.destroy();
      kmsAdmin?.destroy();
    },
  };
}
