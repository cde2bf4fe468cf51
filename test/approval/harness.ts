/**
 * The whole approval loop on loopback, composed as the deployed functions are: the local gateway
 * in front of the real token and OAuth handlers, DynamoDB (dynalite), Secrets Manager (local
 * endpoint), the Salesforce emulator, and one schema-checking event recorder. Each test gets a
 * freshly composed broker (no warm caches) over a reset emulator world.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { Browser } from 'playwright-core';
import { type RunningEmulator, startEmulator } from '../../emulator/server';
import { launchBrowser } from '../../emulator/testing/browser';
import { createKmsApprovalLinkSigner } from '../../lambda/adapters/approval-link-signer';
import { createDynamoOrgRegistry } from '../../lambda/adapters/org-registry';
import { buildApprovalLink } from '../../lambda/core/approval-links';
import { SYSTEM_TIME, type TimeSource } from '../../lambda/core/deadline';
import { METRIC_NAMESPACE, SERVICE_NAME } from '../../lambda/core/metrics';
import { validateOrgRecord } from '../../lambda/core/org-record';
import { DEFAULT_APPROVAL_LINK_TTL_SECONDS } from '../../lambda/handlers/approval-link-config';
import { readEventsConfig } from '../../lambda/handlers/events-config';
import { composeOAuthFunction } from '../../lambda/handlers/oauth-function';
import { composeTokenFunction } from '../../lambda/handlers/token-function';
import { createApprovalLinks } from '../../lambda/services/approval-links';
import { createLocalAwsClient } from '../../local/aws-clients';
import { type LocalGateway, type RestHandler, startGateway } from '../../local/gateway';
import { createInProcessTokenFunctionInvoker } from '../../local/in-process-invoker';
import { type LocalKms, startKmsServer } from '../../local/kms-server';
import {
  type LocalSecretsManager,
  startSecretsManagerServer,
} from '../../local/secrets-manager-server';
import { type LocalDynamo, startDynalite } from '../support/dynalite';
import { RecordingPublisher } from '../support/events';
import { type SigningMaterial, signingMaterial } from '../support/keys';

export const CALLER = 'arn:aws:sts::123456789012:assumed-role/Fulfilment/e2e';
export const INTEGRATION_USER = 'integration@acme.example';
export const ADMIN_USER = 'admin@acme.example';
export const SF_HOST = 'acme.my.salesforce.com';

export interface Stack {
  readonly gateway: LocalGateway;
  readonly emulator: RunningEmulator;
  readonly browser: Browser;
  readonly key: SigningMaterial;
  close(): Promise<void>;
}

export interface Broker {
  readonly events: RecordingPublisher;
  readonly consumerKey: string;
  /** A link minted as the broker mints them (local KMS HMAC key), for org `acme`. */
  readonly approvalLink: string;
  /** A link for any org and expiry (seconds since the epoch), signed with the stack's key. */
  signApprovalLink(orgId: string, expiresAt: number): Promise<string>;
  /** Moves the OAuth function's clock (not Salesforce's). */
  advanceClock(ms: number): void;
  requestToken(): Promise<{ status: number; body: Record<string, unknown> }>;
}

let handlers: { token?: RestHandler; oauth?: RestHandler } = {};
let dynamo: LocalDynamo;
let secrets: LocalSecretsManager;
let kms: LocalKms;
let tokenCacheKeyId: string;
let approvalLinkKeyId: string;

export async function startStack(): Promise<Stack> {
  const key = await signingMaterial('approval-e2e');
  let emulator: RunningEmulator;
  let browser: Browser;
  [emulator, browser, dynamo, secrets, kms] = await Promise.all([
    startEmulator(),
    launchBrowser(),
    startDynalite(),
    startSecretsManagerServer(),
    startKmsServer(),
  ]);
  tokenCacheKeyId = (await kms.createKey()).arn;
  approvalLinkKeyId = (await kms.createKey({ spec: 'HMAC_256', alias: 'alias/approval-links' }))
    .arn;
  await secrets.putSecret('token-broker/acme', key.secretString);
  await secrets.putSecret('token-broker/acme-consumer', 'the-consumer-secret');
  // Late-bound so each test composes a fresh broker behind the same gateway URL.
  const gateway = await startGateway({
    callerArn: CALLER,
    handlers: {
      token: (event, context) => (handlers.token as RestHandler)(event, context),
      oauth: (event, context) => (handlers.oauth as RestHandler)(event, context),
    },
  });
  return {
    gateway,
    emulator,
    browser,
    key,
    async close() {
      await Promise.all([
        gateway.close(),
        emulator.close(),
        browser.close(),
        secrets.close(),
        kms.close(),
      ]);
      await dynamo.close();
    },
  };
}

