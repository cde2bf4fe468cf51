import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { AwsClient } from '../../lambda/adapters/aws-request';
import {
  createDataKeySealer,
  createDirectKmsSealer,
  createKmsMac,
  decryptWithKms,
  encryptWithKms,
  KmsEnvelopeError,
  type KmsEnvelopeErrorCode,
  type Sealer,
} from '../../lambda/adapters/kms-envelope';
import { createLocalAwsClient } from '../../local/aws-clients';
import { type KmsKeyRef, type LocalKms, startKmsServer } from '../../local/kms-server';

let local: LocalKms;
let client: AwsClient;
let key: KmsKeyRef;
let otherKey: KmsKeyRef;

beforeAll(async () => {
  local = await startKmsServer();
  client = createLocalAwsClient('kms', local.endpoint, { region: local.region, maxAttempts: 1 });
  key = await local.createKey({ alias: 'alias/token-cache' });
  otherKey = await local.createKey();
});
afterAll(async () => {
  await local.close();
});
beforeEach(() => local.resetCalls());

const SECRET = '00D000000000001!AQ4AQ.secret-access-token';
const secret = () => Buffer.from(SECRET, 'utf8');
const context = { org: '00D000000000001', purpose: 'token-cache' };
const text = (value: Uint8Array) => Buffer.from(value).toString('utf8');

/** The module's error for a failing call; also proves the secret never reaches its message. */
async function envelopeError(
  promise: Promise<unknown>,
): Promise<{ code: KmsEnvelopeErrorCode; retryable: boolean }> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(KmsEnvelopeError);
    const e = error as KmsEnvelopeError;
    expect(e.name).toBe('KmsEnvelopeError');
    expect(`${e.message} ${String(e.cause)} ${JSON.stringify(e)}`).not.toContain(
      'secret-access-token',
    );
    return { code: e.code, retryable: e.retryable };
  }
  throw new Error('the call succeeded');
}

/** Flips one base64url character of the last dot-separated part. */
function tamper(sealed: string): string {
  const at = sealed.length - 5;
  const swapped = sealed[at] === 'A' ? 'B' : 'A';
  return `${sealed.slice(0, at)}${swapped}${sealed.slice(at + 1)}`;
}

describe('encryptWithKms / decryptWithKms (real SDK client, local KMS)', () => {
  it('round-trips with one Encrypt and one Decrypt', async () => {
    const ciphertext = await encryptWithKms(client, {
      keyId: 'alias/token-cache',
      plaintext: secret(),
      context,
    });
    expect(text(await decryptWithKms(client, { keyId: key.arn, ciphertext, context }))).toBe(
      SECRET,
    );
    expect(text(await decryptWithKms(client, { ciphertext, context }))).toBe(SECRET);
    expect(local.calls().map((call) => call.operation)).toEqual(['Encrypt', 'Decrypt', 'Decrypt']);
  });

  it('fails with authentication_failed for another context, another key, or altered bytes', async () => {
    const ciphertext = await encryptWithKms(client, {
      keyId: key.keyId,
      plaintext: secret(),
      context,
    });
    const altered = Buffer.from(ciphertext);
    altered[altered.length - 1] = (altered[altered.length - 1] as number) ^ 1;
    // Thunks: a rejected promise left waiting in an array is an unhandled rejection.
    const attempts = [
      () => decryptWithKms(client, { ciphertext, context: { ...context, org: '00D000000000002' } }),
      () => decryptWithKms(client, { ciphertext, context: {} }),
      () => decryptWithKms(client, { keyId: otherKey.keyId, ciphertext, context }),
      () => decryptWithKms(client, { ciphertext: altered, context }),
    ];
    for (const attempt of attempts) {
      expect(await envelopeError(attempt())).toEqual({
        code: 'authentication_failed',
        retryable: false,
      });
    }
  });

  it('tells a disabled key (not retryable) from KMS being unavailable (retryable)', async () => {
    const disabled = await local.createKey();
    local.setEnabled(disabled.keyId, false);
    expect(
      await envelopeError(
        encryptWithKms(client, { keyId: disabled.keyId, plaintext: secret(), context }),
      ),
    ).toEqual({
      code: 'key_unusable',
      retryable: false,
    });
    local.failNext('Encrypt', 'ThrottlingException');
    expect(
      await envelopeError(
        encryptWithKms(client, { keyId: key.keyId, plaintext: secret(), context }),
      ),
    ).toEqual({
      code: 'kms_unavailable',
      retryable: true,
    });
    expect(
      await envelopeError(
        encryptWithKms(client, { keyId: key.keyId, plaintext: new Uint8Array(4097), context }),
      ),
    ).toMatchObject({
      code: 'invalid_input',
    });
    expect(
      await envelopeError(
        encryptWithKms(client, { keyId: key.keyId, plaintext: secret(), context: { org: '' } }),
      ),
    ).toMatchObject({
      code: 'invalid_input',
    });
  });
});

