/**
 * A small local Secrets Manager: an HTTP endpoint speaking the service's awsJson1_1 wire protocol
 * (`x-amz-target: secretsmanager.<Operation>`), so the real AWS SDK client (endpoint option or
 * AWS_ENDPOINT_URL_SECRETS_MANAGER) talks to it unchanged. Backed by memory or by a folder (one
 * JSON file per secret). Supports GetSecretValue, CreateSecret, PutSecretValue, DescribeSecret
 * and ListSecrets, with the service's error shapes; failures can be injected for tests.
 * Request signatures are not checked: it listens on loopback only.
 */
import { createHash, randomUUID } from 'node:crypto';
import { mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { sendAwsJson } from './aws-json';

interface SecretVersion {
  readonly versionId: string;
  readonly secretString: string;
  readonly createdDate: number;
}

interface StoredSecret {
  readonly name: string;
  readonly arn: string;
  readonly description?: string | undefined;
  readonly createdDate: number;
  /** Newest last; the last one is AWSCURRENT, the one before AWSPREVIOUS. */
  readonly versions: SecretVersion[];
  /** The KMS key CreateSecret named (`KmsKeyId`); absent = the `aws/secretsmanager` key. */
  readonly kmsKeyId?: string | undefined;
  /** The resource policy JSON PutResourcePolicy stored. */
  readonly resourcePolicy?: string | undefined;
  /** Epoch seconds when DeleteSecret scheduled the deletion; reads then fail as in AWS. */
  readonly deletedDate?: number | undefined;
}

export type SecretsManagerErrorType =
  | 'ResourceNotFoundException'
  | 'AccessDeniedException'
  | 'ThrottlingException'
  | 'InternalServiceError';

export interface SecretsManagerServerOptions {
  /** Keep secrets in this folder (created if missing) instead of memory. */
  readonly folder?: string;
  /** @default 'eu-west-1' */
  readonly region?: string;
  /** @default '123456789012' */
  readonly accountId?: string;
  /** @default 0 (ephemeral) */
  readonly port?: number;
}

export interface LocalSecretsManager {
  /** `http://127.0.0.1:PORT` */
  readonly endpoint: string;
  readonly server: Server;
  /** Creates or replaces a secret's current value directly (no HTTP). */
  putSecret(name: string, secretString: string): Promise<{ arn: string; versionId: string }>;
  /** Makes the next `times` calls touching `secretId` (name or ARN) fail with `type`. */
  failNext(secretId: string, type: SecretsManagerErrorType, times?: number): void;
  /** Number of GetSecretValue calls received per secret name. */
  readCount(name: string): number;
  close(): Promise<void>;
}

class ServiceError extends Error {
  constructor(
    readonly type:
      | SecretsManagerErrorType
      | 'ResourceExistsException'
      | 'InvalidParameterException'
      | 'InvalidRequestException'
      | 'UnknownOperationException',
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

const MESSAGES: Record<SecretsManagerErrorType, [string, number]> = {
  ResourceNotFoundException: ["Secrets Manager can't find the specified secret.", 400],
  AccessDeniedException: [
    'User is not authorized to perform: secretsmanager:GetSecretValue because no identity-based policy allows the secretsmanager:GetSecretValue action',
    400,
  ],
  ThrottlingException: ['Rate exceeded', 400],
  InternalServiceError: ['An error occurred on the server side.', 500],
};

function fileNameOf(name: string): string {
  return `${createHash('sha256').update(name).digest('hex').slice(0, 32)}.json`;
}

export async function startSecretsManagerServer(
  options: SecretsManagerServerOptions = {},
): Promise<LocalSecretsManager> {
  const region = options.region ?? 'eu-west-1';
  const accountId = options.accountId ?? '123456789012';
  const secrets = new Map<string, StoredSecret>();
  const injected = new Map<string, { type: SecretsManagerErrorType; times: number }>();
  const reads = new Map<string, number>();
  const folder = options.folder;

  if (folder) {
    await mkdir(folder, { recursive: true });
    for (const file of await readdir(folder)) {
      if (!file.endsWith('.json')) continue;
      const secret = JSON.parse(await readFile(join(folder, file), 'utf8')) as StoredSecret;
      secrets.set(secret.name, secret);
    }
  }

  async function persist(secret: StoredSecret): Promise<void> {
    secrets.set(secret.name, secret);
    if (!folder) return;
    const target = join(folder, fileNameOf(secret.name));
    await writeFile(`${target}.tmp`, JSON.stringify(secret, null, 2), { mode: 0o600 });
    await rename(`${target}.tmp`, target);
  }

  function find(secretId: unknown): StoredSecret {
    if (typeof secretId !== 'string' || secretId === '') {
      throw new ServiceError('InvalidParameterException', 'You must provide a SecretId.');
    }
    const secret =
      secrets.get(secretId) ??
      [...secrets.values()].find((candidate) => candidate.arn === secretId);
    if (!secret)
      throw new ServiceError('ResourceNotFoundException', MESSAGES.ResourceNotFoundException[0]);
    return secret;
  }

  function checkInjected(secretId: unknown): void {
    if (typeof secretId !== 'string') return;
    const name =
      secrets.get(secretId)?.name ??
      [...secrets.values()].find((s) => s.arn === secretId)?.name ??
      secretId;
    const failure = injected.get(name);
    if (!failure) return;
    failure.times -= 1;
    if (failure.times <= 0) injected.delete(name);
    const [message, status] = MESSAGES[failure.type];
    throw new ServiceError(failure.type, message, status);
  }

  function stages(secret: StoredSecret, version: SecretVersion): string[] {
    const index = secret.versions.indexOf(version);
    if (index === secret.versions.length - 1) return ['AWSCURRENT'];
    if (index === secret.versions.length - 2) return ['AWSPREVIOUS'];
    return [];
  }

  async function createSecret(
    name: string,
    secretString: string,
    description?: string,
    kmsKeyId?: string,
  ) {
    const suffix = randomUUID().replaceAll('-', '').slice(0, 6);
    const now = Date.now() / 1000;
    const secret: StoredSecret = {
      name,
      arn: `arn:aws:secretsmanager:${region}:${accountId}:secret:${name}-${suffix}`,
      description,
      createdDate: now,
      versions: [{ versionId: randomUUID(), secretString, createdDate: now }],
      ...(kmsKeyId ? { kmsKeyId } : {}),
    };
    await persist(secret);
    return secret;
  }

  async function addVersion(secret: StoredSecret, secretString: string) {
    const version = { versionId: randomUUID(), secretString, createdDate: Date.now() / 1000 };
    await persist({ ...secret, versions: [...secret.versions.slice(-1), version] });
    return version;
  }

  const operations: Record<string, (input: Record<string, unknown>) => Promise<unknown>> = {
    async GetSecretValue(input) {
      checkInjected(input.SecretId);
      const secret = find(input.SecretId);
      reads.set(secret.name, (reads.get(secret.name) ?? 0) + 1);
      if (secret.deletedDate !== undefined) {
        throw new ServiceError(
          'InvalidRequestException',
          "You can't perform this operation on the secret because it was marked for deletion.",
        );
      }
      const stage = (input.VersionStage as string | undefined) ?? 'AWSCURRENT';
      const version = input.VersionId
        ? secret.versions.find((v) => v.versionId === input.VersionId)
        : secret.versions.find((v) => stages(secret, v).includes(stage));
      if (!version) {
        throw new ServiceError(
          'ResourceNotFoundException',
          `Secrets Manager can't find the specified secret value for staging label: ${stage}`,
        );
      }
      return {
        ARN: secret.arn,
        Name: secret.name,
        VersionId: version.versionId,
        SecretString: version.secretString,
        VersionStages: stages(secret, version),
        CreatedDate: version.createdDate,
      };
    },
    async CreateSecret(input) {
      const name = input.Name;
      if (typeof name !== 'string' || !/^[\w/+=.@-]{1,512}$/.test(name)) {
        throw new ServiceError(
          'InvalidParameterException',
          'Invalid name. Must be a valid name containing alphanumeric characters, or any of the following: -/_+=.@!',
        );
      }
      checkInjected(name);
      if (secrets.has(name)) {
        throw new ServiceError(
          'ResourceExistsException',
          `The operation failed because the secret ${name} already exists.`,
        );
      }
      if (typeof input.SecretString !== 'string') {
        throw new ServiceError('InvalidRequestException', 'You must provide a SecretString.');
      }
      const secret = await createSecret(
        name,
        input.SecretString,
        input.Description as string | undefined,
        input.KmsKeyId as string | undefined,
      );
      return { ARN: secret.arn, Name: secret.name, VersionId: secret.versions[0]?.versionId };
    },
    async PutSecretValue(input) {
      checkInjected(input.SecretId);
      const secret = find(input.SecretId);
      if (typeof input.SecretString !== 'string') {
        throw new ServiceError('InvalidRequestException', 'You must provide a SecretString.');
      }
      const version = await addVersion(secret, input.SecretString);
      return {
        ARN: secret.arn,
        Name: secret.name,
        VersionId: version.versionId,
        VersionStages: ['AWSCURRENT'],
      };
    },
    async DescribeSecret(input) {
      checkInjected(input.SecretId);
      const secret = find(input.SecretId);
      const versionIdsToStages: Record<string, string[]> = {};
      for (const version of secret.versions)
        versionIdsToStages[version.versionId] = stages(secret, version);
      return {
        ARN: secret.arn,
        Name: secret.name,
        Description: secret.description,
        CreatedDate: secret.createdDate,
        LastChangedDate: secret.versions.at(-1)?.createdDate,
        VersionIdsToStages: versionIdsToStages,
        ...(secret.kmsKeyId ? { KmsKeyId: secret.kmsKeyId } : {}),
        ...(secret.deletedDate !== undefined ? { DeletedDate: secret.deletedDate } : {}),
      };
    },
    async PutResourcePolicy(input) {
      checkInjected(input.SecretId);
      const secret = find(input.SecretId);
      if (typeof input.ResourcePolicy !== 'string') {
        throw new ServiceError('InvalidParameterException', 'You must provide a ResourcePolicy.');
      }
      JSON.parse(input.ResourcePolicy);
      await persist({ ...secret, resourcePolicy: input.ResourcePolicy });
      return { ARN: secret.arn, Name: secret.name };
    },
    async GetResourcePolicy(input) {
      const secret = find(input.SecretId);
      return {
        ARN: secret.arn,
        Name: secret.name,
        ...(secret.resourcePolicy ? { ResourcePolicy: secret.resourcePolicy } : {}),
      };
    },
    async DeleteSecret(input) {
      checkInjected(input.SecretId);
      const secret = find(input.SecretId);
      const window = (input.RecoveryWindowInDays as number | undefined) ?? 30;
      const deletedDate = Date.now() / 1000;
      await persist({ ...secret, deletedDate });
      return {
        ARN: secret.arn,
        Name: secret.name,
        DeletionDate: deletedDate + window * 86_400,
      };
    },
    async ListSecrets() {
      return {
        SecretList: [...secrets.values()].map((secret) => ({
          ARN: secret.arn,
          Name: secret.name,
          Description: secret.description,
          CreatedDate: secret.createdDate,
        })),
      };
    },
  };

  async function handle(request: IncomingMessage, response: ServerResponse) {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const target = request.headers['x-amz-target'];
    const operation =
      typeof target === 'string' && target.startsWith('secretsmanager.')
        ? operations[target.slice('secretsmanager.'.length)]
        : undefined;
    try {
      if (request.method !== 'POST' || !operation) {
        throw new ServiceError('UnknownOperationException', `Unknown operation ${String(target)}`);
      }
      let input: Record<string, unknown>;
      try {
        input = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<
          string,
          unknown
        >;
      } catch {
        throw new ServiceError('InvalidRequestException', 'The request body is not valid JSON.');
      }
      sendAwsJson(response, 200, await operation(input));
    } catch (error) {
      if (error instanceof ServiceError) {
        sendAwsJson(
          response,
          error.status,
          { __type: error.type, message: error.message },
          error.type,
        );
      } else {
        sendAwsJson(
          response,
          500,
          { __type: 'InternalServiceError', message: 'An error occurred on the server side.' },
          'InternalServiceError',
        );
      }
    }
  }

  const server = createServer((request, response) => {
    void handle(request, response);
  });
  await new Promise<void>((resolve, reject) => {
    // A taken port must reject (and be reported by the caller), not crash the process.
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;

  return {
    endpoint: `http://127.0.0.1:${port}`,
    server,
    async putSecret(name, secretString) {
      const existing = secrets.get(name);
      if (existing) {
        const version = await addVersion(existing, secretString);
        return { arn: existing.arn, versionId: version.versionId };
      }
      const secret = await createSecret(name, secretString);
      return { arn: secret.arn, versionId: secret.versions[0]?.versionId ?? '' };
    },
    failNext(secretId, type, times = 1) {
      injected.set(secretId, { type, times });
    },
    readCount: (name) => reads.get(name) ?? 0,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
