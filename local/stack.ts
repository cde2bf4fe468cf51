/**
 * The whole product on loopback (docs/local.md), composed as the deployed functions are: the token and
 * OAuth handlers with the real adapters, behind the local API gateway, over DynamoDB (dynalite),
 * the local Secrets Manager endpoint and the Salesforce emulator seeded with the demo org. Events
 * go to the console and a JSON-lines file. `npm start` (start.ts) and the tests start it.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { Logger } from '@aws-lambda-powertools/logger';
import type { LogLevel } from '@aws-lambda-powertools/logger/types';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import dynalite from 'dynalite';
import { DEMO_ADMIN_USERNAME, seedDemoOrg } from '../emulator/demo';
import { startEmulator } from '../emulator/server';
import { createDynamoOrgRegistry } from '../lambda/adapters/org-registry';
import { buildRedirectUri } from '../lambda/core/approval-links';
import { METRIC_NAMESPACE, SERVICE_NAME } from '../lambda/core/metrics';
import { validateOrgRecord } from '../lambda/core/org-record';
import { DEFAULT_APPROVAL_LINK_TTL_SECONDS } from '../lambda/handlers/approval-link-config';
import { type EventsConfig, readEventsConfig } from '../lambda/handlers/events-config';
import type { FunctionRuntime } from '../lambda/handlers/function-runtime';
import { composeOAuthFunction } from '../lambda/handlers/oauth-function';
import { composeTokenFunction } from '../lambda/handlers/token-function';
import { DEFAULT_SECRET_PREFIX } from '../lib/secret-prefix';
import { createLocalAwsClient, createLocalDocuments } from './aws-clients';
import { createLocalCaller } from './callers';
import { createBrokerTable } from './create-table';
import { loadOrCreateDemoKey } from './demo-key';
import { JsonLinesEventSink } from './event-sink';
import { type RestHandler, startGateway } from './gateway';
import { createInProcessTokenFunctionInvoker } from './in-process-invoker';
import { startKmsServer } from './kms-server';
import { startSecretsManagerServer } from './secrets-manager-server';
import { removeStackFile, type StackFile, writeStackFile } from './stack-file';
import { assertPortFree } from './tcp-ports';

export const LOCAL_TABLE = 'token-broker';
export const LOCAL_REGION = 'eu-west-1';
export const DEMO_ORG_ID = 'demo';
export const DEMO_SECRET_ID = `${DEFAULT_SECRET_PREFIX}demo`;
/** The symmetric key the shared token cache is sealed under. */
export const LOCAL_TOKEN_CACHE_KEY_ALIAS = 'alias/salesforce-token-broker-token-cache';
/** The HMAC key approval links are signed with. */
export const LOCAL_APPROVAL_LINK_KEY_ALIAS = 'alias/salesforce-token-broker-approval-links';
/** What the local gateway reports as the SigV4 caller of the IAM routes. */
export const LOCAL_CALLER_ARN = 'arn:aws:sts::123456789012:assumed-role/LocalDeveloper/npm-start';
/** The role the demo org allows (the caller above, normalised). */
export const LOCAL_CALLER_ROLE = 'arn:aws:iam::123456789012:role/LocalDeveloper';

const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };
const LOCAL_SALESFORCE_TIMEOUT_MS = 5000;

/** The events settings as the functions read them in AWS; events go to a file instead of SNS. */
function localEventsConfig(role: 'token' | 'oauth'): EventsConfig {
  return readEventsConfig(
    {
      EVENTS_TOPIC_ARN: `arn:aws:sns:${LOCAL_REGION}:123456789012:local-events`,
      TABLE_NAME: LOCAL_TABLE,
    },
    role,
  );
}

export interface LocalStackOptions {
  /** Folder for the demo key, secrets, events, stack file and persisted DynamoDB. @default '.local' */
  readonly dataDir?: string;
  /** Ports on 127.0.0.1; 0 picks a free one. */
  readonly ports?: {
    /** @default 3000 */
    readonly gateway?: number;
    /** @default 4010 */
    readonly emulator?: number;
    /** @default 0 */
    readonly dynamodb?: number;
    /** @default 0 */
    readonly secretsManager?: number;
  };
  /** Keep DynamoDB on disk under `{dataDir}/dynamodb` instead of memory. @default false */
  readonly persist?: boolean;
  /** The token function's `FAILURE_MEMORY_SECONDS`. @default 60 */
  readonly failureMemorySeconds?: number;
  /** The token function's `MIN_TOKEN_AGE_SECONDS`. @default 30 */
  readonly minTokenAgeSeconds?: number;
  /** Powertools log level of the functions. @default 'ERROR' */
  readonly logLevel?: LogLevel;
  /** Where event summaries go. @default console.log */
  readonly print?: (line: string) => void;
}

