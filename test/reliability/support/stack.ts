/**
 * The whole token path as production composes it, on loopback: `composeTokenFunction` and
 * `composeOAuthFunction` over the production clients (`createAwsClients`: the functions' lean
 * clients and the Secrets Manager SDK client, pointed at local endpoints through
 * `AWS_ENDPOINT_URL_*`), incidents in the DynamoDB table and
 * events on SNS, the Salesforce emulator with real certificates, dynalite behind a
 * fault proxy, the local Secrets Manager and the local SNS endpoint behind another. Faults are injected at each
 * of those endpoints, never by mocking code.
 *
 * The SDK reads its endpoints from the environment when a client is built, so a process runs one
 * stack at a time (vitest runs each file in its own process).
 */
import type { APIGatewayProxyResult } from 'aws-lambda';
import type { EmulatorClient } from '../../../emulator/client';
import type { App } from '../../../emulator/model';
import { type RunningEmulator, startEmulator } from '../../../emulator/server';
import { createKmsApprovalLinkSigner } from '../../../lambda/adapters/approval-link-signer';
import {
  createDynamoOrgRegistry,
  type DynamoOrgRegistry,
} from '../../../lambda/adapters/org-registry';
import { createDynamoSharedTokenStore } from '../../../lambda/adapters/shared-token-store';
import { validateOrgRecord } from '../../../lambda/core/org-record';
import type { OrgRecord } from '../../../lambda/core/types';
import { DEFAULT_APPROVAL_LINK_TTL_SECONDS } from '../../../lambda/handlers/approval-link-config';
import { readEventsConfig } from '../../../lambda/handlers/events-config';
import { createAwsClients } from '../../../lambda/handlers/function-runtime';
import { readOAuthConfig } from '../../../lambda/handlers/oauth-config';
import { composeOAuthFunction } from '../../../lambda/handlers/oauth-function';
import { logger, metrics } from '../../../lambda/handlers/observability';
import type { RestHandler } from '../../../lambda/handlers/rest-handler';
import { readTokenConfig } from '../../../lambda/handlers/token-config';
import {
  composeTokenFunction,
  type TokenFunctionHandler,
} from '../../../lambda/handlers/token-function';
import { createApprovalLinks } from '../../../lambda/services/approval-links';
import { createLocalAwsClient } from '../../../local/aws-clients';
import { createInProcessTokenFunctionInvoker } from '../../../local/in-process-invoker';
import { startKmsServer } from '../../../local/kms-server';
import { buildRestEvent, createLambdaContext, type RestRequest } from '../../../local/rest-event';
import {
  type LocalSecretsManager,
  startSecretsManagerServer,
} from '../../../local/secrets-manager-server';
import { type LocalSns, startLocalSns } from '../../../local/sns-server';
import { type LocalDynamo, startDynalite } from '../../support/dynalite';
import { type SigningMaterial, signingMaterial } from '../../support/keys';
import { checkResponse } from '../../support/openapi';
import { type FaultProxy, startFaultProxy } from './fault-proxy';

export const CALLER_ROLE = 'arn:aws:iam::123456789012:role/Fulfilment';
/** How API Gateway reports a request signed with credentials of {@link CALLER_ROLE}. */
export const CALLER = 'arn:aws:sts::123456789012:assumed-role/Fulfilment/i-0abc';
export const PUBLIC_BASE_URL = 'https://broker.example.com/prod';
export const SECRET_ID = 'token-broker/reliability';
export const LOGIN_HOST = 'login.salesforce.com';

export const ROUTES = {
  token: { method: 'POST', resource: '/orgs/{orgId}/token' },
  invalidate: { method: 'DELETE', resource: '/orgs/{orgId}/token' },
  status: { method: 'GET', resource: '/orgs/{orgId}/status' },
} as const;

export const OAUTH_ROUTES = {
  authorize: { method: 'GET', resource: '/oauth/authorize' },
  callback: { method: 'GET', resource: '/oauth/callback' },
} as const;

export const REDIRECT_URI = `${PUBLIC_BASE_URL}/oauth/callback`;

export interface StackOptions {
  /** `SALESFORCE_TIMEOUT_MS`, the per-attempt limit. @default 1000 */
  readonly salesforceTimeoutMs?: number;
  /** SNS per-attempt timeout, ms. @default 1000 (the production default) */
  readonly snsAttemptTimeoutMs?: number;
  /** `SIGNING_KEY_MAX_AGE_SECONDS`. @default 300 */
  readonly signingKeyMaxAgeSeconds?: number;
  /** `MIN_TOKEN_AGE_SECONDS`. @default 30 */
  readonly minTokenAgeSeconds?: number;
}

/** Thrown when the handler has not answered when the function's timeout is reached. */
export class LambdaTimeoutError extends Error {
  override readonly name = 'LambdaTimeoutError';
}

