/**
 * The loopback world every measurement runs against: the Salesforce emulator (one org, one app
 * holding the broker's certificate, one approved integration user per broker org), the local
 * Secrets Manager endpoint holding the signing key, dynalite with the broker's table and the org
 * registry, and the local SNS endpoint. Children get it through Lambda-like environment variables.
 */
import { type RunningEmulator, startEmulator } from '../emulator/server';
import { generateSigningMaterial, type SigningMaterial } from '../keys/signing-material';
import { createDynamoOrgRegistry } from '../lambda/adapters/org-registry';
import { validateOrgRecord } from '../lambda/core/org-record';
import { type LocalKms, startKmsServer } from '../local/kms-server';
import {
  type LocalSecretsManager,
  startSecretsManagerServer,
} from '../local/secrets-manager-server';
import { type LocalSns, startLocalSns } from '../local/sns-server';
import { type LocalDynamo, startDynalite } from '../test/support/dynalite';
import { percentile } from './stats';

export const CALLER_ARN = 'arn:aws:sts::123456789012:assumed-role/Fulfilment/bench';
const SECRET_ID = 'salesforce-token-broker/bench';
const REGION = 'eu-west-1';

export interface BenchOrg {
  readonly orgId: string;
  readonly username: string;
}

export interface BenchWorld {
  readonly emulator: RunningEmulator;
  /** The emulated login host URL every broker org uses. */
  readonly loginUrl: string;
  readonly audience: string;
  readonly consumerKey: string;
  readonly secretId: string;
  readonly secretsEndpoint: string;
  /** The orgs made at start; `orgs[0]` is the org the warm, miss and gateway measurements share. */
  readonly orgs: readonly BenchOrg[];
  /**
   * Registers `count` new orgs (user, approval, registry record) that nothing has requested yet:
   * the shared token table outlives every process, so a measurement that must see a cold org
   * takes its own.
   */
  addOrgs(count: number): Promise<BenchOrg[]>;
  /** Environment of a token function instance on this world (Lambda-like, loopback endpoints). */
  readonly functionEnv: Readonly<Record<string, string>>;
  /** Median ms of `count` outcome writes (the registry's UpdateItem after each fresh exchange). */
  timeOutcomeWrite(count: number): Promise<number>;
  /** The events published so far (the local SNS topic's messages). */
  events(): readonly { readonly type: string; readonly subject: string }[];
  /** Successful token exchanges the emulator has recorded for `username`. */
  exchanges(username: string): Promise<number>;
  /** JWT Bearer logins the emulator has recorded for `username`, failed ones included. */
  logins(username: string): Promise<number>;
  close(): Promise<void>;
}

export async function startWorld(options: { orgCount: number }): Promise<BenchWorld> {
  const [emulator, secrets, dynamo, sns, kms, material]: [
    RunningEmulator,
    LocalSecretsManager,
    LocalDynamo,
    LocalSns,
    LocalKms,
    SigningMaterial,
  ] = await Promise.all([
    startEmulator(),
    startSecretsManagerServer({ region: REGION }),
    startDynalite(),
    startLocalSns({ region: REGION }),
    startKmsServer({ region: REGION }),
    generateSigningMaterial({ commonName: 'token-broker-bench' }),
  ]);
  const [tokenCacheKey, approvalLinkKey] = await Promise.all([
    kms.createKey(),
    kms.createKey({ spec: 'HMAC_256' }),
  ]);
  const { control } = emulator;
  // The benchmark makes thousands of exchanges per user; Salesforce's hourly cap is not measured here.
  await control.updateSettings({ loginsPerHour: 1_000_000 });
  const org = await control.createOrg({ name: 'Bench' });
  const app = await control.createApp(org.id, {
    name: 'Token broker (bench)',
    certificates: [material.certificatePem],
  });
  const tableName = await dynamo.createTable('token-broker-bench');
  const registry = createDynamoOrgRegistry({
    client: dynamo.documents,
    tableName,
  });
  await secrets.putSecret(SECRET_ID, material.secretString);
  const loginUrl = org.loginUrls.shared;
  let made = 0;
  async function addOrgs(count: number): Promise<BenchOrg[]> {
    const added: BenchOrg[] = Array.from({ length: count }, () => {
      const index = made++;
      return { orgId: `bench-${index}`, username: `integration${index}@bench.example` };
    });
    // A few at a time: the emulator and dynalite are loopback servers on a shared 2-core machine.
    for (let start = 0; start < added.length; start += 16) {
      await Promise.all(
        added.slice(start, start + 16).map(async ({ orgId, username }) => {
          await control.createUser(org.id, { username, profile: 'Integration User' });
          await control.approve(username, app.consumerKey);
          await registry.putOrg(
            validateOrgRecord({
              orgId,
              loginUrl,
              consumerKey: app.consumerKey,
              username,
              signingKeySecretId: SECRET_ID,
              callers: [CALLER_ARN],
            }),
          );
        }),
      );
    }
    return added;
  }
  const orgs = await addOrgs(options.orgCount);
  const topicArn = sns.createTopic('token-broker-bench-events');

  return {
    emulator,
    loginUrl,
    audience: 'https://login.salesforce.com',
    consumerKey: app.consumerKey,
    secretId: SECRET_ID,
    secretsEndpoint: secrets.endpoint,
    orgs,
    addOrgs,
    functionEnv: {
      TABLE_NAME: tableName,
      EVENTS_TOPIC_ARN: topicArn,
      PUBLIC_BASE_URL: 'https://broker.example.com/prod',
      POWERTOOLS_SERVICE_NAME: 'salesforce-token-broker',
      POWERTOOLS_METRICS_NAMESPACE: 'SalesforceTokenBroker',
      POWERTOOLS_LOG_LEVEL: 'INFO',
      POWERTOOLS_DEV: 'false',
      SALESFORCE_TIMEOUT_MS: '5000',
      AWS_REGION: REGION,
      AWS_DEFAULT_REGION: REGION,
      AWS_ACCESS_KEY_ID: 'bench',
      AWS_SECRET_ACCESS_KEY: 'bench',
      AWS_SESSION_TOKEN: 'bench',
      AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
      AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.endpoint,
      AWS_ENDPOINT_URL_SNS: sns.endpoint,
      AWS_ENDPOINT_URL_KMS: kms.endpoint,
      TOKEN_CACHE_KEY_ID: tokenCacheKey.arn,
      APPROVAL_LINK_KEY_ID: approvalLinkKey.arn,
      AWS_LAMBDA_FUNCTION_NAME: 'token-broker-bench-TokenFunction',
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '512',
      AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
      AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
      AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x',
    },
    events: () =>
      sns.messages.map(({ message }) => JSON.parse(message) as { type: string; subject: string }),
    async timeOutcomeWrite(count) {
      const orgId = orgs[0]?.orgId ?? 'bench-0';
      const durations: number[] = [];
      for (let i = 0; i < count; i += 1) {
        const started = performance.now();
        await registry.recordExchangeOutcome(orgId, {
          at: new Date().toISOString(),
          ok: true,
          category: undefined,
          salesforce: undefined,
          requestId: `outcome-${i}`,
          latencyMs: 1,
        });
        durations.push(performance.now() - started);
      }
      return percentile(durations, 50);
    },
    exchanges: (username) => control.countTokenExchanges(username),
    async logins(username) {
      const history = await control.loginHistory({ username });
      return history.filter((login) => login.grant === 'jwt-bearer').length;
    },
    async close() {
      await Promise.all([
        emulator.close(),
        secrets.close(),
        dynamo.close(),
        sns.close(),
        kms.close(),
      ]);
    },
  };
}
