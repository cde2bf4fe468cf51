/**
 * Encryption and MACs with keys held in AWS KMS, for the shared token cache and approval links.
 *
 * Two ways to seal a value, behind one {@link Sealer} interface so the caller can pick by
 * measurement (`bench/kms-envelope.ts`):
 * - direct (`k1.`): one KMS Encrypt/Decrypt per value. KMS checks the encryption context and
 *   CloudTrail records it per value; every seal and open is a network round trip (and a KMS
 *   request billed and counted against the account's shared request quota).
 * - data key (`e1.`): one GenerateDataKey per key lifetime, then AES-256-GCM in process with the
 *   per-value context as AAD; the KMS-encrypted data key travels beside the ciphertext. Opening
 *   calls KMS Decrypt once per distinct data key. KMS sees only the data-key context, so key
 *   policy conditions on `kms:EncryptionContext` can constrain that, not the per-value context.
 *
 * Either sealer opens both formats, so switching variants does not orphan stored values. Nothing
 * here reads process.env; errors are {@link KmsEnvelopeError} and never carry plaintext or
 * context values. KMS is called over the lean awsJson client (aws-protocols.ts), not the SDK.
 */
import {
  createCipheriv,
  createDecipheriv,
  createSecretKey,
  type KeyObject,
  randomBytes,
} from 'node:crypto';
import type { Clock } from '../core/types';
import { blobOf, callAwsJson, KMS_JSON } from './aws-protocols';
import type { AwsClient } from './aws-request';

/** The KMS encryption context: non-secret strings naming what a value is (org, purpose...). */
export type EncryptionContext = Readonly<Record<string, string>>;

export type KmsEnvelopeErrorCode =
  /** Not a sealed string of any known version, or not well formed. */
  | 'malformed'
  /** Wrong context, wrong key, or tampered bytes: indistinguishable by design. */
  | 'authentication_failed'
  /** The key is disabled, pending deletion, missing, of the wrong usage, or not allowed. */
  | 'key_unusable'
  /** KMS did not answer usefully (throttling, internal error, timeout, network): retry later. */
  | 'kms_unavailable'
  /** The caller's input breaks a limit (size, empty context value...). */
  | 'invalid_input';

/** The one error type of this module. `message` names the key and operation, never data. */
export class KmsEnvelopeError extends Error {
  override readonly name = 'KmsEnvelopeError';

