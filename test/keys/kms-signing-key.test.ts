/**
 * KMS-held signing keys against the local KMS endpoint: the certificate is issued by KMS
 * signing it (the SDK client, as `keys create --kms` does), the token function's signer signs assertions with
 * kms:Sign, and the Salesforce emulator accepts them; disabling the key stops signing at once.
 */
import { X509Certificate } from 'node:crypto';
import { KMSClient } from '@aws-sdk/client-kms';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningEmulator, startEmulator } from '../../emulator/server';
import { createKmsSigningKey } from '../../keys/kms-signing-key';
import { createSecretsManagerSigningKeys } from '../../lambda/adapters/signing-keys';
import { buildAssertionClaims, signAssertion } from '../../lambda/core/assertion';
import { createLocalAwsClient } from '../../local/aws-clients';
import { type LocalKms, startKmsServer } from '../../local/kms-server';
import {
  type LocalSecretsManager,
  startSecretsManagerServer,
} from '../../local/secrets-manager-server';

const USER = 'integration@acme.example';
let kms: LocalKms;
let secrets: LocalSecretsManager;
let emulator: RunningEmulator;
let kmsClient: KMSClient;
let secretsClient: SecretsManagerClient;

beforeAll(async () => {
  [kms, secrets, emulator] = await Promise.all([
    startKmsServer(),
    startSecretsManagerServer(),
    startEmulator(),
  ]);
  const local = { region: 'eu-west-1', credentials: { accessKeyId: 'l', secretAccessKey: 'l' } };
  kmsClient = new KMSClient({ ...local, endpoint: kms.endpoint, maxAttempts: 1 });
  secretsClient = new SecretsManagerClient({
    ...local,
    endpoint: secrets.endpoint,
    maxAttempts: 1,
  });
});
afterAll(async () => {
  kmsClient.destroy();
  secretsClient.destroy();
  await Promise.all([kms.close(), secrets.close(), emulator.close()]);
});

describe('KMS-held signing keys', () => {
  it('issues the certificate by KMS signing it, and signs assertions Salesforce accepts with kms:Sign only', async () => {
    const key = await createKmsSigningKey(kmsClient, {
      aliasName: 'acme',
      commonName: 'salesforce-token-broker',
      days: 30,
      description: 'test',
    });
    expect(key.alias).toBe('alias/salesforce-token-broker/acme');
    const certificate = new X509Certificate(key.certificatePem);
    expect(certificate.verify(certificate.publicKey)).toBe(true);
    expect(certificate.subject).toBe('CN=salesforce-token-broker');
    expect(JSON.parse(key.secretString)).toEqual({
      kmsKeyId: 'alias/salesforce-token-broker/acme',
      certificate: key.certificatePem,
    });
    expect(key.secretString).not.toContain('PRIVATE KEY');

    await emulator.control.reset();
    const org = await emulator.control.createOrg({ myDomainHost: 'acme.my.salesforce.com' });
    const app = await emulator.control.createApp(org.id, { certificates: [key.certificatePem] });
    await emulator.control.createUser(org.id, { username: USER });
    await emulator.control.approve(USER, app.consumerKey, ['api', 'refresh_token']);

    await secrets.putSecret('salesforce-token-broker/acme', key.secretString);
    const keys = createSecretsManagerSigningKeys({
      client: secretsClient,
      kms: createLocalAwsClient('kms', kms.endpoint, { maxAttempts: 1 }),
    });
    const signer = await keys.getSigningKey('salesforce-token-broker/acme');
    expect(signer).toMatchObject({
      kind: 'kms',
      certificate: { fingerprintSha256: key.fingerprintSha256 },
    });
    kms.resetCalls();
    const claims = buildAssertionClaims(
      { consumerKey: app.consumerKey, username: USER, audience: 'https://login.salesforce.com' },
      Date.now(),
    );
    const response = await fetch(
      `${emulator.hostUrl('login.salesforce.com')}/services/oauth2/token`,
      {
        method: 'POST',
        body: new URLSearchParams({
          grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer',
          assertion: await signAssertion(claims, signer),
        }),
      },
    );
    expect(response.status).toBe(200);
    expect(kms.calls().map((call) => [call.operation, call.requestedKeyId])).toEqual([
      ['Sign', 'alias/salesforce-token-broker/acme'],
    ]);

    // Revocation: a disabled key stops signing at once, and the cached signer is dropped.
    kms.setEnabled(key.keyId, false);
    await expect(signer.sign(new Uint8Array([1]))).rejects.toMatchObject({
      category: 'signing_key_unavailable',
    });
    kms.setEnabled(key.keyId, true);
    const reread = await keys.getSigningKey('salesforce-token-broker/acme');
    expect(reread).not.toBe(signer);
  });
});
