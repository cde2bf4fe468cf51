/**
 * The signing key secret format (docs/contracts.md#signing-key-secret): JSON
 * `{"privateKey": PEM, "certificate": PEM}`, a bare PEM private key, or, for a key held in KMS,
 * `{"kmsKeyId": "alias/...", "certificate": PEM}` (the private key never leaves KMS; the secret
 * only says which key and carries its certificate). Parsing only; error messages describe the
 * shape, never the content.
 */
import { BrokerError } from './errors';

export type SigningKeySecret =
  | {
      readonly kind: 'secret';
      readonly privateKeyPem: string;
      readonly certificatePem: string | undefined;
    }
  | {
      readonly kind: 'kms';
      /** A key id, key ARN or alias (`alias/salesforce-token-broker/...`). */
      readonly kmsKeyId: string;
      readonly certificatePem: string | undefined;
    };

/** Which kind a key is: the registry's `signingKeyKind` and the status route say it. */
export type SigningKeyKind = SigningKeySecret['kind'];

const PRIVATE_KEY_PEM = /-----BEGIN (RSA |ENCRYPTED )?PRIVATE KEY-----/;
const KMS_KEY_ID =
  /^(alias\/[\w/_+=.@-]{1,250}|[0-9a-f-]{36}|arn:aws[a-z-]*:kms:[\w-]+:\d{12}:(key|alias)\/[\w/_+=.@-]+)$/;

/** @throws BrokerError `signing_key_unavailable` naming what is wrong with the shape. */
export function parseSigningKeySecret(secretId: string, secretString: string): SigningKeySecret {
  const fail = (reason: string): never => {
    throw new BrokerError('signing_key_unavailable', `Signing key secret ${secretId}: ${reason}`);
  };
  const text = secretString.trim();
  if (text.startsWith('-----BEGIN')) {
    if (!PRIVATE_KEY_PEM.test(text)) fail('the PEM is not a private key');
    return { kind: 'secret', privateKeyPem: text, certificatePem: undefined };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return fail('expected JSON {"privateKey", "certificate"} or a PEM private key');
  }
  if (typeof parsed !== 'object' || parsed === null) return fail('expected a JSON object');
  const { privateKey, certificate, kmsKeyId } = parsed as Record<string, unknown>;
  if (kmsKeyId !== undefined) {
    if (privateKey !== undefined) return fail('holds both "kmsKeyId" and "privateKey"');
    if (typeof kmsKeyId !== 'string' || !KMS_KEY_ID.test(kmsKeyId)) {
      return fail('"kmsKeyId" must be a KMS key id, key ARN or alias');
    }
  } else if (typeof privateKey !== 'string' || !PRIVATE_KEY_PEM.test(privateKey)) {
    return fail('"privateKey" must be a PEM private key');
  }
  if (
    certificate !== undefined &&
    (typeof certificate !== 'string' || !certificate.includes('-----BEGIN CERTIFICATE-----'))
  ) {
    return fail('"certificate" must be an X.509 PEM certificate');
  }
  if (typeof kmsKeyId === 'string') return { kind: 'kms', kmsKeyId, certificatePem: certificate };
  return { kind: 'secret', privateKeyPem: privateKey as string, certificatePem: certificate };
}