  constructor(
    readonly code: KmsEnvelopeErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  /** Only KMS unavailability is worth retrying; the other codes fail the same way again. */
  get retryable(): boolean {
    return this.code === 'kms_unavailable';
  }
}

/** What both variants offer. Sealed strings are `<version>.<base64url>...`, safe in JSON and URLs. */
export interface Sealer {
  /** The version prefix this sealer writes: `k1` (direct KMS) or `e1` (data key). */
  readonly format: 'k1' | 'e1';
  /** @throws KmsEnvelopeError */
  seal(plaintext: Uint8Array, context: EncryptionContext): Promise<string>;
  /** @throws KmsEnvelopeError `authentication_failed` when the context differs from the seal's */
  open(sealed: string, context: EncryptionContext): Promise<Uint8Array>;
}

/** A client for the `kms` service (aws-request.ts). */
export type KmsSender = Pick<AwsClient, 'send'>;

const KMS_ERRORS_KEY = new Set([
  'DisabledException',
  'KMSInvalidStateException',
  'NotFoundException',
  'InvalidKeyUsageException',
  'AccessDeniedException',
  'UnsupportedOperationException',
]);
const KMS_ERRORS_AUTH = new Set(['InvalidCiphertextException', 'IncorrectKeyException']);

/** KMS's own limit for Encrypt's Plaintext. */
const MAX_DIRECT_PLAINTEXT = 4096;
/** A GCM message under one key must stay below 2^39-256 bits; values here are far smaller. */
const MAX_SEALED_PLAINTEXT = 1024 * 1024;
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** One KMS operation; blobs in `input` may be bytes, blobs in the answer are base64. */
function callKms<Output>(client: KmsSender, operation: string, input: object): Promise<Output> {
  return callAwsJson<Output>(client, KMS_JSON, operation, input);
}

/** Maps a KMS failure to the module's error; KMS's own message holds no request data. */
function fromKms(error: unknown, operation: string, keyId: string | undefined): KmsEnvelopeError {
  if (error instanceof KmsEnvelopeError) return error;
  const name = (error as { name?: unknown }).name;
  const type = typeof name === 'string' ? name : 'unknown error';
  const where = `KMS ${operation}${keyId ? ` with key ${keyId}` : ''}`;
  const code: KmsEnvelopeErrorCode = KMS_ERRORS_AUTH.has(type)
    ? 'authentication_failed'
    : KMS_ERRORS_KEY.has(type)
      ? 'key_unusable'
      : type === 'ValidationException'
        ? 'invalid_input'
        : // Throttling, 5xx, timeouts and network errors alike: worth a retry later.
          'kms_unavailable';
  return new KmsEnvelopeError(code, `${where} failed: ${type}`, { cause: error });
}

function checkContext(context: EncryptionContext): Record<string, string> {
  const copy: Record<string, string> = {};
  for (const [name, value] of Object.entries(context)) {
    // KMS rejects empty keys and values; catching it here keeps both variants alike.
    if (typeof value !== 'string' || name === '' || value === '') {
      throw new KmsEnvelopeError(
        'invalid_input',
        `Encryption context entry '${name}' must be a non-empty string`,
      );
    }
    copy[name] = value;
  }
  return copy;
}

/** Same canonical form as KMS semantics: an unordered map, so keys are sorted. */
function contextAad(context: Record<string, string>, header: Uint8Array): Buffer {
  const pairs = Object.entries(context).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return Buffer.concat([header, Buffer.from(JSON.stringify(pairs), 'utf8')]);
}

function b64u(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64url');
}

function fromB64u(part: string | undefined): Buffer {
  if (part === undefined || part === '' || !/^[A-Za-z0-9_-]+$/.test(part)) {
    throw new KmsEnvelopeError('malformed', 'Sealed value is not well formed');
  }
  return Buffer.from(part, 'base64url');
}

export interface EncryptWithKmsInput {
  /** Key ID, key ARN, alias name or alias ARN. */
  readonly keyId: string;
  /** At most 4096 bytes (KMS's limit). */
  readonly plaintext: Uint8Array;
  readonly context: EncryptionContext;
}

/** One KMS Encrypt. @returns the ciphertext blob (it names the key). @throws KmsEnvelopeError */
export async function encryptWithKms(
  client: KmsSender,
  input: EncryptWithKmsInput,
): Promise<Uint8Array> {
  if (input.plaintext.length === 0 || input.plaintext.length > MAX_DIRECT_PLAINTEXT) {
    throw new KmsEnvelopeError(
      'invalid_input',
      `KMS Encrypt takes 1 to ${MAX_DIRECT_PLAINTEXT} bytes`,
    );
  }
  const context = checkContext(input.context);
  try {
    const output = await callKms<{ CiphertextBlob?: string }>(client, 'Encrypt', {
      KeyId: input.keyId,
      Plaintext: input.plaintext,
      EncryptionContext: context,
    });
    const ciphertext = blobOf(output.CiphertextBlob);
    if (!ciphertext)
      throw new KmsEnvelopeError('kms_unavailable', 'KMS Encrypt returned no ciphertext');
    return ciphertext;
  } catch (error) {
    throw fromKms(error, 'Encrypt', input.keyId);
  }
}

export interface DecryptWithKmsInput {
  /**
   * The key the ciphertext must have been made with. KMS finds the key in the blob anyway; naming
   * it makes KMS refuse a blob made with any other key (least privilege, AWS's advice).
   * @default undefined (any key the caller may use)
   */
  readonly keyId?: string | undefined;
  readonly ciphertext: Uint8Array;
  readonly context: EncryptionContext;
}

/** One KMS Decrypt. @throws KmsEnvelopeError `authentication_failed` on any context or key mismatch */
export async function decryptWithKms(
  client: KmsSender,
  input: DecryptWithKmsInput,
): Promise<Uint8Array> {
  const context = checkContext(input.context);
  try {
    const output = await callKms<{ Plaintext?: string }>(client, 'Decrypt', {
      CiphertextBlob: input.ciphertext,
      EncryptionContext: context,
      ...(input.keyId === undefined ? {} : { KeyId: input.keyId }),
    });
    const plaintext = blobOf(output.Plaintext);
    if (!plaintext)
      throw new KmsEnvelopeError('kms_unavailable', 'KMS Decrypt returned no plaintext');
    return plaintext;
  } catch (error) {
    throw fromKms(error, 'Decrypt', input.keyId);
  }
}

export interface KmsSealerOptions {
  readonly client: KmsSender;
  /** Key ID, key ARN, alias name or alias ARN of a SYMMETRIC_DEFAULT key. */
  readonly keyId: string;
}

export interface DataKeySealerOptions extends KmsSealerOptions {
  /**
   * The encryption context of the data keys themselves (what KMS checks and CloudTrail records).
   * The per-value context goes into the local AAD instead, so one data key serves many values.
   * @default { purpose: 'token-broker-data-key' }
   */
  readonly dataKeyContext?: EncryptionContext;
  /** How long one generated data key seals values, ms. @default 300000 */
  readonly maxKeyAgeMs?: number;
  /** How many values one generated data key seals before a new one is made. @default 10000 */
  readonly maxKeyUses?: number;
  /** How long a decrypted data key is kept for opening, ms. @default 300000 */
  readonly maxDecryptedAgeMs?: number;
  /** How many decrypted data keys are kept (least recently used goes first). @default 64 */
  readonly maxDecryptedKeys?: number;
  /** @default Date.now */
  readonly clock?: Clock;
}

/** Opens `k1.` values; shared so a data-key sealer can still read values sealed directly. */
async function openDirect(options: KmsSealerOptions, parts: string[], context: EncryptionContext) {
  if (parts.length !== 1)
    throw new KmsEnvelopeError('malformed', 'Sealed value is not well formed');
  return decryptWithKms(options.client, {
    keyId: options.keyId,
    ciphertext: fromB64u(parts[0]),
    context,
  });
}

function splitSealed(sealed: string): { format: string; parts: string[] } {
  if (typeof sealed !== 'string')
    throw new KmsEnvelopeError('malformed', 'Sealed value is not a string');
  const [format = '', ...parts] = sealed.split('.');
  if (format !== 'k1' && format !== 'e1') {
    throw new KmsEnvelopeError(
      'malformed',
      `Sealed value has an unknown version '${format.slice(0, 8)}'`,
    );
  }
  return { format, parts };
}

/**
 * The direct variant: KMS Encrypt/Decrypt per value (1 to 4096 bytes each). The data-key options
 * only matter for opening `e1.` values written by a {@link createDataKeySealer}.
 */
export function createDirectKmsSealer(options: DataKeySealerOptions): Sealer {
  const dataKeys = createDataKeySealer(options);
  return {
    format: 'k1',
    async seal(plaintext, context) {
      return `k1.${b64u(await encryptWithKms(options.client, { keyId: options.keyId, plaintext, context }))}`;
    },
    async open(sealed, context) {
      const { format, parts } = splitSealed(sealed);
      return format === 'k1' ? openDirect(options, parts, context) : dataKeys.open(sealed, context);
    },
  };
}

interface DataKey {
  readonly key: KeyObject;
  /** The KMS ciphertext of the data key, base64url, as written into sealed values. */
  readonly encrypted: string;
  readonly createdAt: number;
  uses: number;
}

/**
 * The data-key variant. Concurrent seals share one GenerateDataKey; the plaintext key is held
 * only as a KeyObject (the decoded plaintext buffer is zeroed), replaced after its age or uses.
 * Layout: `e1.<encrypted data key>.<iv>.<ciphertext+tag>`; the AAD is the first two fields and
 * the per-value context, so neither can be swapped.
 */
export function createDataKeySealer(options: DataKeySealerOptions): Sealer {
  const dataKeyContext = checkContext(
    options.dataKeyContext ?? { purpose: 'token-broker-data-key' },
  );
  const maxKeyAgeMs = options.maxKeyAgeMs ?? 300_000;
  const maxKeyUses = options.maxKeyUses ?? 10_000;
  const maxDecryptedAgeMs = options.maxDecryptedAgeMs ?? 300_000;
  const maxDecryptedKeys = options.maxDecryptedKeys ?? 64;
  const clock = options.clock ?? Date.now;
  if (!(maxKeyUses >= 1 && maxDecryptedKeys >= 1)) {
    throw new KmsEnvelopeError(
      'invalid_input',
      'maxKeyUses and maxDecryptedKeys must be at least 1',
    );
  }
  let current: DataKey | undefined;
  let generating: Promise<DataKey> | undefined;
  /** Insertion order is recency: a hit is re-inserted, the first entry is evicted. */
  const decrypted = new Map<string, { key: KeyObject; at: number }>();
  const decrypting = new Map<string, Promise<KeyObject>>();

  async function generate(): Promise<DataKey> {
    let output: { Plaintext?: string; CiphertextBlob?: string };
    try {
      output = await callKms(options.client, 'GenerateDataKey', {
        KeyId: options.keyId,
        KeySpec: 'AES_256',
        EncryptionContext: dataKeyContext,
      });
    } catch (error) {
      throw fromKms(error, 'GenerateDataKey', options.keyId);
    }
    const plaintext = blobOf(output.Plaintext);
    const blob = blobOf(output.CiphertextBlob);
    if (plaintext?.length !== 32 || !blob) {
      throw new KmsEnvelopeError('kms_unavailable', 'KMS GenerateDataKey returned no 256-bit key');
    }
    const key = createSecretKey(plaintext);
    plaintext.fill(0);
    const encrypted = b64u(blob);
    // The generated key opens its own values without a Decrypt round trip.
    remember(encrypted, key);
    return { key, encrypted, createdAt: clock(), uses: 0 };
  }

  async function sealingKey(): Promise<DataKey> {
    const fresh = current && current.uses < maxKeyUses && clock() - current.createdAt < maxKeyAgeMs;
    if (fresh && current) {
      current.uses += 1;
      return current;
    }
    generating ??= generate()
      .then((generated) => {
        current = generated;
        return generated;
      })
      .finally(() => {
        generating = undefined;
      });
    await generating;
    // Re-check: a burst larger than maxKeyUses must not overrun the bound while it waited.
    return sealingKey();
  }

  function remember(encrypted: string, key: KeyObject): void {
    decrypted.delete(encrypted);
    decrypted.set(encrypted, { key, at: clock() });
    while (decrypted.size > maxDecryptedKeys) {
      const oldest = decrypted.keys().next().value as string;
      decrypted.delete(oldest);
    }
  }

  async function openingKey(encrypted: string): Promise<KeyObject> {
    const hit = decrypted.get(encrypted);
    if (hit && clock() - hit.at < maxDecryptedAgeMs) {
      decrypted.delete(encrypted);
      decrypted.set(encrypted, hit);
      return hit.key;
    }
    const pending = decrypting.get(encrypted);
    if (pending) return pending;
    const load = (async () => {
      const plaintext = await decryptWithKms(options.client, {
        keyId: options.keyId,
        ciphertext: fromB64u(encrypted),
        context: dataKeyContext,
      });
      if (plaintext.length !== 32)
        throw new KmsEnvelopeError('malformed', 'Sealed value has no 256-bit data key');
      const key = createSecretKey(plaintext);
      plaintext.fill(0);
      remember(encrypted, key);
      return key;
    })().finally(() => decrypting.delete(encrypted));
    decrypting.set(encrypted, load);
    return load;
  }

  return {
    format: 'e1',
    async seal(plaintext, context) {
      if (plaintext.length > MAX_SEALED_PLAINTEXT) {
        throw new KmsEnvelopeError(
          'invalid_input',
          `Sealed values are at most ${MAX_SEALED_PLAINTEXT} bytes`,
        );
      }
      const checked = checkContext(context);
      const dataKey = await sealingKey();
      // Random 96-bit IVs are safe for far more than maxKeyUses messages per key (NIST: 2^32).
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', dataKey.key, iv);
      cipher.setAAD(contextAad(checked, Buffer.from(`e1.${dataKey.encrypted}`, 'utf8')));
      const body = Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
      return `e1.${dataKey.encrypted}.${b64u(iv)}.${b64u(body)}`;
    },
    async open(sealed, context) {
      const { format, parts } = splitSealed(sealed);
      if (format === 'k1') return openDirect(options, parts, context);
      if (parts.length !== 3)
        throw new KmsEnvelopeError('malformed', 'Sealed value is not well formed');
      const [encrypted = '', ivPart, bodyPart] = parts;
      const iv = fromB64u(ivPart);
      const body = fromB64u(bodyPart);
      if (iv.length !== IV_BYTES || body.length < TAG_BYTES) {
        throw new KmsEnvelopeError('malformed', 'Sealed value is not well formed');
      }
      const checked = checkContext(context);
      fromB64u(encrypted);
      const key = await openingKey(encrypted);
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, iv);
        decipher.setAAD(contextAad(checked, Buffer.from(`e1.${encrypted}`, 'utf8')));
        decipher.setAuthTag(body.subarray(body.length - TAG_BYTES));
        return Buffer.concat([
          decipher.update(body.subarray(0, body.length - TAG_BYTES)),
          decipher.final(),
        ]);
      } catch (cause) {
        throw new KmsEnvelopeError(
          'authentication_failed',
          `Sealed value does not match its encryption context or was altered (key ${options.keyId})`,
          { cause },
        );
      }
    },
  };
}