export interface Invocation extends APIGatewayProxyResult {
  readonly json: Record<string, unknown>;
  /** Differences from docs/openapi.yaml; empty when the response is documented. */
  readonly contractProblems: string[];
  readonly elapsedMs: number;
}

export interface InvokeRequest extends Partial<RestRequest> {
  readonly route: keyof typeof ROUTES;
  readonly orgId?: string;
  /** The Lambda function's timeout for this invocation. @default 10000 */
  readonly timeoutMs?: number;
}

export type TokenHandler = TokenFunctionHandler;

export interface Stack {
  readonly emulator: RunningEmulator;
  readonly control: EmulatorClient;
  readonly app: App;
  readonly emulatorOrgId: string;
  readonly dynamo: LocalDynamo;
  /** In front of dynalite: DynamoDB faults. */
  readonly proxy: FaultProxy;
  /** In front of the local SNS: SNS faults. */
  readonly snsProxy: FaultProxy;
  readonly secrets: LocalSecretsManager;
  readonly sns: LocalSns;
  readonly material: SigningMaterial;
  readonly registry: DynamoOrgRegistry;
  readonly tableName: string;
  readonly topicArn: string;
  /** A fresh function instance: its own caches, SDK clients and cold start. */
  createHandler(): TokenHandler;
  /** A fresh OAuth function instance, composed by the production wiring (oauth-wiring.ts). */
  createOAuthHandler(): RestHandler;
  /** Invokes `handler` (default: the stack's first instance) with a REST proxy event. */
  invoke(request: InvokeRequest, handler?: TokenHandler): Promise<Invocation>;
  /**
   * Registers an org whose integration user exists in the emulator (approved unless told not to).
   * @returns the org record and its username
   */
  /**
   * Ends the org's remembered failure, as its Retry-After running out would (the tests do not wait
   * for it), writing around the DynamoDB fault proxy.
   */
  forgetFailure(orgId: string): Promise<void>;
  addOrg(
    orgId: string,
    options?: { approved?: boolean; loginUrl?: string; signingKeySecretId?: string },
  ): Promise<OrgRecord>;
  /** The query of a fresh approval link for `orgId`, signed with the stack's HMAC key. */
  approvalLinkQuery(orgId: string): Promise<Record<string, string>>;
  /** Events the local SNS accepted, parsed. */
  events(): { id: string; type: string; subject: string; data: Record<string, unknown> }[];
  close(): Promise<void>;
}

export function usernameOf(orgId: string): string {
  return `integration@${orgId}.example`;
}

