/**
 * Signing keys from AWS Secrets Manager (docs/contracts.md#signing-key-secret): read once, served from memory for a max
 * age, re-read after it. If a re-read fails transiently (throttling, a 5xx, a timeout), the last good
 * key keeps serving for a bounded time so a Secrets Manager blip does not stop token issuance; any
 * other failure (access denied, secret deleted) drops it at once, so revoking a secret stops
 * signing. Reports the certificate's fingerprint and
 * expiry; the private key is imported as a non-extractable key and never logged.
 */
import {
  createPrivateKey,
  createPublicKey,
  type KeyObject,
  webcrypto,
  X509Certificate,
} from 'node:crypto';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { BrokerError, isBrokerError } from '../core/errors';
import type { CertificateInfo, SigningKey, SigningKeyProvider } from '../core/ports';
import { parseSigningKeySecret } from '../core/signing-key-secret';
import type { Clock } from '../core/types';
import { blobOf, callAwsJson, KMS_JSON } from './aws-protocols';
import type { AwsClient } from './aws-request';

export interface SecretsManagerSigningKeysOptions {
  readonly client: Pick<SecretsManagerClient, 'send'>;
  /**
   * A `kms` client (aws-request.ts) that signs for keys held in KMS (secrets with `kmsKeyId`);
   * without it such a key is unavailable.
   */
  readonly kms?: Pick<AwsClient, 'send'>;
  /** How long a key is served before it is re-read, ms. @default 300000 */
  readonly maxAgeMs?: number;
  /** How long past its max age the last good key may serve while re-reads fail, ms. @default 3600000 */
  readonly staleGraceMs?: number;
  readonly clock?: Clock;
  /** Told when a stale key is served because a refresh failed. */
  readonly onRefreshFailure?: (secretId: string, error: BrokerError) => void;
}

interface Entry {
  readonly key: SigningKey;
  readonly readAt: number;
}

const MIN_RSA_BITS = 2048;

/** RS256 in WebCrypto terms. */
const RS256_IMPORT = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' } as const;

/**
 * The parsed key as a non-extractable WebCrypto key, from its DER: the PEM is parsed once, by
 * `createPrivateKey`, and a KeyObject (which can be exported) is not kept.
 */
function toSigningCryptoKey(keyObject: KeyObject): Promise<webcrypto.CryptoKey> {
  const der = keyObject.export({ type: 'pkcs8', format: 'der' });
  return webcrypto.subtle.importKey('pkcs8', der, RS256_IMPORT, false, ['sign']);
}

function describeCertificate(certificatePem: string, publicKeySpki: string): CertificateInfo {
  const certificate = new X509Certificate(certificatePem);
  return {
    fingerprintSha256: certificate.fingerprint256.replaceAll(':', '').toLowerCase(),
    notAfter: new Date(certificate.validTo).toISOString(),
    subject: certificate.subject,
    matchesPrivateKey:
      certificate.publicKey.export({ type: 'spki', format: 'pem' }).toString() === publicKeySpki,
  };
}

/**
 * Turns a SecretString into a usable key: a PEM key imported here, or a KMS key reference
 * (signing then goes to `kms:Sign`).
 * @throws BrokerError `signing_key_unavailable`
 */
export async function importSigningKey(
  secretId: string,
  versionId: string | undefined,
  secretString: string,
  kms?: Pick<AwsClient, 'send'>,
): Promise<SigningKey> {
  const secret = parseSigningKeySecret(secretId, secretString);
  const fail = (reason: string, cause?: unknown): never => {
    throw new BrokerError('signing_key_unavailable', `Signing key secret ${secretId}: ${reason}`, {
      cause,
    });
  };
  if (secret.kind === 'kms') {
    if (!kms) return fail('names a KMS key, and this function has no KMS client');
    let certificate: CertificateInfo | undefined;
    if (secret.certificatePem) {
      try {
        // Issued by signing with this very key (keys create --kms checks it with GetPublicKey).
        certificate = {
          ...describeCertificate(secret.certificatePem, ''),
          matchesPrivateKey: true,
        };
      } catch (cause) {
        fail('the certificate PEM cannot be parsed', cause);
      }
    }
    return {
      secretId,
      versionId,
      kind: 'kms',
      certificate,
      sign: createKmsSign(kms, secretId, secret.kmsKeyId),
    };
  }
  let keyObject: KeyObject;
  try {
    keyObject = createPrivateKey(secret.privateKeyPem);
  } catch (cause) {
    return fail('the private key PEM cannot be parsed (encrypted keys are not supported)', cause);
  }
  const bits = keyObject.asymmetricKeyDetails?.modulusLength ?? 0;
  if (keyObject.asymmetricKeyType !== 'rsa' || bits < MIN_RSA_BITS) {
    fail(`Salesforce needs an RSA key of at least ${MIN_RSA_BITS} bits`);
  }
  const publicKeySpki = createPublicKey(keyObject)
    .export({ type: 'spki', format: 'pem' })
    .toString();
  let certificate: CertificateInfo | undefined;
  if (secret.certificatePem) {
    try {
      certificate = describeCertificate(secret.certificatePem, publicKeySpki);
    } catch (cause) {
      fail('the certificate PEM cannot be parsed', cause);
    }
  }
  const privateKey = await toSigningCryptoKey(keyObject);
  return {
    secretId,
    versionId,
    kind: 'secret',
    certificate,
    sign: async (data) =>
      new Uint8Array(await webcrypto.subtle.sign(RS256_IMPORT, privateKey, data)),
  };
}

