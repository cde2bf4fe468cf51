/**
 * The signing key secret format (docs/contracts.md#signing-key-secret): JSON `{"privateKey": PEM, "certificate": PEM}`, or a
 * bare PEM private key. Parsing only; error messages describe the shape, never the content.
 */
import { BrokerError } from './errors';

export interface SigningKeySecret {
  readonly privateKeyPem: string;
  readonly certificatePem: string | undefined;
}

const PRIVATE_KEY_PEM = /-----BEGIN (RSA |ENCRYPTED )?PRIVATE KEY-----/;

/** @throws BrokerError `signing_key_unavailable` naming what is wrong with the shape. */
export function parseSigningKeySecret(secretId: string, secretString: string): SigningKeySecret {
  const fail = (reason: string): never => {
    throw new BrokerError('signing_key_unavailable', `Signing key secret ${secretId}: ${reason}`);
  };
  const text = secretString.trim();
  if (text.startsWith('-----BEGIN')) {
    if (!PRIVATE_KEY_PEM.test(text)) fail('the PEM is not a private key');
    return { privateKeyPem: text, certificatePem: undefined };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return fail('expected JSON {"privateKey", "certificate"} or a PEM private key');
  }
  if (typeof parsed !== 'object' || parsed === null) return fail('expected a JSON object');
  const { privateKey, certificate } = parsed as Record<string, unknown>;
  if (typeof privateKey !== 'string' || !PRIVATE_KEY_PEM.test(privateKey)) {
    return fail('"privateKey" must be a PEM private key');
  }
  if (
    certificate !== undefined &&
    (typeof certificate !== 'string' || !certificate.includes('-----BEGIN CERTIFICATE-----'))
  ) {
    return fail('"certificate" must be an X.509 PEM certificate');
  }
  return { privateKeyPem: privateKey, certificatePem: certificate };
}
