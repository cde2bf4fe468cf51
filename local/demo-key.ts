/**
 * The local stack's demo signing key: generated into the data folder on first run (by the same
 * generator the emulator's demo uses), reused afterwards so a restart keeps the certificate,
 * replaced when it is about to expire.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeDemoKeys } from '../emulator/demo-keys';
import { certificateNotAfter } from '../keys/signing-material';

export interface DemoKey {
  readonly privateKeyPem: string;
  readonly certificatePem: string;
  readonly certificatePath: string;
  /** Whether this run generated it. */
  readonly generated: boolean;
}

export async function loadOrCreateDemoKey(directory: string): Promise<DemoKey> {
  const privateKeyPath = join(directory, 'demo-private-key.pem');
  const certificatePath = join(directory, 'demo-certificate.pem');
  try {
    const [privateKeyPem, certificatePem] = await Promise.all([
      readFile(privateKeyPath, 'utf8'),
      readFile(certificatePath, 'utf8'),
    ]);
    // An expired demo certificate is replaced rather than left to fail the walkthrough.
    if (certificateNotAfter(certificatePem).getTime() > Date.now() + 24 * 3600 * 1000) {
      return { privateKeyPem, certificatePem, certificatePath, generated: false };
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const written = await writeDemoKeys(directory);
  return {
    privateKeyPem: written.privateKeyPem,
    certificatePem: written.certificatePem,
    certificatePath: written.certificatePath,
    generated: true,
  };
}