export interface KmsMacOptions {
  readonly client: KmsSender;
  /** Key ID, key ARN, alias name or alias ARN of an HMAC_256 key. */
  readonly keyId: string;
}

export interface KmsMac {
  /** One KMS GenerateMac (HMAC_SHA_256). @throws KmsEnvelopeError */
  generate(message: Uint8Array | string): Promise<Uint8Array>;
  /**
   * One KMS VerifyMac. @returns false for a wrong MAC (KMS's KMSInvalidMacException); other
   * failures throw, so an outage never reads as "forged".
   * @throws KmsEnvelopeError
   */
  verify(message: Uint8Array | string, mac: Uint8Array): Promise<boolean>;
}

function messageBytes(message: Uint8Array | string): Uint8Array {
  const bytes = typeof message === 'string' ? Buffer.from(message, 'utf8') : message;
  if (bytes.length === 0 || bytes.length > MAX_DIRECT_PLAINTEXT) {
    throw new KmsEnvelopeError(
      'invalid_input',
      `KMS MAC messages are 1 to ${MAX_DIRECT_PLAINTEXT} bytes`,
    );
  }
  return bytes;
}

/** HMAC-SHA-256 with a key that never leaves KMS: for approval links. */
export function createKmsMac(options: KmsMacOptions): KmsMac {
  return {
    async generate(message) {
      const bytes = messageBytes(message);
      try {
        const output = await callKms<{ Mac?: string }>(options.client, 'GenerateMac', {
          KeyId: options.keyId,
          Message: bytes,
          MacAlgorithm: 'HMAC_SHA_256',
        });
        const mac = blobOf(output.Mac);
        if (!mac) throw new KmsEnvelopeError('kms_unavailable', 'KMS GenerateMac returned no MAC');
        return mac;
      } catch (error) {
        throw fromKms(error, 'GenerateMac', options.keyId);
      }
    },
    async verify(message, mac) {
      const bytes = messageBytes(message);
      // KMS rejects an empty MAC as a validation error; for a caller it is simply not valid.
      if (mac.length === 0 || mac.length > 6144) return false;
      try {
        const output = await callKms<{ MacValid?: boolean }>(options.client, 'VerifyMac', {
          KeyId: options.keyId,
          Message: bytes,
          Mac: mac,
          MacAlgorithm: 'HMAC_SHA_256',
        });
        return output.MacValid === true;
      } catch (error) {
        if ((error as { name?: unknown }).name === 'KMSInvalidMacException') return false;
        throw fromKms(error, 'VerifyMac', options.keyId);
      }
    },
  };
}
