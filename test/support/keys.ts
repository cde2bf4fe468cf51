/**
 * Real RSA-2048 signing material for tests: a PKCS#8 private key and a self-signed X.509
 * certificate, as an operator would upload to a Connected App. Generated once per process per
 * label because RSA key generation is slow.
 */
import { createHash, webcrypto } from 'node:crypto';
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';

export interface SigningMaterial {
  readonly privateKeyPem: string;
  readonly certificatePem: string;
  readonly publicKeyPem: string;
  /** Hex SHA-256 of the certificate's DER. */
  readonly fingerprintSha256: string;
  /** The SecretString format of SPEC §3.4. */
  readonly secretString: string;
}

const cache = new Map<string, Promise<SigningMaterial>>();
const algorithm = {
  name: 'RSASSA-PKCS1-v1_5',
  hash: 'SHA-256',
  publicExponent: new Uint8Array([1, 0, 1]),
  modulusLength: 2048,
} as const;

function toPem(label: string, der: ArrayBuffer): string {
  const body = Buffer.from(der)
    .toString('base64')
    .replace(/.{1,64}/g, '$&\n');
  return `-----BEGIN ${label}-----\n${body}-----END ${label}-----\n`;
}

async function generate(commonName: string, notAfter: Date): Promise<SigningMaterial> {
  x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
  const keys = await webcrypto.subtle.generateKey(algorithm, true, ['sign', 'verify']);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: Date.now().toString(16),
    name: `CN=${commonName}`,
    notBefore: new Date(Date.now() - 60_000),
    notAfter,
    keys: keys as unknown as x509.X509CertificateCreateSelfSignedParams['keys'],
    signingAlgorithm: algorithm,
  });
  const privateKeyPem = toPem(
    'PRIVATE KEY',
    await webcrypto.subtle.exportKey('pkcs8', keys.privateKey),
  );
  const publicKeyPem = toPem(
    'PUBLIC KEY',
    await webcrypto.subtle.exportKey('spki', keys.publicKey),
  );
  const certificatePem = cert.toString('pem');
  return {
    privateKeyPem,
    certificatePem,
    publicKeyPem,
    fingerprintSha256: createHash('sha256').update(Buffer.from(cert.rawData)).digest('hex'),
    secretString: JSON.stringify({ privateKey: privateKeyPem, certificate: certificatePem }),
  };
}

/** Signing material for `label`; the same label returns the same material within a process. */
export function signingMaterial(
  label = 'default',
  options: { notAfter?: Date } = {},
): Promise<SigningMaterial> {
  let material = cache.get(label);
  if (!material) {
    const notAfter = options.notAfter ?? new Date(Date.now() + 365 * 24 * 3600 * 1000);
    material = generate(`token-broker-test-${label}`, notAfter);
    cache.set(label, material);
  }
  return material;
}
