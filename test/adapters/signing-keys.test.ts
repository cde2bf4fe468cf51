import { createPrivateKey, createPublicKey, verify } from 'node:crypto';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createSecretsManagerSigningKeys } from '../../lambda/adapters/signing-keys';
import { buildAssertionClaims, signAssertion } from '../../lambda/core/assertion';
import { BrokerError } from '../../lambda/core/errors';
import {
  type LocalSecretsManager,
  startSecretsManagerServer,
} from '../../local/secrets-manager-server';
import { signingMaterial } from '../support/keys';

// The PEM is parsed once, by node:crypto: importing must not need jose's PEM parser as well.
vi.mock('jose', async (importOriginal) => ({
  ...(await importOriginal<typeof import('jose')>()),
  importPKCS8: () => {
    throw new Error('the PEM was parsed a second time');
  },
}));

const ORG = {
  consumerKey: 'key',
  username: 'user@acme.example',
  audience: 'https://login.salesforce.com',
};
let local: LocalSecretsManager;
let client: SecretsManagerClient;

beforeAll(async () => {
  local = await startSecretsManagerServer();
  client = new SecretsManagerClient({
    endpoint: local.endpoint,
    region: 'eu-west-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 1,
  });
});
afterAll(async () => {
  client.destroy();
  await local.close();
});

async function categoryOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(BrokerError);
    return `${(error as BrokerError).category}: ${(error as BrokerError).message}`;
  }
  return 'resolved';
}

describe('Secrets Manager signing keys (real SDK client, local endpoint)', () => {
  it('reads the JSON signing key secret, signs with it, and reports the certificate but not the key', async () => {
    const material = await signingMaterial('sm-json');
    const { versionId } = await local.putSecret('keys/json', material.secretString);
    const keys = createSecretsManagerSigningKeys({ client });
    const key = await keys.getSigningKey('keys/json');
    expect(key.versionId).toBe(versionId);
    expect(key.certificate).toMatchObject({
      fingerprintSha256: material.fingerprintSha256,
      matchesPrivateKey: true,
      subject: 'CN=token-broker-test-sm-json',
    });
    expect(Date.parse(key.certificate?.notAfter ?? '')).toBeGreaterThan(Date.now());
    // Only a signing function is exposed: no key material, exportable or not.
    expect(Object.keys(key).sort()).toEqual([
      'certificate',
      'kind',
      'secretId',
      'sign',
      'versionId',
    ]);
    expect(key.kind).toBe('secret');
    expect(JSON.stringify(key)).not.toContain('PRIVATE KEY');
    const jwt = await signAssertion(buildAssertionClaims(ORG, Date.now()), key);
    await expect(jwtVerify(jwt, createPublicKey(material.publicKeyPem))).resolves.toBeTruthy();
  });

  it('accepts a bare PEM key (PKCS#8 or PKCS#1) without certificate', async () => {
    const material = await signingMaterial('sm-bare');
    await local.putSecret('keys/bare', material.privateKeyPem);
    const pkcs1 = createPrivateKey(material.privateKeyPem).export({ type: 'pkcs1', format: 'pem' });
    await local.putSecret('keys/pkcs1', pkcs1.toString());
    const keys = createSecretsManagerSigningKeys({ client });
    expect((await keys.getSigningKey('keys/bare')).certificate).toBeUndefined();
    const pkcs1Key = await keys.getSigningKey('keys/pkcs1');
    const data = new TextEncoder().encode('signing input');
    expect(verify('sha256', data, material.publicKeyPem, await pkcs1Key.sign(data))).toBe(true);
  });

  it('flags a certificate that does not belong to the key', async () => {
    const a = await signingMaterial('sm-a');
    const b = await signingMaterial('sm-b');
    await local.putSecret(
      'keys/mismatch',
      JSON.stringify({ privateKey: a.privateKeyPem, certificate: b.certificatePem }),
    );
    const key = await createSecretsManagerSigningKeys({ client }).getSigningKey('keys/mismatch');
    expect(key.certificate?.matchesPrivateKey).toBe(false);
  });

  it('caches for the max age, then re-reads', async () => {
    const material = await signingMaterial('sm-json');
    await local.putSecret('keys/cached', material.secretString);
    let now = 1_000_000;
    const keys = createSecretsManagerSigningKeys({ client, maxAgeMs: 1000, clock: () => now });
    await Promise.all([keys.getSigningKey('keys/cached'), keys.getSigningKey('keys/cached')]);
    await keys.getSigningKey('keys/cached');
    expect(local.readCount('keys/cached')).toBe(1);
    now += 1000;
    await keys.getSigningKey('keys/cached');
    expect(local.readCount('keys/cached')).toBe(2);
    await keys.getSigningKey('keys/cached', { forceRefresh: true });
    expect(local.readCount('keys/cached')).toBe(3);
  });

  it('keeps serving the last good key for a bounded time when a refresh fails', async () => {
    const material = await signingMaterial('sm-json');
    await local.putSecret('keys/stale', material.secretString);
    let now = 1_000_000;
    const failures: string[] = [];
    const keys = createSecretsManagerSigningKeys({
      client,
      maxAgeMs: 1000,
      staleGraceMs: 5000,
      clock: () => now,
      onRefreshFailure: (id, error) => failures.push(`${id} ${error.message}`),
    });
    const first = await keys.getSigningKey('keys/stale');
    now += 2000;
    local.failNext('keys/stale', 'ThrottlingException');
    expect(await keys.getSigningKey('keys/stale')).toBe(first);
    expect(failures).toEqual([
      'keys/stale Signing key secret keys/stale could not be read (ThrottlingException)',
    ]);
    now += 5000;
    local.failNext('keys/stale', 'AccessDeniedException');
    expect(await categoryOf(keys.getSigningKey('keys/stale'))).toBe(
      'signing_key_unavailable: Signing key secret keys/stale could not be read (AccessDeniedException)',
    );
  });

  it('stops signing at once when the key read is refused or the secret is gone (revocation)', async () => {
    const material = await signingMaterial('sm-revoked');
    await local.putSecret('keys/revoked', material.secretString);
    let now = 1_000_000;
    const failures: string[] = [];
    const keys = createSecretsManagerSigningKeys({
      client,
      maxAgeMs: 1000,
      staleGraceMs: 3_600_000,
      clock: () => now,
      onRefreshFailure: (id) => failures.push(id),
    });
    await keys.getSigningKey('keys/revoked');
    for (const refusal of ['AccessDeniedException', 'ResourceNotFoundException'] as const) {
      now += 2000;
      local.failNext('keys/revoked', refusal);
      expect(await categoryOf(keys.getSigningKey('keys/revoked'))).toBe(
        `signing_key_unavailable: Signing key secret keys/revoked could not be read (${refusal})`,
      );
      // The refused key is gone from memory: a forced re-read after invalid_assertion too.
      local.failNext('keys/revoked', refusal);
      expect(await categoryOf(keys.getSigningKey('keys/revoked', { forceRefresh: true }))).toMatch(
        refusal,
      );
      await keys.getSigningKey('keys/revoked');
    }
    now += 2000;
    local.failNext('keys/revoked', 'InternalServiceError');
    await expect(keys.getSigningKey('keys/revoked')).resolves.toBeTruthy();
    expect(failures).toEqual(['keys/revoked']);
  });

  it('fails with signing_key_unavailable for a missing secret or a bad shape, naming no content', async () => {
    const keys = createSecretsManagerSigningKeys({ client });
    expect(await categoryOf(keys.getSigningKey('keys/absent'))).toBe(
      'signing_key_unavailable: Signing key secret keys/absent could not be read (ResourceNotFoundException)',
    );
    await local.putSecret('keys/garbage', 'not a key at all');
    expect(await categoryOf(keys.getSigningKey('keys/garbage'))).toContain(
      'expected JSON {"privateKey", "certificate"} or a PEM private key',
    );
    await local.putSecret('keys/nokey', JSON.stringify({ certificate: 'x' }));
    expect(await categoryOf(keys.getSigningKey('keys/nokey'))).toContain(
      '"privateKey" must be a PEM private key',
    );
    await local.putSecret(
      'keys/broken',
      '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n',
    );
    expect(await categoryOf(keys.getSigningKey('keys/broken'))).toContain('cannot be parsed');
  });
});