const variants: [string, (keyId: string) => Sealer][] = [
  ['direct', (keyId) => createDirectKmsSealer({ client, keyId })],
  ['data key', (keyId) => createDataKeySealer({ client, keyId })],
];

describe.each(variants)('%s sealer', (_, makeSealer) => {
  it('seals to a versioned base64url string that opens with the same context', async () => {
    const sealer = makeSealer('alias/token-cache');
    const sealed = await sealer.seal(secret(), context);
    expect(sealed).toMatch(new RegExp(`^${sealer.format}(\\.[A-Za-z0-9_-]+)+$`));
    expect(sealed).not.toContain(SECRET);
    expect(
      text(await sealer.open(sealed, { purpose: 'token-cache', org: '00D000000000001' })),
    ).toBe(SECRET);
  });

  it('refuses another context, another key, and tampering with authentication_failed', async () => {
    const sealer = makeSealer(key.keyId);
    const sealed = await sealer.seal(secret(), context);
    for (const attempt of [
      () => sealer.open(sealed, { ...context, org: '00D000000000002' }),
      () => sealer.open(sealed, { org: context.org }),
      () => makeSealer(otherKey.keyId).open(sealed, context),
      () => sealer.open(tamper(sealed), context),
    ]) {
      expect(await envelopeError(attempt())).toMatchObject({ code: 'authentication_failed' });
    }
  });

  it('refuses malformed strings with malformed, before calling KMS', async () => {
    const sealer = makeSealer(key.keyId);
    for (const sealed of [
      '',
      'x1.abc',
      'k1',
      'k1.',
      'k1.a.b',
      'e1.a.b',
      'e1.a.b.c.d',
      'e1.a!.b.c',
    ]) {
      expect(await envelopeError(sealer.open(sealed, context))).toMatchObject({
        code: 'malformed',
      });
    }
    expect(local.calls()).toEqual([]);
  });

  it('answers key_unusable once the key is disabled', async () => {
    const fresh = await local.createKey();
    const sealer = makeSealer(fresh.keyId);
    local.setEnabled(fresh.keyId, false);
    expect(await envelopeError(sealer.seal(secret(), context))).toMatchObject({
      code: 'key_unusable',
    });
  });

  it('opens values written by the other variant, so switching variants orphans nothing', async () => {
    const sealer = makeSealer(key.keyId);
    for (const [, makeOther] of variants) {
      const sealed = await makeOther(key.keyId).seal(secret(), context);
      expect(text(await sealer.open(sealed, context))).toBe(SECRET);
    }
  });
});

