import { constants, createHash, createPublicKey, publicEncrypt, verify } from 'node:crypto';
import {
  CancelKeyDeletionCommand,
  CreateAliasCommand,
  CreateKeyCommand,
  DecryptCommand,
  DescribeKeyCommand,
  DisableKeyCommand,
  EnableKeyCommand,
  EnableKeyRotationCommand,
  EncryptCommand,
  GenerateDataKeyCommand,
  GenerateDataKeyWithoutPlaintextCommand,
  GenerateMacCommand,
  GetKeyRotationStatusCommand,
  GetPublicKeyCommand,
  KMSClient,
  KMSServiceException,
  ListAliasesCommand,
  RotateKeyOnDemandCommand,
  ScheduleKeyDeletionCommand,
  SignCommand,
  VerifyCommand,
  VerifyMacCommand,
} from '@aws-sdk/client-kms';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type KmsKeyRef, type LocalKms, startKmsServer } from '../../local/kms-server';

let local: LocalKms;
let client: KMSClient;
let symmetric: KmsKeyRef;

beforeAll(async () => {
  local = await startKmsServer();
  client = new KMSClient({
    endpoint: local.endpoint,
    region: local.region,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 1,
  });
  symmetric = await local.createKey({ alias: 'alias/token-cache' });
});
afterAll(async () => {
  client.destroy();
  await local.close();
});
beforeEach(() => local.resetCalls());

const bytes = (text: string) => Buffer.from(text, 'utf8');
const text = (value: Uint8Array | undefined) => Buffer.from(value ?? []).toString('utf8');

/** The SDK's typed error for a failing call: its name, fault, and HTTP status. */
async function failure(promise: Promise<unknown>) {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(KMSServiceException);
    const e = error as KMSServiceException;
    return { name: e.name, fault: e.$fault, status: e.$metadata.httpStatusCode };
  }
  throw new Error('the call succeeded');
}

