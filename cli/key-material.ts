/**
 * A signing key for a Connected App: RSA-2048 and a self-signed X.509 certificate (SHA-256 with
 * RSA), as Salesforce's "Use digital signatures" expects. The private key only ever goes into the
 * secret; callers print the certificate.
 */
import 'reflect-metadata';
import { randomBytes, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

const ALGORITHM = {
  name: 'RSASSA-PKCS1-v1_5',
  hash: 'SHA-256',
  publicExponent: new Uint8Array([1, 0, 1]),
  modulusLength: 2048,
} as const;

export interface KeyMaterialOptions {
  /** Certificate subject CN. */
  readonly commonName: string;
  /** Validity from now, days. */
  readonly days: number;
  /** @default Date.now() */
  readonly now?: number;
}

export interface KeyMaterial {
  readonly privateKeyPem: string;
  readonly certificatePem: string;
}

function toPem(label: string, der: ArrayBuffer): string {
  const body = Buffer.from(der)
    .toString('base64')
    .replace(/.{1,64}/g, '$&\n');
  return `-----BEGIN ${label}-----\n${body}-----END ${label}-----\n`;
}

/** 16 random bytes, the first in 0x10-0x7f: positive in DER, no leading zero byte. */
function randomSerial(): string {
  const bytes = randomBytes(16);
  bytes[0] = 0x10 + ((bytes[0] ?? 0) % 0x70);
  return bytes.toString('hex');
}

export async function generateKeyMaterial(options: KeyMaterialOptions): Promise<KeyMaterial> {
  x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
  const now = options.now ?? Date.now();
  const keys = await webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify']);
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: `CN=${options.commonName.replace(/[,+="\\<>;#]/g, '')}`,
    // A minute of slack for clocks running behind ours.
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + options.days * 24 * 3600 * 1000),
    keys: keys as unknown as x509.X509CertificateCreateSelfSignedParams['keys'],
    signingAlgorithm: ALGORITHM,
  });
  return {
    privateKeyPem: toPem('PRIVATE KEY', await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)),
    certificatePem: certificate.toString('pem'),
  };
}
