/**
 * A fresh RSA-2048 key and self-signed X.509 certificate for the demo org, as an operator would
 * create for a Connected App. Written to a git-ignored folder, never committed.
 */
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';

const ALGORITHM = {
  name: 'RSASSA-PKCS1-v1_5',
  hash: 'SHA-256',
  publicExponent: new Uint8Array([1, 0, 1]),
  modulusLength: 2048,
} as const;

export interface DemoKeyFiles {
  readonly privateKeyPath: string;
  readonly certificatePath: string;
  readonly privateKeyPem: string;
  readonly certificatePem: string;
}

function toPem(label: string, der: ArrayBuffer): string {
  const body = Buffer.from(der)
    .toString('base64')
    .replace(/.{1,64}/g, '$&\n');
  return `-----BEGIN ${label}-----\n${body}-----END ${label}-----\n`;
}

/** Generates the key pair and certificate and writes them (key readable by the owner only). */
export async function writeDemoKeys(directory: string): Promise<DemoKeyFiles> {
  x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
  const keys = await webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify']);
  const now = Date.now();
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: now.toString(16),
    name: 'CN=salesforce-token-broker-demo',
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + 365 * 24 * 3600 * 1000),
    keys: keys as unknown as x509.X509CertificateCreateSelfSignedParams['keys'],
    signingAlgorithm: ALGORITHM,
  });
  const privateKeyPem = toPem(
    'PRIVATE KEY',
    await webcrypto.subtle.exportKey('pkcs8', keys.privateKey),
  );
  const certificatePem = certificate.toString('pem');
  await mkdir(directory, { recursive: true, mode: 0o700 });
  const privateKeyPath = join(directory, 'demo-private-key.pem');
  const certificatePath = join(directory, 'demo-certificate.pem');
  await writeFile(privateKeyPath, privateKeyPem, { mode: 0o600 });
  await writeFile(certificatePath, certificatePem);
  return { privateKeyPath, certificatePath, privateKeyPem, certificatePem };
}