export interface WorldOptions {
  /** Emulator app settings, e.g. `{ blocked: true }`. */
  readonly app?: Record<string, unknown>;
  /** Extra org record fields, e.g. `{ consumerSecretId }`. */
  readonly org?: Record<string, unknown>;
  /** Certificate uploaded to the app. @default the broker's own */
  readonly certificatePem?: string;
}

/** Resets the emulator to one org, app and two users, and composes a fresh broker for it. */
export async function composeBroker(stack: Stack, options: WorldOptions = {}): Promise<Broker> {
  const { emulator, gateway } = stack;
  const control = emulator.control;
  await control.reset();
  const sfOrg = await control.createOrg({ myDomainHost: SF_HOST });
  const app = await control.createApp(sfOrg.id, {
    name: 'Token Broker',
    certificates: [options.certificatePem ?? stack.key.certificatePem],
    callbackUrls: [`${gateway.url}/oauth/callback`],
    consumerSecret: 'the-consumer-secret',
    ...options.app,
  });
  await control.createUser(sfOrg.id, { username: INTEGRATION_USER });
  await control.createUser(sfOrg.id, { username: ADMIN_USER, profile: 'System Administrator' });

  const tableName = await dynamo.createTable();
  const documents = dynamo.documents;
  const registry = createDynamoOrgRegistry({ client: documents, tableName });
  await registry.putOrg(
    validateOrgRecord({
      orgId: 'acme',
      loginUrl: emulator.hostUrl(SF_HOST),
      consumerKey: app.consumerKey,
      username: INTEGRATION_USER,
      signingKeySecretId: 'token-broker/acme',
      callers: ['arn:aws:iam::123456789012:role/Fulfilment'],
      ...options.org,
    }),
  );

  const events = new RecordingPublisher();
  let offsetMs = 0;
  // The OAuth function's clock moves with advanceClock; its timers stay real.
  const oauthTime: TimeSource = { now: () => Date.now() + offsetMs, after: SYSTEM_TIME.after };
  const runtime = {
    logger: new Logger({ serviceName: SERVICE_NAME }),
    metrics: new Metrics({ namespace: METRIC_NAMESPACE, serviceName: SERVICE_NAME }),
    clients: () => ({ dynamo: documents, secrets: secretsClient, kms: kmsClient }),
    publisher: events,
  };
  const eventsConfig = (role: 'token' | 'oauth') =>
    readEventsConfig(
      { EVENTS_TOPIC_ARN: 'arn:aws:sns:eu-west-1:123456789012:e2e', TABLE_NAME: tableName },
      role,
    );
  const kmsClient = createLocalAwsClient('kms', kms.endpoint);
  const secretsClient = new SecretsManagerClient({
    endpoint: secrets.endpoint,
    region: 'eu-west-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  const approvalLinks = {
    keyId: approvalLinkKeyId,
    lifetimeSeconds: DEFAULT_APPROVAL_LINK_TTL_SECONDS,
  };
  const signer = createKmsApprovalLinkSigner({ client: kmsClient, keyId: approvalLinkKeyId });
  const links = createApprovalLinks({
    signer,
    publicBaseUrl: gateway.url,
    lifetimeSeconds: DEFAULT_APPROVAL_LINK_TTL_SECONDS,
    clock: () => oauthTime.now(),
    logger: runtime.logger,
  });
  const token = composeTokenFunction(
    {
      token: {
        tableName,
        publicBaseUrl: gateway.url,
        salesforceTimeoutMs: 5000,
        signingKeyMaxAgeSeconds: 300,
        tokenCacheKeyId,
        failureMemorySeconds: 60,
        minTokenAgeSeconds: 30,
        approvalLinks,
      },
      events: eventsConfig('token'),
    },
    runtime,
  );
  handlers = {
    token,
    oauth: composeOAuthFunction(
      {
        oauth: {
          tableName,
          publicBaseUrl: gateway.url,
          salesforceTimeoutMs: 5000,
          stateTtlSeconds: 600,
          approvalLinks,
        },
        events: eventsConfig('oauth'),
      },
      {
        ...runtime,
        time: oauthTime,
        tokenFunction: createInProcessTokenFunctionInvoker(token),
      },
    ),
  };

  return {
    events,
    consumerKey: app.consumerKey,
    approvalLink: await links.mint('acme'),
    async signApprovalLink(orgId, expiresAt) {
      const mac = await signer.sign(orgId, expiresAt);
      return buildApprovalLink(gateway.url, { orgId, expiresAt, mac });
    },
    advanceClock: (ms) => {
      offsetMs += ms;
    },
    async requestToken() {
      const response = await fetch(`${gateway.url}/orgs/acme/token`, { method: 'POST' });
      return { status: response.status, body: (await response.json()) as Record<string, unknown> };
    },
  };
}
