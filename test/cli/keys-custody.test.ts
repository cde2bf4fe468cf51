/**
 * `keys create` and `keys rotate` key custody through the real SDK clients against the local
 * Secrets Manager, KMS and DynamoDB endpoints: the stack's KMS key, the reader resource policy,
 * KMS-held keys, staging, and `--finish` retiring the old key.
 */
import {
  DescribeSecretCommand,
  GetResourcePolicyCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDynamoOrgRegistry } from '../../lambda/adapters/org-registry';
import { validateOrgRecord } from '../../lambda/core/org-record';
import { type LocalKms, startKmsServer } from '../../local/kms-server';
import {
  type LocalSecretsManager,
  startSecretsManagerServer,
} from '../../local/secrets-manager-server';
import { type LocalDynamo, startDynalite } from '../support/dynalite';
import { isDenied, type Statement } from '../support/iam-evaluator';
import { type CliRun, cli } from './run-cli';

const TOKEN_ROLE = 'arn:aws:iam::123456789012:role/TokenBroker-TokenFunctionRole';
const BREAK_GLASS = 'arn:aws:iam::123456789012:role/BreakGlass';
let dynamo: LocalDynamo;
let secrets: LocalSecretsManager;
let kms: LocalKms;
let secretsClient: SecretsManagerClient;
let tableName: string;
let target: string[];
const outputs: string[] = [];

async function run(...args: string[]): Promise<CliRun> {
  const result = await cli([...args, ...target]);
  outputs.push(result.stdout, result.stderr);
  return result;
}

beforeAll(async () => {
  [dynamo, secrets, kms] = await Promise.all([
    startDynalite(),
    startSecretsManagerServer(),
    startKmsServer(),
  ]);
  tableName = await dynamo.createTable();
  target = [
    '--local',
    '--dynamodb-endpoint',
    dynamo.endpoint,
    '--secrets-endpoint',
    secrets.endpoint,
    '--kms-endpoint',
    kms.endpoint,
    '--table',
    tableName,
  ];
  secretsClient = new SecretsManagerClient({
    endpoint: secrets.endpoint,
    region: 'eu-west-1',
    credentials: { accessKeyId: 'l', secretAccessKey: 'l' },
  });
});
afterAll(async () => {
  secretsClient.destroy();
  await Promise.all([dynamo.close(), secrets.close(), kms.close()]);
});

describe('keys create: custody', () => {
  it("encrypts with the stack's key and lets only the token role and the break-glass role read", async () => {
    const secretsKey = await kms.createKey({ description: 'secrets' });
    const result = await run(
      'keys',
      'create',
      '--org',
      'custody',
      '--secrets-kms-key',
      secretsKey.arn,
      '--reader-role',
      TOKEN_ROLE,
      '--break-glass-role',
      BREAK_GLASS,
      '--json',
    );
    expect(result.code, result.stderr).toBe(0);
    expect(result.json()).toMatchObject({
      kind: 'secret',
      encryptedWith: secretsKey.arn,
      readers: [TOKEN_ROLE, BREAK_GLASS],
    });
    const described = await secretsClient.send(
      new DescribeSecretCommand({ SecretId: 'salesforce-token-broker/custody' }),
    );
    expect(described.KmsKeyId).toBe(secretsKey.arn);
    const { ResourcePolicy } = await secretsClient.send(
      new GetResourcePolicyCommand({ SecretId: 'salesforce-token-broker/custody' }),
    );
    const policy = JSON.parse(ResourcePolicy ?? '{}') as { Statement: Statement[] };
    const read = (principal: string) => ({
      action: 'secretsmanager:GetSecretValue',
      resource: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:x',
      principal,
    });
    expect(isDenied(policy.Statement, read(TOKEN_ROLE))).toBe(false);
    expect(isDenied(policy.Statement, read(BREAK_GLASS))).toBe(false);
    expect(
      isDenied(policy.Statement, read('arn:aws:iam::123456789012:role/OAuthFunctionRole')),
    ).toBe(true);
    expect(isDenied(policy.Statement, read('arn:aws:iam::123456789012:role/Admin'))).toBe(true);
  });

  it('holds the key in KMS with --kms: the secret names the key and carries no private key', async () => {
    const result = await run('keys', 'create', '--org', 'inkms', '--kms', '--json');
    expect(result.code, result.stderr).toBe(0);
    expect(result.json()).toMatchObject({
      kind: 'kms',
      kmsKeyId: 'alias/salesforce-token-broker/inkms',
    });
    expect(result.stdout).not.toContain('PRIVATE KEY');
  });
});

describe('keys rotate', () => {
  it('stages the next key, refuses to finish before the promotion, then folds it in and retires the old key', async () => {
    const registry = createDynamoOrgRegistry({
      client: dynamo.documents,
      tableName,
    });
    expect((await run('keys', 'create', '--org', 'acme')).code).toBe(0);
    await registry.putOrg(
      validateOrgRecord({
        orgId: 'acme',
        loginUrl: 'https://login.salesforce.com',
        consumerKey: 'key',
        username: 'integration@acme.example',
        signingKeySecretId: 'salesforce-token-broker/acme',
      }),
    );
    const rotated = await run('keys', 'rotate', '--org', 'acme', '--kms', '--json');
    expect(rotated.code, rotated.stderr).toBe(0);
    const staged = rotated.json<{ secretId: string; kmsKeyId: string }>();
    expect(staged.secretId).toMatch(/^salesforce-token-broker\/acme-\d{8}t\d{6}z$/);
    expect(staged.kmsKeyId).toBe(`alias/${staged.secretId}`);
    expect(await registry.getKeyRotation('acme')).toMatchObject({
      stagedSecretId: staged.secretId,
    });

    const early = await run('keys', 'rotate', '--org', 'acme', '--finish');
    expect(early.code).toBe(1);
    expect(early.stderr).toContain('not promoted yet');

    // What the token function does when Salesforce takes the staged key.
    await registry.promoteStagedKey('acme', {
      staged: staged.secretId,
      previous: 'salesforce-token-broker/acme',
      at: new Date().toISOString(),
    });
    const finished = await run('keys', 'rotate', '--org', 'acme', '--finish', '--json');
    expect(finished.code, finished.stderr).toBe(0);
    expect(finished.json()).toEqual({
      orgId: 'acme',
      signingKeySecretId: staged.secretId,
      retired: ['secret deleted with a 7-day recovery window'],
    });
    expect((await registry.getOrg('acme'))?.signingKeySecretId).toBe(staged.secretId);
    expect(await registry.getKeyRotation('acme')).toBeUndefined();
    const old = await secretsClient.send(
      new DescribeSecretCommand({ SecretId: 'salesforce-token-broker/acme' }),
    );
    expect(old.DeletedDate).toBeDefined();
    expect(outputs.join('')).not.toContain('PRIVATE KEY');
  });
});
