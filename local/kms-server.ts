/**
 * A small local AWS KMS: an HTTP endpoint speaking the service's awsJson1_1 wire protocol
 * (`x-amz-target: TrentService.<Operation>`, binary fields base64 in JSON), so the functions' KMS
 * client (aws-request.ts) and the SDK's (key administration) talk to it unchanged, through an
 * endpoint option or AWS_ENDPOINT_URL_KMS.
 * Memory only. Supports symmetric keys (Encrypt, Decrypt, GenerateDataKey*), HMAC keys
 * (GenerateMac, VerifyMac) and RSA_2048 keys (Sign, Verify, GetPublicKey, RSAES_OAEP Encrypt and
 * Decrypt), aliases, key state (disable, enable, scheduled deletion) and rotation, with the
 * service's error names and status codes. Failures and latency can be injected; every call is
 * logged so tests can count KMS round trips.
 *
 * The crypto is real (node:crypto); only the symmetric ciphertext format is local. Like AWS's, it
 * names the key (and the key material version, so rotation keeps old ciphertexts readable) and
 * authenticates the encryption context, so Decrypt needs no KeyId and a different context fails.
 * Request signatures are not checked: it listens on loopback only.
 */
import {
  createCipheriv,
  createDecipheriv,
  createHmac,
  constants as cryptoConstants,
  generateKeyPair,
  type KeyObject,
  privateDecrypt,
  privateEncrypt,
  publicDecrypt,
  publicEncrypt,
  randomBytes,
  randomUUID,
  sign,
  timingSafeEqual,
  verify,
} from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { sendAwsJson } from './aws-json';

const generateKeyPairAsync = promisify(generateKeyPair);

export type KmsKeySpec = 'SYMMETRIC_DEFAULT' | 'HMAC_256' | 'RSA_2048';
export type KmsKeyUsage = 'ENCRYPT_DECRYPT' | 'SIGN_VERIFY' | 'GENERATE_VERIFY_MAC';
type KeyState = 'Enabled' | 'Disabled' | 'PendingDeletion';

/** Errors a test may inject with {@link LocalKms.failNext}. */
export type KmsInjectableError =
  | 'KMSInternalException'
  | 'DependencyTimeoutException'
  | 'KeyUnavailableException'
  | 'ThrottlingException'
  | 'AccessDeniedException'
  | 'DisabledException'
  | 'NotFoundException'
  | 'KMSInvalidStateException'
  | 'LimitExceededException';

/** Every error name this server answers with. */
type KmsErrorType =
  | KmsInjectableError
  | 'AlreadyExistsException'
  | 'IncorrectKeyException'
  | 'InvalidAliasNameException'
  | 'InvalidCiphertextException'
  | 'InvalidKeyUsageException'
  | 'KMSInvalidMacException'
  | 'KMSInvalidSignatureException'
  | 'UnsupportedOperationException'
  | 'ValidationException'
  | 'UnknownOperationException'
  | 'SerializationException';

/**
 * Status codes as the KMS API reference documents them: every client fault is 400 (the SDK model's
 * 404/409 codes are its awsQuery compatibility codes, not what the JSON endpoint sends); the
 * server faults are 500, which is what makes the SDK retry them.
 */
const SERVER_FAULTS: ReadonlySet<KmsErrorType> = new Set([
  'KMSInternalException',
  'DependencyTimeoutException',
  'KeyUnavailableException',
]);

const INJECTED_MESSAGES: Record<KmsInjectableError, string> = {
  KMSInternalException: 'The request was rejected because an internal exception occurred.',
  DependencyTimeoutException: 'The system timed out while trying to fulfill the request.',
  KeyUnavailableException:
    'The request was rejected because the specified KMS key was not available.',
  ThrottlingException:
    'You have exceeded the rate at which you may call KMS. Reduce the frequency of your calls.',
  AccessDeniedException: 'User is not authorized to perform this operation on this resource.',
  DisabledException: 'The KMS key is disabled.',
  NotFoundException: 'The KMS key does not exist.',
  KMSInvalidStateException: 'The KMS key is not in a valid state for this operation.',
  LimitExceededException: 'The request was rejected because a quota was exceeded.',
};

class ServiceError extends Error {
  /** `message` undefined reproduces the bare `{"__type": ...}` AWS sends for crypto failures. */
  constructor(
    readonly type: KmsErrorType,
    readonly detail?: string,
  ) {
    super(detail ?? type);
  }

  get status(): number {
    return SERVER_FAULTS.has(this.type) ? 500 : 400;
  }
}

interface KeyMaterial {
  /** Symmetric or HMAC key bytes, newest last (rotation appends). */
  readonly secrets: Buffer[];
  readonly privateKey?: KeyObject;
  readonly publicKey?: KeyObject;
}

interface StoredKey {
  readonly keyId: string;
  readonly arn: string;
  readonly spec: KmsKeySpec;
  readonly usage: KmsKeyUsage;
  readonly description: string;
  readonly createdAt: number;
  state: KeyState;
  deletionDate?: number;
  rotationEnabled: boolean;
  rotationPeriodInDays: number;
  readonly material: KeyMaterial;
}

interface StoredAlias {
  readonly name: string;
  readonly arn: string;
  targetKeyId: string;
  readonly createdAt: number;
}