describe('local Secrets Manager endpoint', () => {
  it('speaks CreateSecret / PutSecretValue / DescribeSecret / GetSecretValue like the service', async () => {
    const {
      CreateSecretCommand,
      DescribeSecretCommand,
      GetSecretValueCommand,
      PutSecretValueCommand,
    } = await import('@aws-sdk/client-secrets-manager');
    const created = await client.send(
      new CreateSecretCommand({ Name: 'cli/created', SecretString: 'v1' }),
    );
    expect(created.ARN).toMatch(
      /^arn:aws:secretsmanager:eu-west-1:123456789012:secret:cli\/created-\w{6}$/,
    );
    await expect(
      client.send(new CreateSecretCommand({ Name: 'cli/created', SecretString: 'v1' })),
    ).rejects.toMatchObject({
      name: 'ResourceExistsException',
    });
    const put = await client.send(
      new PutSecretValueCommand({ SecretId: created.ARN, SecretString: 'v2' }),
    );
    const described = await client.send(new DescribeSecretCommand({ SecretId: 'cli/created' }));
    expect(described.VersionIdsToStages?.[put.VersionId ?? '']).toEqual(['AWSCURRENT']);
    expect(described.VersionIdsToStages?.[created.VersionId ?? '']).toEqual(['AWSPREVIOUS']);
    const current = await client.send(new GetSecretValueCommand({ SecretId: 'cli/created' }));
    expect(current.SecretString).toBe('v2');
    expect(current.CreatedDate).toBeInstanceOf(Date);
    const previous = await client.send(
      new GetSecretValueCommand({ SecretId: 'cli/created', VersionStage: 'AWSPREVIOUS' }),
    );
    expect(previous.SecretString).toBe('v1');
    await expect(
      client.send(new GetSecretValueCommand({ SecretId: 'nope' })),
    ).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
      message: "Secrets Manager can't find the specified secret.",
    });
  });

  it('persists to a folder and reloads it', async () => {
    const { mkdtemp, rm } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const folder = await mkdtemp(join(tmpdir(), 'sm-'));
    try {
      const first = await startSecretsManagerServer({ folder });
      await first.putSecret('persisted', 'value');
      await first.close();
      const second = await startSecretsManagerServer({ folder });
      const { GetSecretValueCommand } = await import('@aws-sdk/client-secrets-manager');
      const other = new SecretsManagerClient({
        endpoint: second.endpoint,
        region: 'eu-west-1',
        credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      });
      expect(
        (await other.send(new GetSecretValueCommand({ SecretId: 'persisted' }))).SecretString,
      ).toBe('value');
      other.destroy();
      await second.close();
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  });
});
