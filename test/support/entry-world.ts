/**
 * The loopback world a Lambda entry (token.ts, oauth.ts) runs in under test: a scripted Salesforce,
 * the local Secrets Manager holding the org's signing key, dynalite with the org registered, and
 * the function's environment pointing its clients (lean and SDK) at them.
 */
import { createDynamoOrgRegistry } from '../../lambda/adapters/org-registry';
import { validateOrgRecord } from '../../lambda/core/org-record';
import { type LocalKms, startKmsServer } from '../../local/kms-server';
import {
  type LocalSecretsManager,
  startSecretsManagerServer,
} from '../../local/secrets-manager-server';
import { type LocalDynamo, startDynalite } from './dynalite';
import { signingMaterial } from './keys';
import { type ScriptedSalesforce, startScriptedSalesforce } from './scripted-salesforce';

export interface EntryWorld {
  readonly salesforce: ScriptedSalesforce;
  readonly secrets: LocalSecretsManager;
  readonly dynamo: LocalDynamo;
  readonly kms: LocalKms;
  readonly tableName: string;
  /** The HMAC key the functions sign approval links with (`APPROVAL_LINK_KEY_ID`). */
  readonly approvalLinkKeyId: string;
}

export interface EntryWorldOptions {
  /** Signing material label (test/support/keys.ts). */
  readonly keyLabel: string;
  readonly orgId: string;
  readonly username: string;
  readonly callers: readonly string[];
  /** @default 'key' */
  readonly consumerKey?: string;
  /** Overrides of the function environment (e.g. a real local SNS endpoint). */
  readonly env?: Record<string, string>;
}

export async function startEntryWorld(options: EntryWorldOptions): Promise<EntryWorld> {
  const [salesforce, secrets, dynamo, kms] = await Promise.all([
    startScriptedSalesforce(),
    startSecretsManagerServer(),
    startDynalite(),
    startKmsServer(),
  ]);
  const [tokenCacheKey, approvalLinkKey] = await Promise.all([
    kms.createKey(),
    kms.createKey({ spec: 'HMAC_256' }),
  ]);
  const tableName = await dynamo.createTable();
  const secretId = `keys/${options.orgId}`;
  await secrets.putSecret(secretId, (await signingMaterial(options.keyLabel)).secretString);
  await createDynamoOrgRegistry({
    client: dynamo.documents,
    tableName,
  }).putOrg(
    validateOrgRecord({
      orgId: options.orgId,
      loginUrl: salesforce.url,
      consumerKey: options.consumerKey ?? 'key',
      username: options.username,
      signingKeySecretId: secretId,
      callers: [...options.callers],
    }),
  );
  Object.assign(process.env, {
    TABLE_NAME: tableName,
    PUBLIC_BASE_URL: 'https://broker.example.com/prod',
    SALESFORCE_TIMEOUT_MS: '2000',
    AWS_REGION: 'eu-west-1',
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.endpoint,
    EVENTS_TOPIC_ARN: 'arn:aws:sns:eu-west-1:000000000000:events',
    // Loopback discard port: a publish here fails fast and is logged, never leaves the machine.
    AWS_ENDPOINT_URL_SNS: 'http://127.0.0.1:9',
    AWS_ENDPOINT_URL_KMS: kms.endpoint,
    TOKEN_CACHE_KEY_ID: tokenCacheKey.arn,
    APPROVAL_LINK_KEY_ID: approvalLinkKey.arn,
    ...options.env,
  });
  return { salesforce, secrets, dynamo, kms, tableName, approvalLinkKeyId: approvalLinkKey.arn };
}