describe('data-key sealer: KMS calls', () => {
  it('makes one GenerateDataKey for N seals (concurrent or not) and opens its own values without KMS', async () => {
    const sealer = createDataKeySealer({ client, keyId: key.keyId });
    const concurrent = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        sealer.seal(Buffer.from(`v${i}`), { ...context, n: String(i) }),
      ),
    );
    const sequential: string[] = [];
    for (let i = 0; i < 20; i += 1) sequential.push(await sealer.seal(secret(), context));
    expect(local.callCount('GenerateDataKey', key.keyId)).toBe(1);
    expect(local.calls()).toHaveLength(1);

    for (const [i, sealed] of concurrent.entries()) {
      expect(text(await sealer.open(sealed, { ...context, n: String(i) }))).toBe(`v${i}`);
    }
    expect(local.calls()).toHaveLength(1);

    // Another execution environment decrypts the data key once, then serves every value from memory.
    const elsewhere = createDataKeySealer({ client, keyId: key.keyId });
    await Promise.all(sequential.map((sealed) => elsewhere.open(sealed, context)));
    expect(local.callCount('Decrypt')).toBe(1);
  });

  it('replaces the data key after maxKeyUses seals and after maxKeyAgeMs', async () => {
    let now = 1_000_000;
    const sealer = createDataKeySealer({
      client,
      keyId: key.keyId,
      maxKeyUses: 10,
      maxKeyAgeMs: 60_000,
      clock: () => now,
    });
    await Promise.all(Array.from({ length: 25 }, () => sealer.seal(secret(), context)));
    expect(local.callCount('GenerateDataKey')).toBe(3);
    now += 60_000;
    await sealer.seal(secret(), context);
    expect(local.callCount('GenerateDataKey')).toBe(4);
  });

  it('keeps at most maxDecryptedKeys decrypted keys, for at most maxDecryptedAgeMs', async () => {
    const writers = await Promise.all(
      [0, 1, 2].map(() =>
        createDataKeySealer({ client, keyId: key.keyId }).seal(secret(), context),
      ),
    );
    let now = 0;
    const reader = createDataKeySealer({
      client,
      keyId: key.keyId,
      maxDecryptedKeys: 2,
      maxDecryptedAgeMs: 1000,
      clock: () => now,
    });
    local.resetCalls();
    for (const sealed of writers) await reader.open(sealed, context);
    await reader.open(writers[2] as string, context);
    expect(local.callCount('Decrypt')).toBe(3);
    await reader.open(writers[0] as string, context); // evicted: least recently used
    expect(local.callCount('Decrypt')).toBe(4);
    now += 1000;
    await reader.open(writers[0] as string, context); // expired
    expect(local.callCount('Decrypt')).toBe(5);
  });

  it('shares one failed GenerateDataKey among concurrent seals and recovers on the next seal', async () => {
    const sealer = createDataKeySealer({ client, keyId: key.keyId });
    local.failNext('GenerateDataKey', 'KMSInternalException');
    const results = await Promise.allSettled([
      sealer.seal(secret(), context),
      sealer.seal(secret(), context),
    ]);
    expect(results.map((result) => result.status)).toEqual(['rejected', 'rejected']);
    expect(local.callCount('GenerateDataKey')).toBe(1);
    expect(
      await envelopeError(Promise.reject((results[0] as PromiseRejectedResult).reason)),
    ).toEqual({
      code: 'kms_unavailable',
      retryable: true,
    });
    await sealer.seal(secret(), context);
    expect(local.callCount('GenerateDataKey')).toBe(2);
  });
});

describe('createKmsMac (GenerateMac / VerifyMac)', () => {
  it('verifies its own MACs and answers false for a wrong MAC, message, or key', async () => {
    const hmac = await local.createKey({ spec: 'HMAC_256', alias: 'alias/approval-links' });
    const mac = createKmsMac({ client, keyId: 'alias/approval-links' });
    const link = 'approve?org=00D000000000001&exp=1700000000';
    const value = await mac.generate(link);
    expect(value).toHaveLength(32);
    expect(await mac.verify(link, value)).toBe(true);
    expect(await mac.verify(Buffer.from(link), value)).toBe(true);

    const wrong = Buffer.from(value);
    wrong[31] = (wrong[31] as number) ^ 1;
    expect(await mac.verify(link, wrong)).toBe(false);
    expect(await mac.verify(`${link}0`, value)).toBe(false);
    const other = await local.createKey({ spec: 'HMAC_256' });
    expect(await createKmsMac({ client, keyId: other.keyId }).verify(link, value)).toBe(false);

    local.resetCalls();
    expect(await mac.verify(link, new Uint8Array(0))).toBe(false);
    expect(local.calls()).toEqual([]);

    // An outage or a disabled key must never read as "forged": it throws instead.
    local.failNext('VerifyMac', 'DependencyTimeoutException');
    expect(await envelopeError(mac.verify(link, value))).toMatchObject({ code: 'kms_unavailable' });
    local.setEnabled(hmac.keyId, false);
    expect(await envelopeError(mac.verify(link, value))).toMatchObject({ code: 'key_unusable' });
    expect(await envelopeError(mac.generate(link))).toMatchObject({ code: 'key_unusable' });
  });
});
