/**
 * A fresh key and self-signed certificate for the demo org, as an operator would create for a
 * Connected App. Written to a git-ignored folder, never committed.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { generateSigningMaterial } from '../keys/signing-material';

export interface DemoKeyFiles {
  readonly privateKeyPath: string;
  readonly certificatePath: string;
  readonly privateKeyPem: string;
  readonly certificatePem: string;
}

/** Generates the key pair and certificate and writes them (key readable by the owner only). */
export async function writeDemoKeys(directory: string): Promise<DemoKeyFiles> {
  const { privateKeyPem, certificatePem } = await generateSigningMaterial({
    commonName: 'salesforce-token-broker-demo',
    days: 365,
  });
  await mkdir(directory, { recursive: true, mode: 0o700 });
  const privateKeyPath = join(directory, 'demo-private-key.pem');
  const certificatePath = join(directory, 'demo-certificate.pem');
  await writeFile(privateKeyPath, privateKeyPem, { mode: 0o600 });
  await writeFile(certificatePath, certificatePem);
  return { privateKeyPath, certificatePath, privateKeyPem, certificatePem };
}