/** One received call, in arrival order. */
export interface KmsCall {
  readonly operation: string;
  /** The key the call resolved to (UUID), when it names or embeds one that exists. */
  readonly keyId: string | undefined;
  /** The KeyId the request carried as sent: UUID, ARN, alias name or alias ARN. */
  readonly requestedKeyId: string | undefined;
  /** `ok` or the error name answered. */
  readonly outcome: string;
}

export interface CreateKeyOptions {
  /** @default 'SYMMETRIC_DEFAULT' */
  readonly spec?: KmsKeySpec;
  /** @default the only usage the spec allows; `SIGN_VERIFY` for RSA_2048 */
  readonly usage?: KmsKeyUsage;
  /** @default '' */
  readonly description?: string;
  /** Also creates this alias (`alias/...`) for the key. */
  readonly alias?: string;
}

export interface KmsKeyRef {
  readonly keyId: string;
  readonly arn: string;
}

export interface KmsServerOptions {
  /** @default 0 (ephemeral) */
  readonly port?: number;
  /** @default 'eu-west-1' */
  readonly region?: string;
  /** @default '123456789012' */
  readonly accountId?: string;
  /** Latency added to every call, ms, to approximate a real regional endpoint. @default 0 */
  readonly latencyMs?: number;
}

export interface LocalKms {
  /** `http://127.0.0.1:PORT` */
  readonly endpoint: string;
  readonly server: Server;
  readonly region: string;
  /** Creates a key directly (no HTTP, not logged). */
  createKey(options?: CreateKeyOptions): Promise<KmsKeyRef>;
  /** Points `alias/...` at a key directly, creating or moving the alias. */
  setAlias(aliasName: string, keyId: string): void;
  /** Sets a key's state directly, as DisableKey/EnableKey would. */
  setEnabled(keyId: string, enabled: boolean): void;
  /** Adds new key material as a rotation would; old ciphertexts and MACs stay verifiable. */
  rotate(keyId: string): void;
  /**
   * Makes the next `times` calls of `operation` (`'*'` for any) fail with `type`, before the
   * request is looked at: the call is still logged, with the error as its outcome.
   */
  failNext(operation: string, type: KmsInjectableError, times?: number): void;
  /** Delays the next `times` calls of `operation` (`'*'` for any) by `ms` before answering. */
  delayNext(operation: string, ms: number, times?: number): void;
  /** Every call received since start or the last {@link resetCalls}. */
  calls(): readonly KmsCall[];
  /** How many calls of `operation` were received, optionally only those resolving to `keyId`. */
  callCount(operation: string, keyId?: string): number;
  resetCalls(): void;
  close(): Promise<void>;
}

const SYMMETRIC_HEADER_MAGIC = 0x4c; // 'L': a local-format ciphertext, version 1
const UUID_BYTES = 16;
const HEADER_BYTES = 1 + UUID_BYTES + 4;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const MAX_PLAINTEXT_BYTES = 4096;

const RSA_SIGNING = [
  'RSASSA_PSS_SHA_256',
  'RSASSA_PSS_SHA_384',
  'RSASSA_PSS_SHA_512',
  'RSASSA_PKCS1_V1_5_SHA_256',
  'RSASSA_PKCS1_V1_5_SHA_384',
  'RSASSA_PKCS1_V1_5_SHA_512',
] as const;
const RSA_ENCRYPTION = ['RSAES_OAEP_SHA_1', 'RSAES_OAEP_SHA_256'] as const;

/** DER DigestInfo prefixes: PKCS#1 v1.5 signs DigestInfo(hash), which DIGEST mode must build. */
const DIGEST_INFO: Record<string, { hash: string; prefix: Buffer; length: number }> = {
  SHA_256: {
    hash: 'sha256',
    prefix: Buffer.from('3031300d060960864801650304020105000420', 'hex'),
    length: 32,
  },
  SHA_384: {
    hash: 'sha384',
    prefix: Buffer.from('3041300d060960864801650304020205000430', 'hex'),
    length: 48,
  },
  SHA_512: {
    hash: 'sha512',
    prefix: Buffer.from('3051300d060960864801650304020305000440', 'hex'),
    length: 64,
  },
};

function uuidToBytes(uuid: string): Buffer {
  return Buffer.from(uuid.replaceAll('-', ''), 'hex');
}