export interface LocalStack extends StackFile {
  readonly dataDir: string;
  readonly demo: {
    readonly orgId: string;
    readonly consumerKey: string;
    readonly loginUrl: string;
    readonly integrationUsername: string;
    readonly adminUsername: string;
    readonly certificatePath: string;
    readonly keyGenerated: boolean;
  };
  readonly persisted: boolean;
  close(): Promise<void>;
}

type Closer = () => Promise<void> | void;

async function runClosers(closers: Closer[]): Promise<void> {
  for (const close of closers.reverse()) {
    await Promise.resolve()
      .then(close)
      .catch(() => undefined);
  }
}

async function startDynamo(port: number, path: string | undefined) {
  const server = dynalite({
    createTableMs: 0,
    deleteTableMs: 0,
    updateTableMs: 0,
    ...(path ? { path } : {}),
  });
  await new Promise<void>((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolveListen();
    });
  });
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const close = () =>
    new Promise<void>((resolveClose) => {
      server.close(() => resolveClose());
    });
  return { endpoint, close };
}

/** Starts everything; on any failure, stops what already started and rethrows. */
export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  const dataDir = resolve(options.dataDir ?? '.local');
  const ports = {
    gateway: options.ports?.gateway ?? 3000,
    emulator: options.ports?.emulator ?? 4010,
    dynamodb: options.ports?.dynamodb ?? 0,
    secretsManager: options.ports?.secretsManager ?? 0,
  };
  await assertPortFree({
    service: 'API gateway',
    port: ports.gateway,
    hint: '--port N or TOKEN_BROKER_PORT=N',
  });
  await assertPortFree({
    service: 'Salesforce emulator',
    port: ports.emulator,
    hint: '--emulator-port N or TOKEN_BROKER_EMULATOR_PORT=N',
  });
  await assertPortFree({
    service: 'DynamoDB (dynalite)',
    port: ports.dynamodb,
    hint: '--dynamodb-port N or TOKEN_BROKER_DYNAMODB_PORT=N',
  });
  await assertPortFree({
    service: 'Secrets Manager',
    port: ports.secretsManager,
    hint: '--secrets-port N or TOKEN_BROKER_SECRETS_PORT=N',
  });

  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const closers: Closer[] = [];
  try {
    const demoKey = await loadOrCreateDemoKey(join(dataDir, 'keys'));
    const dynamo = await startDynamo(
      ports.dynamodb,
      options.persist ? join(dataDir, 'dynamodb') : undefined,
    );
    closers.push(dynamo.close);
    const secrets = await startSecretsManagerServer({
      port: ports.secretsManager,
      folder: join(dataDir, 'secrets'),
      region: LOCAL_REGION,
    });
    closers.push(() => secrets.close());
    // Keys live in memory like DynamoDB's items: a restart starts from an empty token cache.
    const kms = await startKmsServer({ region: LOCAL_REGION });
    closers.push(() => kms.close());
    const tokenCacheKey = await kms.createKey({ alias: LOCAL_TOKEN_CACHE_KEY_ALIAS });
    const approvalLinks = {
      keyId: (await kms.createKey({ spec: 'HMAC_256', alias: LOCAL_APPROVAL_LINK_KEY_ALIAS })).arn,
      lifetimeSeconds: DEFAULT_APPROVAL_LINK_TTL_SECONDS,
    };
    const emulator = await startEmulator({ port: ports.emulator });
    closers.push(() => emulator.close());

    const dynamoClient = new DynamoDBClient({
      endpoint: dynamo.endpoint,
      region: LOCAL_REGION,
      credentials: LOCAL_CREDENTIALS,
    });
    closers.push(() => dynamoClient.destroy());
    const secretsClient = new SecretsManagerClient({
      endpoint: secrets.endpoint,
      region: LOCAL_REGION,
      credentials: LOCAL_CREDENTIALS,
    });
    closers.push(() => secretsClient.destroy());
    const kmsClient = createLocalAwsClient('kms', kms.endpoint, { region: LOCAL_REGION });
    await createBrokerTable(dynamoClient, LOCAL_TABLE).catch((error: { name?: string }) => {
      if (error.name !== 'ResourceInUseException') throw error;
    });
    await secrets.putSecret(
      DEMO_SECRET_ID,
      JSON.stringify({ privateKey: demoKey.privateKeyPem, certificate: demoKey.certificatePem }),
    );

    // The handlers need the gateway's URL (PUBLIC_BASE_URL) and the gateway needs handlers.
    const handlers: { token?: RestHandler; oauth?: RestHandler } = {};
    const caller = createLocalCaller(LOCAL_CALLER_ARN, LOCAL_REGION);
    const gateway = await startGateway({
      port: ports.gateway,
      sigv4: caller.sigv4,
      handlers: {
        token: (event, context) => (handlers.token as RestHandler)(event, context),
        oauth: (event, context) => (handlers.oauth as RestHandler)(event, context),
      },
    });
    closers.push(() => gateway.close());
    const publicBaseUrl = gateway.url;

    const demo = await seedDemoOrg(emulator.control, {
      certificatePem: demoKey.certificatePem,
      callbackUrl: buildRedirectUri(publicBaseUrl),
    });
    // The SDK client above only creates the table; the adapters run on the functions' clients.
    const documents = createLocalDocuments(dynamo.endpoint, { region: LOCAL_REGION });
    const registry = createDynamoOrgRegistry({ client: documents, tableName: LOCAL_TABLE });
    await registry.putOrg(
      validateOrgRecord({
        orgId: DEMO_ORG_ID,
        loginUrl: demo.loginUrl,
        consumerKey: demo.app.consumerKey,
        username: demo.integrationUsername,
        signingKeySecretId: DEMO_SECRET_ID,
        callers: [LOCAL_CALLER_ROLE],
      }),
    );

    const eventsFile = join(dataDir, 'events.jsonl');
    await writeFile(eventsFile, '');
    const runtime: Omit<FunctionRuntime, 'logger'> = {
      metrics: new Metrics({ namespace: METRIC_NAMESPACE, serviceName: SERVICE_NAME }),
      clients: () => ({ dynamo: documents, secrets: secretsClient, kms: kmsClient }),
      publisher: new JsonLinesEventSink(eventsFile, options.print),
    };
    const logLevel = options.logLevel ?? 'ERROR';
    // The same compositions as the Lambda entries; only the clients and the event sink differ.
    const token = composeTokenFunction(
      {
        token: {
          tableName: LOCAL_TABLE,
          publicBaseUrl,
          salesforceTimeoutMs: LOCAL_SALESFORCE_TIMEOUT_MS,
          signingKeyMaxAgeSeconds: 300,
          tokenCacheKeyId: tokenCacheKey.arn,
          failureMemorySeconds: options.failureMemorySeconds ?? 60,
          minTokenAgeSeconds: options.minTokenAgeSeconds ?? 30,
          approvalLinks,
        },
        events: localEventsConfig('token'),
      },
      { ...runtime, logger: new Logger({ serviceName: SERVICE_NAME, logLevel }) },
    );
    handlers.token = token;
    handlers.oauth = composeOAuthFunction(
      {
        oauth: {
          tableName: LOCAL_TABLE,
          publicBaseUrl,
          salesforceTimeoutMs: LOCAL_SALESFORCE_TIMEOUT_MS,
          stateTtlSeconds: 600,
          approvalLinks,
        },
        events: localEventsConfig('oauth'),
      },
      {
        ...runtime,
        logger: new Logger({ serviceName: SERVICE_NAME, logLevel }),
        tokenFunction: createInProcessTokenFunctionInvoker(token),
      },
    );

    const stackFile: StackFile = {
      version: 1,
      pid: process.pid,
      region: LOCAL_REGION,
      tableName: LOCAL_TABLE,
      publicBaseUrl,
      dynamodbEndpoint: dynamo.endpoint,
      secretsManagerEndpoint: secrets.endpoint,
      kmsEndpoint: kms.endpoint,
      tokenCacheKeyId: tokenCacheKey.arn,
      approvalLinkKeyId: approvalLinks.keyId,
      emulatorUrl: emulator.url,
      eventsFile,
      demoOrgId: DEMO_ORG_ID,
      callerArn: LOCAL_CALLER_ARN,
      caller: caller.credentials,
    };
    const stackFilePath = join(dataDir, 'stack.json');
    await writeStackFile(stackFilePath, stackFile);
    closers.push(() => removeStackFile(stackFilePath));

    let closing: Promise<void> | undefined;
    return {
      ...stackFile,
      dataDir,
      persisted: options.persist === true,
      demo: {
        orgId: DEMO_ORG_ID,
        consumerKey: demo.app.consumerKey,
        loginUrl: demo.loginUrl,
        integrationUsername: demo.integrationUsername,
        adminUsername: DEMO_ADMIN_USERNAME,
        certificatePath: demoKey.certificatePath,
        keyGenerated: demoKey.generated,
      },
      close() {
        closing ??= runClosers(closers);
        return closing;
      },
    };
  } catch (error) {
    await runClosers(closers);
    throw error;
  }
}