/** `kms:Sign` of the raw signing input with RS256's algorithm: the private key stays in KMS. */
function createKmsSign(
  kms: Pick<AwsClient, 'send'>,
  secretId: string,
  kmsKeyId: string,
): (data: Uint8Array) => Promise<Uint8Array> {
  return async (data) => {
    try {
      const output = await callAwsJson<{ Signature?: string }>(kms, KMS_JSON, 'Sign', {
        KeyId: kmsKeyId,
        Message: data,
        MessageType: 'RAW',
        SigningAlgorithm: 'RSASSA_PKCS1_V1_5_SHA_256',
      });
      const signature = blobOf(output.Signature);
      if (!signature) throw new Error('KMS returned no signature');
      return signature;
    } catch (cause) {
      throw new BrokerError(
        'signing_key_unavailable',
        `KMS key ${kmsKeyId} of signing key secret ${secretId} could not sign (${describeReadFailure(cause)})`,
        { cause },
      );
    }
  };
}

/** Error names of Secrets Manager and the SDK that say "try again later", not "you may not". */
const TRANSIENT_ERROR_NAMES: ReadonlySet<string> = new Set([
  'ThrottlingException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'InternalServiceError',
  'InternalFailure',
  'ServiceUnavailable',
  'TimeoutError',
  'AbortError',
  'RequestTimeout',
]);

/**
 * Whether a failed key read may keep the last good key serving: only throttling, server faults
 * and timeouts. `AccessDenied`, `ResourceNotFound`, a deleted or unparseable secret are answers:
 * the key was revoked or replaced, and serving it from memory would defeat the revocation.
 */
export function keepsLastGoodKey(failure: unknown): boolean {
  const cause = (failure as { cause?: unknown }).cause;
  if (cause === undefined || cause === null || typeof cause !== 'object') return false;
  const { name, $fault, $metadata, code } = cause as {
    name?: unknown;
    $fault?: unknown;
    $metadata?: { httpStatusCode?: unknown };
    code?: unknown;
  };
  if (typeof name === 'string' && TRANSIENT_ERROR_NAMES.has(name)) return true;
  if ($fault === 'server') return true;
  const status = $metadata?.httpStatusCode;
  if (typeof status === 'number' && status >= 500) return true;
  // Network-level failures never reached Secrets Manager: no answer was given.
  return (
    typeof code === 'string' && /^(ECONNRESET|ECONNREFUSED|ETIMEDOUT|EPIPE|EAI_AGAIN)$/.test(code)
  );
}

function describeReadFailure(error: unknown): string {
  const name = (error as { name?: unknown }).name;
  return typeof name === 'string' ? name : 'unknown error';
}

/** A {@link SigningKeyProvider} reading Secrets Manager through the AWS SDK. */
export function createSecretsManagerSigningKeys(
  options: SecretsManagerSigningKeysOptions,
): SigningKeyProvider {
  const maxAgeMs = options.maxAgeMs ?? 300_000;
  const staleGraceMs = options.staleGraceMs ?? 3_600_000;
  const clock = options.clock ?? Date.now;
  const entries = new Map<string, Entry>();
  const reads = new Map<string, Promise<Entry>>();

  async function read(secretId: string): Promise<Entry> {
    let output: { SecretString?: string | undefined; VersionId?: string | undefined };
    try {
      // Loaded on first use: the SDK stays off the function's cold-start import path.
      const { GetSecretValueCommand } = await import('@aws-sdk/client-secrets-manager');
      output = await options.client.send(new GetSecretValueCommand({ SecretId: secretId }));
    } catch (cause) {
      throw new BrokerError(
        'signing_key_unavailable',
        `Signing key secret ${secretId} could not be read (${describeReadFailure(cause)})`,
        { cause },
      );
    }
    if (typeof output.SecretString !== 'string') {
      throw new BrokerError(
        'signing_key_unavailable',
        `Signing key secret ${secretId} has no SecretString (binary secrets are not supported)`,
      );
    }
    const key = await importSigningKey(
      secretId,
      output.VersionId,
      output.SecretString,
      options.kms,
    );
    return { key: withRevocation(key), readAt: clock() };
  }

  /** A KMS key disabled or no longer permitted stops signing at once, like a refused read. */
  function withRevocation(key: SigningKey): SigningKey {
    if (key.kind !== 'kms') return key;
    const revocable: SigningKey = {
      ...key,
      sign: (data) =>
        key.sign(data).catch((error: unknown) => {
          if (!keepsLastGoodKey(error) && entries.get(key.secretId)?.key === revocable) {
            entries.delete(key.secretId);
          }
          throw error;
        }),
    };
    return revocable;
  }

  function readOnce(secretId: string): Promise<Entry> {
    let running = reads.get(secretId);
    if (!running) {
      running = read(secretId).finally(() => reads.delete(secretId));
      reads.set(secretId, running);
    }
    return running;
  }

  return {
    async getSigningKey(secretId, { forceRefresh = false } = {}) {
      const cached = entries.get(secretId);
      if (cached && !forceRefresh && clock() - cached.readAt < maxAgeMs) return cached.key;
      try {
        const entry = await readOnce(secretId);
        entries.set(secretId, entry);
        return entry.key;
      } catch (error) {
        if (!keepsLastGoodKey(error)) {
          entries.delete(secretId);
          throw error;
        }
        const usable = cached && clock() - cached.readAt < maxAgeMs + staleGraceMs;
        if (!usable || !isBrokerError(error)) throw error;
        options.onRefreshFailure?.(secretId, error);
        return cached.key;
      }
    },
  };
}