function bytesToUuid(bytes: Buffer): string {
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * The encryption context as AAD. AWS treats it as an unordered map, so keys are sorted; JSON of
 * pairs keeps `{a:'b=c'}` and `{'a=b':'c'}` apart.
 */
function canonicalContext(context: Record<string, string>): Buffer {
  const pairs = Object.entries(context).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return Buffer.from(JSON.stringify(pairs), 'utf8');
}

function validationError(field: string, constraint: string): ServiceError {
  return new ServiceError(
    'ValidationException',
    `1 validation error detected: Value at '${field}' failed to satisfy constraint: ${constraint}`,
  );
}

function readBlob(input: Record<string, unknown>, field: string, max: number): Buffer {
  const value = input[field];
  if (typeof value !== 'string' || value === '') {
    throw validationError(field, 'Member must not be null');
  }
  const bytes = Buffer.from(value, 'base64');
  if (bytes.length === 0 || bytes.length > max) {
    throw validationError(field, `Member must have length between 1 and ${max}`);
  }
  return bytes;
}

function readContext(input: Record<string, unknown>): Record<string, string> {
  const context = input.EncryptionContext;
  if (context === undefined || context === null) return {};
  if (typeof context !== 'object' || Array.isArray(context)) {
    throw new ServiceError('SerializationException', 'EncryptionContext must be a map');
  }
  for (const value of Object.values(context)) {
    if (typeof value !== 'string') {
      throw new ServiceError('SerializationException', 'EncryptionContext values must be strings');
    }
  }
  return context as Record<string, string>;
}

function digestInfoOf(algorithm: string): { hash: string; prefix: Buffer; length: number } {
  const info = DIGEST_INFO[algorithm.slice(-7)];
  if (!info) throw validationError('signingAlgorithm', 'Member must be a supported algorithm');
  return info;
}

export async function startKmsServer(options: KmsServerOptions = {}): Promise<LocalKms> {
  const region = options.region ?? 'eu-west-1';
  const accountId = options.accountId ?? '123456789012';
  const baseLatencyMs = options.latencyMs ?? 0;
  const keys = new Map<string, StoredKey>();
  const aliases = new Map<string, StoredAlias>();
  const injected: { operation: string; type: KmsInjectableError; times: number }[] = [];
  const delays: { operation: string; ms: number; times: number }[] = [];
  let log: KmsCall[] = [];

  const keyArn = (keyId: string) => `arn:aws:kms:${region}:${accountId}:key/${keyId}`;
  const aliasArn = (name: string) => `arn:aws:kms:${region}:${accountId}:${name}`;

  async function createKey(create: CreateKeyOptions): Promise<StoredKey> {
    const spec = create.spec ?? 'SYMMETRIC_DEFAULT';
    const allowed: Record<KmsKeySpec, readonly KmsKeyUsage[]> = {
      SYMMETRIC_DEFAULT: ['ENCRYPT_DECRYPT'],
      HMAC_256: ['GENERATE_VERIFY_MAC'],
      RSA_2048: ['SIGN_VERIFY', 'ENCRYPT_DECRYPT'],
    };
    const usage = create.usage ?? allowed[spec][0];
    if (!allowed[spec] || !usage || !allowed[spec].includes(usage)) {
      throw new ServiceError(
        'ValidationException',
        `KeyUsage ${String(usage)} is not compatible with KeySpec ${String(spec)}`,
      );
    }
    let material: KeyMaterial;
    if (spec === 'RSA_2048') {
      const pair = await generateKeyPairAsync('rsa', { modulusLength: 2048 });
      material = { secrets: [], privateKey: pair.privateKey, publicKey: pair.publicKey };
    } else {
      material = { secrets: [randomBytes(32)] };
    }
    const keyId = randomUUID();
    const key: StoredKey = {
      keyId,
      arn: keyArn(keyId),
      spec,
      usage,
      description: create.description ?? '',
      createdAt: Date.now() / 1000,
      state: 'Enabled',
      rotationEnabled: false,
      rotationPeriodInDays: 365,
      material,
    };
    keys.set(keyId, key);
    if (create.alias) setAlias(create.alias, keyId);
    return key;
  }

  function checkAliasName(name: unknown): string {
    if (typeof name !== 'string' || !/^alias\/[a-zA-Z0-9/_-]{1,250}$/.test(name)) {
      throw new ServiceError(
        'ValidationException',
        "1 validation error detected: Value at 'aliasName' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9:/_-]+$",
      );
    }
    if (name.startsWith('alias/aws/')) {
      throw new ServiceError(
        'NotFoundException',
        `Alias ${aliasArn(name)} is not found. Alias names beginning with alias/aws/ are reserved.`,
      );
    }
    return name;
  }

  function setAlias(name: string, keyId: string): void {
    checkAliasName(name);
    const target = findKey(keyId, { aliases: false });
    const existing = aliases.get(name);
    if (existing) existing.targetKeyId = target.keyId;
    else
      aliases.set(name, {
        name,
        arn: aliasArn(name),
        targetKeyId: target.keyId,
        createdAt: Date.now() / 1000,
      });
  }

  /** KeyId as AWS accepts it: UUID, key ARN, and (for crypto and describe calls) alias or alias ARN. */
  function findKey(keyId: unknown, accept: { aliases: boolean }): StoredKey {
    if (typeof keyId !== 'string' || keyId === '') {
      throw validationError('keyId', 'Member must not be null');
    }
    let id = keyId;
    const aliasName = keyId.startsWith('alias/')
      ? keyId
      : keyId.startsWith(aliasArn('alias/'))
        ? keyId.slice(aliasArn('').length)
        : undefined;
    if (aliasName !== undefined) {
      if (!accept.aliases) throw new ServiceError('NotFoundException', `Invalid keyId ${keyId}`);
      const alias = aliases.get(aliasName);
      if (!alias)
        throw new ServiceError('NotFoundException', `Alias ${aliasArn(aliasName)} is not found.`);
      id = alias.targetKeyId;
    } else if (keyId.startsWith('arn:')) {
      if (!keyId.startsWith(keyArn(''))) {
        throw new ServiceError('NotFoundException', `Invalid arn ${keyId}`);
      }
      id = keyId.slice(keyArn('').length);
    }
    const key = keys.get(id);
    if (!key) throw new ServiceError('NotFoundException', `Key '${keyArn(id)}' does not exist`);
    return key;
  }

  /** The checks AWS makes before any cryptographic operation, in its order. */
  function usable(key: StoredKey, usage: KmsKeyUsage, operation: string): StoredKey {
    if (key.state === 'Disabled')
      throw new ServiceError('DisabledException', `${key.arn} is disabled.`);
    if (key.state === 'PendingDeletion') {
      throw new ServiceError('KMSInvalidStateException', `${key.arn} is pending deletion.`);
    }
    if (key.usage !== usage) {
      throw new ServiceError(
        'InvalidKeyUsageException',
        `${key.arn} key usage is ${key.usage} which is not valid for ${operation}.`,
      );
    }
    return key;
  }

  function describe(key: StoredKey): Record<string, unknown> {
    return {
      AWSAccountId: accountId,
      KeyId: key.keyId,
      Arn: key.arn,
      CreationDate: key.createdAt,
      Enabled: key.state === 'Enabled',
      Description: key.description,
      KeyUsage: key.usage,
      KeyState: key.state,
      ...(key.deletionDate === undefined ? {} : { DeletionDate: key.deletionDate }),
      Origin: 'AWS_KMS',
      KeyManager: 'CUSTOMER',
      CustomerMasterKeySpec: key.spec,
      KeySpec: key.spec,
      MultiRegion: false,
      ...algorithmsOf(key),
    };
  }

  function algorithmsOf(key: StoredKey): Record<string, string[]> {
    if (key.spec === 'SYMMETRIC_DEFAULT') return { EncryptionAlgorithms: ['SYMMETRIC_DEFAULT'] };
    if (key.spec === 'HMAC_256') return { MacAlgorithms: ['HMAC_SHA_256'] };
    return key.usage === 'SIGN_VERIFY'
      ? { SigningAlgorithms: [...RSA_SIGNING] }
      : { EncryptionAlgorithms: [...RSA_ENCRYPTION] };
  }

  function symmetricEncrypt(
    key: StoredKey,
    plaintext: Buffer,
    context: Record<string, string>,
  ): Buffer {
    const version = key.material.secrets.length - 1;
    const secret = key.material.secrets[version] as Buffer;
    const header = Buffer.alloc(HEADER_BYTES);
    header.writeUInt8(SYMMETRIC_HEADER_MAGIC, 0);
    uuidToBytes(key.keyId).copy(header, 1);
    header.writeUInt32BE(version, 1 + UUID_BYTES);
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', secret, iv);
    cipher.setAAD(Buffer.concat([header, canonicalContext(context)]));
    const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return Buffer.concat([header, iv, body, cipher.getAuthTag()]);
  }

  /** The key a local ciphertext names, or InvalidCiphertextException as AWS answers for garbage. */
  function keyOfCiphertext(blob: Buffer): StoredKey {
    if (blob.length < HEADER_BYTES + IV_BYTES + TAG_BYTES || blob[0] !== SYMMETRIC_HEADER_MAGIC) {
      throw new ServiceError('InvalidCiphertextException');
    }
    const key = keys.get(bytesToUuid(blob.subarray(1, 1 + UUID_BYTES)));
    // AWS cannot tell a tampered key reference from a foreign one either.
    if (!key) throw new ServiceError('InvalidCiphertextException');
    return key;
  }

  function symmetricDecrypt(key: StoredKey, blob: Buffer, context: Record<string, string>): Buffer {
    const header = blob.subarray(0, HEADER_BYTES);
    const secret = key.material.secrets[header.readUInt32BE(1 + UUID_BYTES)];
    if (!secret) throw new ServiceError('InvalidCiphertextException');
    const iv = blob.subarray(HEADER_BYTES, HEADER_BYTES + IV_BYTES);
    const body = blob.subarray(HEADER_BYTES + IV_BYTES, blob.length - TAG_BYTES);
    try {
      const decipher = createDecipheriv('aes-256-gcm', secret, iv);
      decipher.setAAD(Buffer.concat([header, canonicalContext(context)]));
      decipher.setAuthTag(blob.subarray(blob.length - TAG_BYTES));
      return Buffer.concat([decipher.update(body), decipher.final()]);
    } catch {
      // AWS answers a wrong context, a tampered blob and a wrong key alike, with no message.
      throw new ServiceError('InvalidCiphertextException');
    }
  }

  function rsaOaep(algorithm: unknown): string {
    if (algorithm === 'RSAES_OAEP_SHA_256') return 'sha256';
    if (algorithm === 'RSAES_OAEP_SHA_1') return 'sha1';
    throw new ServiceError(
      'InvalidKeyUsageException',
      `Encryption algorithm ${String(algorithm)} is not compatible with an RSA_2048 key.`,
    );
  }

  function dataKeyLength(input: Record<string, unknown>): number {
    const spec = input.KeySpec;
    const count = input.NumberOfBytes;
    if ((spec === undefined) === (count === undefined)) {
      throw new ServiceError(
        'ValidationException',
        'Please specify either number of bytes or key spec.',
      );
    }
    if (spec === 'AES_256') return 32;
    if (spec === 'AES_128') return 16;
    if (spec !== undefined)
      throw validationError('keySpec', 'Member must satisfy enum value set: [AES_256, AES_128]');
    if (typeof count !== 'number' || !Number.isInteger(count) || count < 1 || count > 1024) {
      throw validationError('numberOfBytes', 'Member must have value between 1 and 1024');
    }
    return count;
  }

  function generateDataKey(input: Record<string, unknown>, call: CallContext) {
    const key = call.resolve(input.KeyId, true);
    const length = dataKeyLength(input);
    const context = readContext(input);
    usable(key, 'ENCRYPT_DECRYPT', 'GenerateDataKey');
    if (key.spec !== 'SYMMETRIC_DEFAULT') {
      throw new ServiceError(
        'InvalidKeyUsageException',
        `${key.arn} is not a symmetric encryption key.`,
      );
    }
    const plaintext = randomBytes(length);
    return { key, plaintext, blob: symmetricEncrypt(key, plaintext, context) };
  }

  function mac(key: StoredKey, message: Buffer, version: number): Buffer | undefined {
    const secret = key.material.secrets[version];
    return secret ? createHmac('sha256', secret).update(message).digest() : undefined;
  }

  function macKey(input: Record<string, unknown>, call: CallContext, operation: string): StoredKey {
    const key = usable(call.resolve(input.KeyId, true), 'GENERATE_VERIFY_MAC', operation);
    if (input.MacAlgorithm !== 'HMAC_SHA_256') {
      throw new ServiceError(
        'InvalidKeyUsageException',
        `MAC algorithm ${String(input.MacAlgorithm)} is not compatible with ${key.arn}.`,
      );
    }
    return key;
  }

  /** What Sign and Verify share: key checks, algorithm, and the bytes PKCS#1/PSS operate on. */
  function signingInput(input: Record<string, unknown>, call: CallContext, operation: string) {
    const key = usable(call.resolve(input.KeyId, true), 'SIGN_VERIFY', operation);
    const algorithm = input.SigningAlgorithm;
    if (typeof algorithm !== 'string' || !(RSA_SIGNING as readonly string[]).includes(algorithm)) {
      throw new ServiceError(
        'InvalidKeyUsageException',
        `Signing algorithm ${String(algorithm)} is not compatible with ${key.arn}.`,
      );
    }
    const message = readBlob(input, 'Message', MAX_PLAINTEXT_BYTES);
    const messageType = input.MessageType ?? 'RAW';
    const info = digestInfoOf(algorithm);
    if (messageType !== 'RAW' && messageType !== 'DIGEST') {
      throw validationError('messageType', 'Member must satisfy enum value set: [RAW, DIGEST]');
    }
    if (messageType === 'DIGEST' && message.length !== info.length) {
      throw new ServiceError(
        'ValidationException',
        `Digest is invalid length for algorithm ${algorithm}.`,
      );
    }
    const pss = algorithm.startsWith('RSASSA_PSS');
    if (pss && messageType === 'DIGEST') {
      // node:crypto has no sign-a-precomputed-digest for PSS; AWS does. Say so rather than fake it.
      throw new ServiceError(
        'UnsupportedOperationException',
        'The local KMS signs PSS over RAW messages only.',
      );
    }
    return { key, algorithm, message, messageType, info, pss };
  }

  function rsaSign(s: ReturnType<typeof signingInput>): Buffer {
    const privateKey = s.key.material.privateKey as KeyObject;
    if (s.pss) {
      return sign(s.info.hash, s.message, {
        key: privateKey,
        padding: cryptoConstants.RSA_PKCS1_PSS_PADDING,
        saltLength: s.info.length,
      });
    }
    if (s.messageType === 'RAW') return sign(s.info.hash, s.message, privateKey);
    return privateEncrypt(
      { key: privateKey, padding: cryptoConstants.RSA_PKCS1_PADDING },
      Buffer.concat([s.info.prefix, s.message]),
    );
  }

  function rsaVerify(s: ReturnType<typeof signingInput>, signature: Buffer): boolean {
    const publicKey = s.key.material.publicKey as KeyObject;
    if (s.pss) {
      return verify(
        s.info.hash,
        s.message,
        {
          key: publicKey,
          padding: cryptoConstants.RSA_PKCS1_PSS_PADDING,
          saltLength: s.info.length,
        },
        signature,
      );
    }
    if (s.messageType === 'RAW') return verify(s.info.hash, s.message, publicKey, signature);
    try {
      const recovered = publicDecrypt(
        { key: publicKey, padding: cryptoConstants.RSA_PKCS1_PADDING },
        signature,
      );
      const expected = Buffer.concat([s.info.prefix, s.message]);
      return recovered.length === expected.length && timingSafeEqual(recovered, expected);
    } catch {
      return false;
    }
  }

  function managedKey(input: Record<string, unknown>, call: CallContext): StoredKey {
    // AWS takes only a key ID or key ARN for key management operations, not an alias.
    return call.resolve(input.KeyId, false);
  }

  function notPendingDeletion(key: StoredKey): void {
    if (key.state === 'PendingDeletion') {
      throw new ServiceError('KMSInvalidStateException', `${key.arn} is pending deletion.`);
    }
  }

  interface CallContext {
    resolve(keyId: unknown, aliasesAccepted: boolean): StoredKey;
    resolved(key: StoredKey): void;
  }

  type Operation = (
    input: Record<string, unknown>,
    call: CallContext,
  ) => Promise<unknown> | unknown;

  const operations: Record<string, Operation> = {
    async CreateKey(input) {
      const spec = (input.KeySpec ??
        input.CustomerMasterKeySpec ??
        'SYMMETRIC_DEFAULT') as KmsKeySpec;
      if (!['SYMMETRIC_DEFAULT', 'HMAC_256', 'RSA_2048'].includes(spec)) {
        throw new ServiceError(
          'ValidationException',
          `KeySpec ${String(spec)} is not supported by the local KMS.`,
        );
      }
      const key = await createKey({
        spec,
        // Like AWS: KeyUsage defaults to ENCRYPT_DECRYPT whatever the spec, so HMAC keys must say so.
        usage: (input.KeyUsage as KmsKeyUsage | undefined) ?? 'ENCRYPT_DECRYPT',
        description: typeof input.Description === 'string' ? input.Description : '',
      });
      return { KeyMetadata: describe(key) };
    },
    DescribeKey(input, call) {
      return { KeyMetadata: describe(call.resolve(input.KeyId, true)) };
    },
    CreateAlias(input, call) {
      const name = checkAliasName(input.AliasName);
      if (aliases.has(name)) {
        throw new ServiceError(
          'AlreadyExistsException',
          `An alias with the name ${aliasArn(name)} already exists`,
        );
      }
      const key = call.resolve(input.TargetKeyId, false);
      notPendingDeletion(key);
      setAlias(name, key.keyId);
      return {};
    },
    ListAliases(input, call) {
      const filter = input.KeyId === undefined ? undefined : call.resolve(input.KeyId, false).keyId;
      return {
        Aliases: [...aliases.values()]
          .filter((alias) => filter === undefined || alias.targetKeyId === filter)
          .map((alias) => ({
            AliasName: alias.name,
            AliasArn: alias.arn,
            TargetKeyId: alias.targetKeyId,
            CreationDate: alias.createdAt,
            LastUpdatedDate: alias.createdAt,
          })),
        Truncated: false,
      };
    },
    Encrypt(input, call) {
      const key = usable(call.resolve(input.KeyId, true), 'ENCRYPT_DECRYPT', 'Encrypt');
      const plaintext = readBlob(input, 'Plaintext', MAX_PLAINTEXT_BYTES);
      const algorithm = input.EncryptionAlgorithm ?? 'SYMMETRIC_DEFAULT';
      if (key.spec === 'RSA_2048') {
        const hash = rsaOaep(algorithm);
        const blob = publicEncrypt(
          {
            key: key.material.publicKey as KeyObject,
            padding: cryptoConstants.RSA_PKCS1_OAEP_PADDING,
            oaepHash: hash,
          },
          plaintext,
        );
        return {
          CiphertextBlob: blob.toString('base64'),
          KeyId: key.arn,
          EncryptionAlgorithm: algorithm,
        };
      }
      if (algorithm !== 'SYMMETRIC_DEFAULT') {
        throw new ServiceError(
          'InvalidKeyUsageException',
          `Encryption algorithm ${String(algorithm)} is not compatible with ${key.arn}.`,
        );
      }
      const blob = symmetricEncrypt(key, plaintext, readContext(input));
      return {
        CiphertextBlob: blob.toString('base64'),
        KeyId: key.arn,
        EncryptionAlgorithm: 'SYMMETRIC_DEFAULT',
      };
    },
    Decrypt(input, call) {
      const blob = readBlob(input, 'CiphertextBlob', 6144);
      const algorithm = input.EncryptionAlgorithm ?? 'SYMMETRIC_DEFAULT';
      if (algorithm !== 'SYMMETRIC_DEFAULT') {
        // Asymmetric ciphertexts carry no key reference: AWS needs the KeyId.
        const key = usable(call.resolve(input.KeyId, true), 'ENCRYPT_DECRYPT', 'Decrypt');
        if (key.spec !== 'RSA_2048')
          throw new ServiceError('InvalidKeyUsageException', `${key.arn} is not an RSA key.`);
        try {
          const plaintext = privateDecrypt(
            {
              key: key.material.privateKey as KeyObject,
              padding: cryptoConstants.RSA_PKCS1_OAEP_PADDING,
              oaepHash: rsaOaep(algorithm),
            },
            blob,
          );
          return {
            KeyId: key.arn,
            Plaintext: plaintext.toString('base64'),
            EncryptionAlgorithm: algorithm,
          };
        } catch (error) {
          if (error instanceof ServiceError) throw error;
          throw new ServiceError('InvalidCiphertextException');
        }
      }
      const context = readContext(input);
      const named = input.KeyId === undefined ? undefined : call.resolve(input.KeyId, true);
      const key = keyOfCiphertext(blob);
      if (!named) call.resolved(key);
      if (named && named.keyId !== key.keyId) {
        throw new ServiceError(
          'IncorrectKeyException',
          'The key ID in the request does not identify a CMK that can perform this operation.',
        );
      }
      usable(key, 'ENCRYPT_DECRYPT', 'Decrypt');
      const plaintext = symmetricDecrypt(key, blob, context);
      return {
        KeyId: key.arn,
        Plaintext: plaintext.toString('base64'),
        EncryptionAlgorithm: 'SYMMETRIC_DEFAULT',
      };
    },
    GenerateDataKey(input, call) {
      const { key, plaintext, blob } = generateDataKey(input, call);
      return {
        CiphertextBlob: blob.toString('base64'),
        Plaintext: plaintext.toString('base64'),
        KeyId: key.arn,
      };
    },
    GenerateDataKeyWithoutPlaintext(input, call) {
      const { key, blob } = generateDataKey(input, call);
      return { CiphertextBlob: blob.toString('base64'), KeyId: key.arn };
    },
    GenerateMac(input, call) {
      const key = macKey(input, call, 'GenerateMac');
      const message = readBlob(input, 'Message', MAX_PLAINTEXT_BYTES);
      const value = mac(key, message, key.material.secrets.length - 1) as Buffer;
      return { Mac: value.toString('base64'), MacAlgorithm: 'HMAC_SHA_256', KeyId: key.arn };
    },
    VerifyMac(input, call) {
      const key = macKey(input, call, 'VerifyMac');
      const message = readBlob(input, 'Message', MAX_PLAINTEXT_BYTES);
      const given = readBlob(input, 'Mac', 6144);
      // Rotation: AWS HMAC keys do not rotate, but checking every version costs nothing here.
      const valid = key.material.secrets.some((_, version) => {
        const expected = mac(key, message, version) as Buffer;
        return expected.length === given.length && timingSafeEqual(expected, given);
      });
      // AWS answers an invalid MAC with an exception, never with MacValid false.
      if (!valid) throw new ServiceError('KMSInvalidMacException');
      return { KeyId: key.arn, MacValid: true, MacAlgorithm: 'HMAC_SHA_256' };
    },
    Sign(input, call) {
      const signing = signingInput(input, call, 'Sign');
      return {
        KeyId: signing.key.arn,
        Signature: rsaSign(signing).toString('base64'),
        SigningAlgorithm: signing.algorithm,
      };
    },
    Verify(input, call) {
      const signing = signingInput(input, call, 'Verify');
      const signature = readBlob(input, 'Signature', 6144);
      // Like AWS: an invalid signature is an exception, not SignatureValid false.
      if (!rsaVerify(signing, signature)) throw new ServiceError('KMSInvalidSignatureException');
      return { KeyId: signing.key.arn, SignatureValid: true, SigningAlgorithm: signing.algorithm };
    },
    GetPublicKey(input, call) {
      const key = call.resolve(input.KeyId, true);
      if (key.state === 'Disabled')
        throw new ServiceError('DisabledException', `${key.arn} is disabled.`);
      notPendingDeletion(key);
      if (!key.material.publicKey) {
        throw new ServiceError(
          'UnsupportedOperationException',
          `${key.arn} key usage is not supported for this operation.`,
        );
      }
      return {
        KeyId: key.arn,
        PublicKey: key.material.publicKey
          .export({ type: 'spki', format: 'der' })
          .toString('base64'),
        CustomerMasterKeySpec: key.spec,
        KeySpec: key.spec,
        KeyUsage: key.usage,
        ...algorithmsOf(key),
      };
    },
    EnableKeyRotation(input, call) {
      const key = managedKey(input, call);
      if (key.spec !== 'SYMMETRIC_DEFAULT') {
        throw new ServiceError(
          'UnsupportedOperationException',
          `${key.arn} key spec ${key.spec} does not support automatic rotation.`,
        );
      }
      if (key.state === 'Disabled')
        throw new ServiceError('DisabledException', `${key.arn} is disabled.`);
      notPendingDeletion(key);
      const period = input.RotationPeriodInDays;
      if (period !== undefined && (typeof period !== 'number' || period < 90 || period > 2560)) {
        throw validationError('rotationPeriodInDays', 'Member must have value between 90 and 2560');
      }
      key.rotationEnabled = true;
      if (typeof period === 'number') key.rotationPeriodInDays = period;
      return {};
    },
    DisableKeyRotation(input, call) {
      const key = managedKey(input, call);
      notPendingDeletion(key);
      key.rotationEnabled = false;
      return {};
    },
    GetKeyRotationStatus(input, call) {
      const key = managedKey(input, call);
      notPendingDeletion(key);
      return {
        KeyRotationEnabled: key.rotationEnabled,
        KeyId: key.arn,
        ...(key.rotationEnabled
          ? {
              RotationPeriodInDays: key.rotationPeriodInDays,
              NextRotationDate: key.createdAt + key.rotationPeriodInDays * 86_400,
            }
          : {}),
      };
    },
    RotateKeyOnDemand(input, call) {
      const key = managedKey(input, call);
      if (key.spec !== 'SYMMETRIC_DEFAULT') {
        throw new ServiceError(
          'UnsupportedOperationException',
          `${key.arn} key spec ${key.spec} does not support rotation.`,
        );
      }
      if (key.state === 'Disabled')
        throw new ServiceError('DisabledException', `${key.arn} is disabled.`);
      notPendingDeletion(key);
      key.material.secrets.push(randomBytes(32));
      return { KeyId: key.keyId };
    },
    DisableKey(input, call) {
      const key = managedKey(input, call);
      notPendingDeletion(key);
      key.state = 'Disabled';
      return {};
    },
    EnableKey(input, call) {
      const key = managedKey(input, call);
      notPendingDeletion(key);
      key.state = 'Enabled';
      return {};
    },
    ScheduleKeyDeletion(input, call) {
      const key = managedKey(input, call);
      notPendingDeletion(key);
      const days = input.PendingWindowInDays ?? 30;
      if (typeof days !== 'number' || days < 7 || days > 30) {
        throw validationError('pendingWindowInDays', 'Member must have value between 7 and 30');
      }
      key.state = 'PendingDeletion';
      key.deletionDate = Date.now() / 1000 + days * 86_400;
      return {
        KeyId: key.arn,
        DeletionDate: key.deletionDate,
        KeyState: key.state,
        PendingWindowInDays: days,
      };
    },
    CancelKeyDeletion(input, call) {
      const key = managedKey(input, call);
      if (key.state !== 'PendingDeletion') {
        throw new ServiceError('KMSInvalidStateException', `${key.arn} is not pending deletion.`);
      }
      // AWS leaves a key whose deletion was cancelled disabled.
      key.state = 'Disabled';
      delete key.deletionDate;
      return { KeyId: key.arn };
    },
  };

  function takeInjected<T extends { operation: string; times: number }>(
    list: T[],
    operation: string,
  ): T | undefined {
    const index = list.findIndex(
      (entry) => entry.operation === operation || entry.operation === '*',
    );
    if (index < 0) return undefined;
    const entry = list[index] as T;
    entry.times -= 1;
    if (entry.times <= 0) list.splice(index, 1);
    return entry;
  }

  async function handle(request: IncomingMessage, response: ServerResponse) {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const target = request.headers['x-amz-target'];
    const name =
      typeof target === 'string' && target.startsWith('TrentService.')
        ? target.slice('TrentService.'.length)
        : String(target);
    const operation = Object.hasOwn(operations, name) ? operations[name] : undefined;
    let requestedKeyId: string | undefined;
    let resolvedKeyId: string | undefined;
    const call: CallContext = {
      resolve(keyId, aliasesAccepted) {
        const key = findKey(keyId, { aliases: aliasesAccepted });
        resolvedKeyId = key.keyId;
        return key;
      },
      resolved(key) {
        resolvedKeyId = key.keyId;
      },
    };
    let outcome = 'ok';
    try {
      const delay = (takeInjected(delays, name)?.ms ?? 0) + baseLatencyMs;
      if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
      if (request.method !== 'POST' || !operation) {
        throw new ServiceError('UnknownOperationException', `Unknown operation ${String(target)}`);
      }
      let input: Record<string, unknown>;
      try {
        input = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<
          string,
          unknown
        >;
      } catch {
        throw new ServiceError('SerializationException', 'The request body is not valid JSON.');
      }
      requestedKeyId = typeof input.KeyId === 'string' ? input.KeyId : undefined;
      const failure = takeInjected(injected, name);
      if (failure) throw new ServiceError(failure.type, INJECTED_MESSAGES[failure.type]);
      sendAwsJson(response, 200, await operation(input, call));
    } catch (error) {
      const serviceError =
        error instanceof ServiceError
          ? error
          : new ServiceError('KMSInternalException', INJECTED_MESSAGES.KMSInternalException);
      outcome = serviceError.type;
      const body =
        serviceError.detail === undefined
          ? { __type: serviceError.type }
          : { __type: serviceError.type, message: serviceError.detail };
      sendAwsJson(response, serviceError.status, body, serviceError.type);
    } finally {
      log.push({ operation: name, keyId: resolvedKeyId, requestedKeyId, outcome });
    }
  }

  const server = createServer((request, response) => {
    void handle(request, response);
  });
  await new Promise<void>((resolve, reject) => {
    // A taken port must reject (and be reported by the caller), not crash the process.
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;

  function directKey(keyId: string): StoredKey {
    return findKey(keyId, { aliases: true });
  }

  return {
    endpoint: `http://127.0.0.1:${port}`,
    server,
    region,
    async createKey(create = {}) {
      const key = await createKey({
        ...create,
        usage:
          create.usage ??
          (create.spec === 'HMAC_256'
            ? 'GENERATE_VERIFY_MAC'
            : create.spec === 'RSA_2048'
              ? 'SIGN_VERIFY'
              : 'ENCRYPT_DECRYPT'),
      });
      return { keyId: key.keyId, arn: key.arn };
    },
    setAlias(aliasName, keyId) {
      setAlias(aliasName, keyId);
    },
    setEnabled(keyId, enabled) {
      directKey(keyId).state = enabled ? 'Enabled' : 'Disabled';
    },
    rotate(keyId) {
      const key = directKey(keyId);
      if (key.spec === 'RSA_2048') throw new Error(`${key.arn}: RSA keys do not rotate`);
      key.material.secrets.push(randomBytes(32));
    },
    failNext(operation, type, times = 1) {
      injected.push({ operation, type, times });
    },
    delayNext(operation, ms, times = 1) {
      delays.push({ operation, ms, times });
    },
    calls: () => [...log],
    callCount: (operation, keyId) =>
      log.filter(
        (entry) =>
          entry.operation === operation &&
          (keyId === undefined || entry.keyId === keyId || entry.requestedKeyId === keyId),
      ).length,
    resetCalls() {
      log = [];
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
