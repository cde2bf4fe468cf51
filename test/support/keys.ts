/**
 * Real signing material for tests, from the generator operators use (keys/signing-material.ts).
 * Cached per label within a process because RSA key generation is slow; a label names one key, so
 * tests that need two different keys ask for two labels.
 */
import { generateSigningMaterial, type SigningMaterial } from '../../keys/signing-material';

export type { SigningMaterial };

const cache = new Map<string, Promise<SigningMaterial>>();

/** Signing material for `label`; the same label returns the same material within a process. */
export function signingMaterial(label = 'default'): Promise<SigningMaterial> {
  let material = cache.get(label);
  if (!material) {
    material = generateSigningMaterial({ commonName: `token-broker-test-${label}` });
    cache.set(label, material);
  }
  return material;
}