export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const [emulator, dynamo, secrets, sns, kms, material] = await Promise.all([
    startEmulator(),
    startDynalite(),
    startSecretsManagerServer(),
    startLocalSns(),
    startKmsServer(),
    signingMaterial('reliability'),
    startKmsServer(),
  ]);
  const tokenCacheKey = await kms.createKey();
  const approvalLinkKey = await kms.createKey({ spec: 'HMAC_256' });
  const kmsClient = createLocalAwsClient('kms', kms.endpoint);
  const approvalLinks = createApprovalLinks({
    signer: createKmsApprovalLinkSigner({ client: kmsClient, keyId: approvalLinkKey.arn }),
    publicBaseUrl: PUBLIC_BASE_URL,
    lifetimeSeconds: DEFAULT_APPROVAL_LINK_TTL_SECONDS,
    clock: Date.now,
    logger,
    reuseMs: 0,
  });
  const [proxy, snsProxy] = await Promise.all([
    startFaultProxy(dynamo.endpoint),
    startFaultProxy(sns.endpoint),
  ]);
  Object.assign(process.env, {
    AWS_REGION: 'eu-west-1',
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    AWS_ENDPOINT_URL_DYNAMODB: proxy.endpoint,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.endpoint,
    AWS_ENDPOINT_URL_SNS: snsProxy.endpoint,
    AWS_ENDPOINT_URL_KMS: kms.endpoint,
  });
  const tableName = await dynamo.createTable();
  const topicArn = sns.createTopic('token-broker-events');
  await secrets.putSecret(SECRET_ID, material.secretString);
  const { control } = emulator;
  const emulatorOrg = await control.createOrg({ name: 'Reliability' });
  const app = await control.createApp(emulatorOrg.id, {
    certificates: [material.certificatePem],
    callbackUrls: [REDIRECT_URI],
  });
  const registry = createDynamoOrgRegistry({
    client: dynamo.documents,
    tableName,
  });
  const events = readEventsConfig({ EVENTS_TOPIC_ARN: topicArn, TABLE_NAME: tableName }, 'token');
  // The production clients, with the SNS attempt timeout a test may shorten.
  const runtime = {
    logger,
    metrics,
    clients: async () => ({
      ...(await createAwsClients()),
      sns: createLocalAwsClient('sns', snsProxy.endpoint, {
        ...(options.snsAttemptTimeoutMs ? { attemptTimeoutMs: options.snsAttemptTimeoutMs } : {}),
      }),
    }),
  };

  function createHandler(): TokenHandler {
    return composeTokenFunction(
      {
        token: readTokenConfig({
          TABLE_NAME: tableName,
          PUBLIC_BASE_URL,
          SALESFORCE_TIMEOUT_MS: String(options.salesforceTimeoutMs ?? 1000),
          SIGNING_KEY_MAX_AGE_SECONDS: String(options.signingKeyMaxAgeSeconds ?? 300),
          TOKEN_CACHE_KEY_ID: tokenCacheKey.arn,
          MIN_TOKEN_AGE_SECONDS: String(options.minTokenAgeSeconds ?? 30),
          APPROVAL_LINK_KEY_ID: approvalLinkKey.arn,
        }),
        events,
      },
      runtime,
    );
  }

  const first = createHandler();

  return {
    emulator,
    control,
    app,
    emulatorOrgId: emulatorOrg.id,
    dynamo,
    proxy,
    snsProxy,
    secrets,
    sns,
    material,
    registry,
    tableName,
    topicArn,
    createHandler,
    createOAuthHandler: () =>
      composeOAuthFunction(
        {
          oauth: readOAuthConfig({
            TABLE_NAME: tableName,
            PUBLIC_BASE_URL,
            // Named as in AWS; the in-process invoker below reaches the token function instead.
            TOKEN_FUNCTION_NAME: 'token-broker-token',
            SALESFORCE_TIMEOUT_MS: String(options.salesforceTimeoutMs ?? 1000),
            TOKEN_CACHE_KEY_ID: tokenCacheKey.arn,
            APPROVAL_LINK_KEY_ID: approvalLinkKey.arn,
          }),
          events: { ...events, source: 'urn:salesforce-token-broker:oauth' },
        },
        { ...runtime, tokenFunction: createInProcessTokenFunctionInvoker(first) },
      ),
    async invoke(request, handler = first) {
      const { method, resource } = ROUTES[request.route];
      const orgId = request.orgId ?? 'acme';
      const event = buildRestEvent({
        method,
        resource,
        path: resource.replace('{orgId}', encodeURIComponent(orgId)),
        pathParameters: { orgId },
        callerArn: CALLER,
        ...request,
      });
      const timeoutMs = request.timeoutMs ?? 10_000;
      const started = performance.now();
      let timer: NodeJS.Timeout | undefined;
      // Lambda stops the function at its timeout, whatever it is doing: so does this race.
      const timedOut = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new LambdaTimeoutError(`no answer within the ${timeoutMs} ms timeout`)),
          timeoutMs,
        );
      });
      const response = (await Promise.race([
        handler(event, createLambdaContext({ timeoutMs })),
        timedOut,
      ]).finally(() => clearTimeout(timer))) as APIGatewayProxyResult;
      const elapsedMs = performance.now() - started;
      let json: Record<string, unknown> = {};
      try {
        json = response.body ? (JSON.parse(response.body) as Record<string, unknown>) : {};
      } catch {
        json = { unparsable: response.body };
      }
      return {
        ...response,
        json,
        contractProblems: checkResponse(method, resource, response),
        elapsedMs,
      };
    },
    forgetFailure: (orgId) =>
      createDynamoSharedTokenStore({
        client: dynamo.documents,
        tableName,
      }).clearFailure(orgId),
    async addOrg(orgId, addOptions = {}) {
      const username = usernameOf(orgId);
      await control.createUser(emulatorOrg.id, { username });
      if (addOptions.approved ?? true) {
        await control.approve(username, app.consumerKey, ['api', 'refresh_token']);
      }
      const record = validateOrgRecord({
        orgId,
        loginUrl: addOptions.loginUrl ?? emulator.hostUrl(LOGIN_HOST),
        audience: 'https://login.salesforce.com',
        consumerKey: app.consumerKey,
        username,
        signingKeySecretId: addOptions.signingKeySecretId ?? SECRET_ID,
        callers: [CALLER_ROLE],
      });
      await registry.putOrg(record);
      return record;
    },
    events() {
      return sns.messages.map(
        (message) =>
          JSON.parse(message.message) as {
            id: string;
            type: string;
            subject: string;
            data: Record<string, unknown>;
          },
      );
    },
    async approvalLinkQuery(orgId) {
      return Object.fromEntries(new URL(await approvalLinks.mint(orgId)).searchParams);
    },
    async close() {
      await Promise.all([
        emulator.close(),
        proxy.close(),
        secrets.close(),
        sns.close(),
        kms.close(),
      ]);
      await dynamo.close();
    },
  };
}