/** What goes over the wire, without the SDK, to pin the exact error body. */
async function raw(operation: string, body: unknown) {
  const response = await fetch(local.endpoint, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-amz-json-1.1',
      'x-amz-target': `TrentService.${operation}`,
    },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe('local KMS: keys and aliases (real SDK client)', () => {
  it('creates keys of each spec over the wire and describes them by id, ARN and alias', async () => {
    const created = await client.send(
      new CreateKeyCommand({
        KeySpec: 'HMAC_256',
        KeyUsage: 'GENERATE_VERIFY_MAC',
        Description: 'links',
      }),
    );
    expect(created.KeyMetadata).toMatchObject({
      KeySpec: 'HMAC_256',
      KeyUsage: 'GENERATE_VERIFY_MAC',
      KeyState: 'Enabled',
      Enabled: true,
      MacAlgorithms: ['HMAC_SHA_256'],
      Description: 'links',
    });
    expect(created.KeyMetadata?.CreationDate).toBeInstanceOf(Date);
    const keyId = created.KeyMetadata?.KeyId as string;
    await client.send(
      new CreateAliasCommand({ AliasName: 'alias/approval-links', TargetKeyId: keyId }),
    );

    for (const id of [
      keyId,
      created.KeyMetadata?.Arn,
      'alias/approval-links',
      `arn:aws:kms:eu-west-1:123456789012:alias/approval-links`,
    ]) {
      const described = await client.send(new DescribeKeyCommand({ KeyId: id }));
      expect(described.KeyMetadata?.KeyId).toBe(keyId);
    }
    const aliases = await client.send(new ListAliasesCommand({ KeyId: keyId }));
    expect(aliases.Aliases?.map((alias) => alias.AliasName)).toEqual(['alias/approval-links']);

    expect(
      await failure(
        client.send(
          new CreateAliasCommand({ AliasName: 'alias/approval-links', TargetKeyId: keyId }),
        ),
      ),
    ).toMatchObject({
      name: 'AlreadyExistsException',
      status: 400,
    });
    // Like AWS, an HMAC key must be asked for with its usage; the default usage does not fit it.
    expect(await failure(client.send(new CreateKeyCommand({ KeySpec: 'HMAC_256' })))).toMatchObject(
      {
        name: 'ValidationException',
      },
    );
  });

  it('answers unknown keys and aliases with NotFoundException (400, client fault)', async () => {
    for (const keyId of ['alias/nope', '00000000-0000-0000-0000-000000000000']) {
      expect(await failure(client.send(new DescribeKeyCommand({ KeyId: keyId })))).toEqual({
        name: 'NotFoundException',
        fault: 'client',
        status: 400,
      });
    }
  });
});

describe('local KMS: Encrypt, Decrypt, data keys', () => {
  it('round-trips; Decrypt needs no KeyId (the blob names the key) and answers the key ARN', async () => {
    const context = { org: '00D000000000001', purpose: 'token-cache' };
    const encrypted = await client.send(
      new EncryptCommand({
        KeyId: 'alias/token-cache',
        Plaintext: bytes('secret'),
        EncryptionContext: context,
      }),
    );
    expect(encrypted.KeyId).toBe(symmetric.arn);
    const decrypted = await client.send(
      // The context is a map: its order does not matter.
      new DecryptCommand({
        CiphertextBlob: encrypted.CiphertextBlob,
        EncryptionContext: { purpose: 'token-cache', org: '00D000000000001' },
      }),
    );
    expect(text(decrypted.Plaintext)).toBe('secret');
    expect(decrypted.KeyId).toBe(symmetric.arn);
    expect(local.calls().map(({ operation, keyId }) => [operation, keyId])).toEqual([
      ['Encrypt', symmetric.keyId],
      ['Decrypt', symmetric.keyId],
    ]);
  });

  it('authenticates the encryption context: a different or missing one is InvalidCiphertextException with no message, like AWS', async () => {
    const { CiphertextBlob } = await client.send(
      new EncryptCommand({
        KeyId: symmetric.keyId,
        Plaintext: bytes('secret'),
        EncryptionContext: { org: 'a' },
      }),
    );
    const contexts: (Record<string, string> | undefined)[] = [
      { org: 'b' },
      {},
      { org: 'a', extra: 'x' },
      undefined,
    ];
    for (const EncryptionContext of contexts) {
      expect(
        await failure(client.send(new DecryptCommand({ CiphertextBlob, EncryptionContext }))),
      ).toEqual({
        name: 'InvalidCiphertextException',
        fault: 'client',
        status: 400,
      });
    }
    const wire = await raw('Decrypt', {
      CiphertextBlob: Buffer.from(CiphertextBlob ?? []).toString('base64'),
    });
    expect(wire).toEqual({ status: 400, body: { __type: 'InvalidCiphertextException' } });
  });

  it('refuses a blob under another KeyId (IncorrectKeyException) and a tampered blob (InvalidCiphertextException)', async () => {
    const other = await local.createKey();
    const { CiphertextBlob } = await client.send(
      new EncryptCommand({ KeyId: symmetric.keyId, Plaintext: bytes('x') }),
    );
    const blob = Buffer.from(CiphertextBlob ?? []);
    expect(
      await failure(client.send(new DecryptCommand({ CiphertextBlob: blob, KeyId: other.keyId }))),
    ).toMatchObject({
      name: 'IncorrectKeyException',
    });
    for (const index of [0, 5, 30, blob.length - 1]) {
      const tampered = Buffer.from(blob);
      tampered[index] = (tampered[index] as number) ^ 1;
      expect(
        await failure(client.send(new DecryptCommand({ CiphertextBlob: tampered }))),
      ).toMatchObject({
        name: 'InvalidCiphertextException',
      });
    }
  });

  it('generates data keys whose blob decrypts to the same key, with and without plaintext', async () => {
    const context = { purpose: 'dk' };
    const generated = await client.send(
      new GenerateDataKeyCommand({
        KeyId: symmetric.keyId,
        KeySpec: 'AES_256',
        EncryptionContext: context,
      }),
    );
    expect(generated.Plaintext).toHaveLength(32);
    const decrypted = await client.send(
      new DecryptCommand({ CiphertextBlob: generated.CiphertextBlob, EncryptionContext: context }),
    );
    expect(
      Buffer.from(decrypted.Plaintext ?? []).equals(Buffer.from(generated.Plaintext ?? [])),
    ).toBe(true);

    const blobOnly = await client.send(
      new GenerateDataKeyWithoutPlaintextCommand({ KeyId: symmetric.keyId, NumberOfBytes: 16 }),
    );
    expect(blobOnly).not.toHaveProperty('Plaintext');
    const opened = await client.send(
      new DecryptCommand({ CiphertextBlob: blobOnly.CiphertextBlob }),
    );
    expect(opened.Plaintext).toHaveLength(16);

    expect(
      await failure(client.send(new GenerateDataKeyCommand({ KeyId: symmetric.keyId }))),
    ).toMatchObject({
      name: 'ValidationException',
      status: 400,
    });
  });

  it('refuses a key of the wrong usage with InvalidKeyUsageException', async () => {
    const hmac = await local.createKey({ spec: 'HMAC_256' });
    expect(
      await failure(client.send(new EncryptCommand({ KeyId: hmac.keyId, Plaintext: bytes('x') }))),
    ).toMatchObject({
      name: 'InvalidKeyUsageException',
    });
  });

  it('decrypts RSAES_OAEP_SHA_256 ciphertexts made with the public key (asymmetric: KeyId required)', async () => {
    const rsa = await local.createKey({ spec: 'RSA_2048', usage: 'ENCRYPT_DECRYPT' });
    const { PublicKey } = await client.send(new GetPublicKeyCommand({ KeyId: rsa.keyId }));
    const publicKey = createPublicKey({
      key: Buffer.from(PublicKey ?? []),
      format: 'der',
      type: 'spki',
    });
    const blob = publicEncrypt(
      { key: publicKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' },
      bytes('hi'),
    );
    const decrypted = await client.send(
      new DecryptCommand({
        KeyId: rsa.keyId,
        CiphertextBlob: blob,
        EncryptionAlgorithm: 'RSAES_OAEP_SHA_256',
      }),
    );
    expect(text(decrypted.Plaintext)).toBe('hi');
  });
});

describe('local KMS: key state', () => {
  it('a disabled key answers DisabledException for Encrypt and Decrypt until enabled again', async () => {
    const key = await local.createKey();
    const { CiphertextBlob } = await client.send(
      new EncryptCommand({ KeyId: key.keyId, Plaintext: bytes('x') }),
    );
    await client.send(new DisableKeyCommand({ KeyId: key.keyId }));
    expect(
      (await client.send(new DescribeKeyCommand({ KeyId: key.keyId }))).KeyMetadata,
    ).toMatchObject({
      Enabled: false,
      KeyState: 'Disabled',
    });
    expect(
      await failure(client.send(new EncryptCommand({ KeyId: key.keyId, Plaintext: bytes('x') }))),
    ).toEqual({
      name: 'DisabledException',
      fault: 'client',
      status: 400,
    });
    expect(await failure(client.send(new DecryptCommand({ CiphertextBlob })))).toMatchObject({
      name: 'DisabledException',
    });
    await client.send(new EnableKeyCommand({ KeyId: key.keyId }));
    expect(text((await client.send(new DecryptCommand({ CiphertextBlob }))).Plaintext)).toBe('x');
  });

  it('a key pending deletion answers KMSInvalidStateException; cancelling leaves it disabled, like AWS', async () => {
    const key = await local.createKey();
    const scheduled = await client.send(
      new ScheduleKeyDeletionCommand({ KeyId: key.keyId, PendingWindowInDays: 7 }),
    );
    expect(scheduled.KeyState).toBe('PendingDeletion');
    expect(
      await failure(client.send(new EncryptCommand({ KeyId: key.keyId, Plaintext: bytes('x') }))),
    ).toMatchObject({
      name: 'KMSInvalidStateException',
    });
    await client.send(new CancelKeyDeletionCommand({ KeyId: key.keyId }));
    expect(
      (await client.send(new DescribeKeyCommand({ KeyId: key.keyId }))).KeyMetadata?.KeyState,
    ).toBe('Disabled');
  });

  it('reports rotation status, and old ciphertexts still decrypt after the key material rotates', async () => {
    const key = await local.createKey();
    expect(
      (await client.send(new GetKeyRotationStatusCommand({ KeyId: key.keyId }))).KeyRotationEnabled,
    ).toBe(false);
    await client.send(new EnableKeyRotationCommand({ KeyId: key.keyId }));
    const status = await client.send(new GetKeyRotationStatusCommand({ KeyId: key.arn }));
    expect(status).toMatchObject({ KeyRotationEnabled: true, RotationPeriodInDays: 365 });

    const before = await client.send(
      new EncryptCommand({ KeyId: key.keyId, Plaintext: bytes('old') }),
    );
    await client.send(new RotateKeyOnDemandCommand({ KeyId: key.keyId }));
    const after = await client.send(
      new EncryptCommand({ KeyId: key.keyId, Plaintext: bytes('new') }),
    );
    expect(
      text(
        (await client.send(new DecryptCommand({ CiphertextBlob: before.CiphertextBlob })))
          .Plaintext,
      ),
    ).toBe('old');
    expect(
      text(
        (await client.send(new DecryptCommand({ CiphertextBlob: after.CiphertextBlob }))).Plaintext,
      ),
    ).toBe('new');

    // Management calls take a key ID or ARN only, and only symmetric encryption keys rotate.
    expect(
      await failure(client.send(new EnableKeyRotationCommand({ KeyId: 'alias/token-cache' }))),
    ).toMatchObject({
      name: 'NotFoundException',
    });
    const hmac = await local.createKey({ spec: 'HMAC_256' });
    expect(
      await failure(client.send(new EnableKeyRotationCommand({ KeyId: hmac.keyId }))),
    ).toMatchObject({
      name: 'UnsupportedOperationException',
    });
  });
});

describe('local KMS: MACs and signatures', () => {
  it('GenerateMac/VerifyMac: a wrong MAC or message is KMSInvalidMacException, as AWS answers', async () => {
    const hmac = await local.createKey({ spec: 'HMAC_256' });
    const message = bytes('approve:org=00D1:exp=1700000000');
    const { Mac, MacAlgorithm } = await client.send(
      new GenerateMacCommand({ KeyId: hmac.keyId, Message: message, MacAlgorithm: 'HMAC_SHA_256' }),
    );
    expect(MacAlgorithm).toBe('HMAC_SHA_256');
    expect(Mac).toHaveLength(32);
    const verified = await client.send(
      new VerifyMacCommand({
        KeyId: hmac.keyId,
        Message: message,
        Mac,
        MacAlgorithm: 'HMAC_SHA_256',
      }),
    );
    expect(verified.MacValid).toBe(true);

    const wrongMac = Buffer.from(Mac ?? []);
    wrongMac[0] = (wrongMac[0] as number) ^ 1;
    for (const [m, mac] of [
      [message, wrongMac],
      [bytes('approve:org=00D2:exp=1700000000'), Mac],
    ] as const) {
      expect(
        await failure(
          client.send(
            new VerifyMacCommand({
              KeyId: hmac.keyId,
              Message: m,
              Mac: mac,
              MacAlgorithm: 'HMAC_SHA_256',
            }),
          ),
        ),
      ).toEqual({ name: 'KMSInvalidMacException', fault: 'client', status: 400 });
    }
    // Another HMAC key's MAC does not verify either.
    const other = await local.createKey({ spec: 'HMAC_256' });
    expect(
      await failure(
        client.send(
          new VerifyMacCommand({
            KeyId: other.keyId,
            Message: message,
            Mac,
            MacAlgorithm: 'HMAC_SHA_256',
          }),
        ),
      ),
    ).toMatchObject({ name: 'KMSInvalidMacException' });
  });

  it('Sign RSASSA_PKCS1_V1_5_SHA_256 (RAW and DIGEST) verifies with node:crypto against GetPublicKey', async () => {
    const rsa = await local.createKey({ spec: 'RSA_2048', usage: 'SIGN_VERIFY' });
    const published = await client.send(new GetPublicKeyCommand({ KeyId: rsa.keyId }));
    expect(published).toMatchObject({ KeySpec: 'RSA_2048', KeyUsage: 'SIGN_VERIFY' });
    expect(published.SigningAlgorithms).toContain('RSASSA_PKCS1_V1_5_SHA_256');
    const publicKey = createPublicKey({
      key: Buffer.from(published.PublicKey ?? []),
      format: 'der',
      type: 'spki',
    });
    expect(publicKey.asymmetricKeyDetails?.modulusLength).toBe(2048);

    const message = bytes('header.payload');
    const rawSigned = await client.send(
      new SignCommand({
        KeyId: rsa.keyId,
        Message: message,
        MessageType: 'RAW',
        SigningAlgorithm: 'RSASSA_PKCS1_V1_5_SHA_256',
      }),
    );
    const digestSigned = await client.send(
      new SignCommand({
        KeyId: rsa.keyId,
        Message: createHash('sha256').update(message).digest(),
        MessageType: 'DIGEST',
        SigningAlgorithm: 'RSASSA_PKCS1_V1_5_SHA_256',
      }),
    );
    const signature = Buffer.from(rawSigned.Signature ?? []);
    expect(verify('sha256', message, publicKey, signature)).toBe(true);
    // PKCS#1 v1.5 is deterministic: RAW and DIGEST of the same message sign identically (RS256).
    expect(Buffer.from(digestSigned.Signature ?? []).equals(signature)).toBe(true);

    const verified = await client.send(
      new VerifyCommand({
        KeyId: rsa.keyId,
        Message: message,
        Signature: signature,
        SigningAlgorithm: 'RSASSA_PKCS1_V1_5_SHA_256',
      }),
    );
    expect(verified.SignatureValid).toBe(true);
    expect(
      await failure(
        client.send(
          new VerifyCommand({
            KeyId: rsa.keyId,
            Message: bytes('other'),
            Signature: signature,
            SigningAlgorithm: 'RSASSA_PKCS1_V1_5_SHA_256',
          }),
        ),
      ),
    ).toMatchObject({ name: 'KMSInvalidSignatureException', status: 400 });

    const pss = await client.send(
      new SignCommand({
        KeyId: rsa.keyId,
        Message: message,
        MessageType: 'RAW',
        SigningAlgorithm: 'RSASSA_PSS_SHA_256',
      }),
    );
    expect(
      verify(
        'sha256',
        message,
        { key: publicKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 },
        Buffer.from(pss.Signature ?? []),
      ),
    ).toBe(true);
  });
});

describe('local KMS: fault injection and the call log', () => {
  it('injects server faults the SDK retries (500) and client faults it does not', async () => {
    const retrying = new KMSClient({
      endpoint: local.endpoint,
      region: local.region,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      maxAttempts: 2,
    });
    try {
      local.failNext('Encrypt', 'KMSInternalException');
      const output = await retrying.send(
        new EncryptCommand({ KeyId: symmetric.keyId, Plaintext: bytes('x') }),
      );
      expect(output.KeyId).toBe(symmetric.arn);
      expect(local.calls().map((call) => call.outcome)).toEqual(['KMSInternalException', 'ok']);

      local.resetCalls();
      local.failNext('*', 'AccessDeniedException');
      expect(
        await failure(retrying.send(new DescribeKeyCommand({ KeyId: symmetric.keyId }))),
      ).toMatchObject({
        name: 'AccessDeniedException',
        status: 400,
      });
      expect(local.callCount('DescribeKey')).toBe(1);
    } finally {
      retrying.destroy();
    }
    local.failNext('Decrypt', 'ThrottlingException');
    expect(
      await failure(client.send(new DecryptCommand({ CiphertextBlob: bytes('whatever') }))),
    ).toMatchObject({
      name: 'ThrottlingException',
    });
  });

  it('delays answers on request and counts calls per operation and key', async () => {
    local.delayNext('Encrypt', 150);
    const started = performance.now();
    await client.send(new EncryptCommand({ KeyId: 'alias/token-cache', Plaintext: bytes('x') }));
    expect(performance.now() - started).toBeGreaterThanOrEqual(140);
    await client.send(new EncryptCommand({ KeyId: symmetric.keyId, Plaintext: bytes('x') }));
    expect(local.callCount('Encrypt')).toBe(2);
    expect(local.callCount('Encrypt', symmetric.keyId)).toBe(2);
    expect(local.callCount('Encrypt', 'alias/token-cache')).toBe(1);
    expect(local.calls()[0]).toEqual({
      operation: 'Encrypt',
      keyId: symmetric.keyId,
      requestedKeyId: 'alias/token-cache',
      outcome: 'ok',
    });
  });

  it('answers an unknown target with UnknownOperationException', async () => {
    expect(await raw('ImportKeyMaterial', {})).toMatchObject({
      status: 400,
      body: { __type: 'UnknownOperationException' },
    });
  });
});
