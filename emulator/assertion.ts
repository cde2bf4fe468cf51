/**
 * Reads and verifies an inbound JWT bearer assertion the way Salesforce describes it: compact
 * JWS, RS256 only, signature checked against the public key of an uploaded X.509 certificate.
 */
import { createVerify, X509Certificate } from 'node:crypto';

export interface DecodedAssertion {
  readonly header: Record<string, unknown>;
  readonly claims: Record<string, unknown>;
  readonly signingInput: string;
  readonly signature: Buffer;
}

function decodeJsonSegment(segment: string): Record<string, unknown> | undefined {
  if (!/^[A-Za-z0-9_-]+$/.test(segment)) return undefined;
  try {
    const value: unknown = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
    return value !== null && typeof value === 'object' && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/** Splits and decodes a compact JWS; undefined when it is not one. */
export function decodeAssertion(assertion: string): DecodedAssertion | undefined {
  const parts = assertion.split('.');
  if (parts.length !== 3) return undefined;
  const [headerPart = '', claimsPart = '', signaturePart = ''] = parts;
  const header = decodeJsonSegment(headerPart);
  const claims = decodeJsonSegment(claimsPart);
  if (!header || !claims || !/^[A-Za-z0-9_-]+$/.test(signaturePart)) return undefined;
  return {
    header,
    claims,
    signingInput: `${headerPart}.${claimsPart}`,
    signature: Buffer.from(signaturePart, 'base64url'),
  };
}

/** True when the RS256 signature verifies with any of the certificates' public keys. */
export function verifiesWithCertificate(
  decoded: DecodedAssertion,
  certificates: string[],
): boolean {
  if (decoded.header.alg !== 'RS256') return false;
  return certificates.some((pem) => {
    try {
      const publicKey = new X509Certificate(pem).publicKey;
      return createVerify('RSA-SHA256')
        .update(decoded.signingInput)
        .verify(publicKey, decoded.signature);
    } catch {
      return false;
    }
  });
}

/** Throws a readable error when `pem` is not an X.509 certificate with an RSA key. */
export function checkCertificate(pem: string): void {
  const cert = new X509Certificate(pem);
  if (cert.publicKey.asymmetricKeyType !== 'rsa') {
    throw new Error('certificate must carry an RSA public key');
  }
}

/**
 * `exp` as seconds since the epoch. Salesforce's own example sends a decimal string, and
 * @salesforce/core sends milliseconds; both are taken at face value (docs/emulator.md, JWT bearer checks).
 */
export function readExpiry(exp: unknown): number | undefined {
  if (typeof exp === 'number' && Number.isFinite(exp)) return exp;
  if (typeof exp === 'string' && /^\d+(\.\d+)?$/.test(exp)) return Number(exp);
  return undefined;
}
