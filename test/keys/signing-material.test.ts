import { createPublicKey, createSign, createVerify, X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  certificateNotAfter,
  generateSigningMaterial,
  signingKeySecretString,
} from '../../keys/signing-material';
import { importSigningKey } from '../../lambda/adapters/signing-keys';

const DAY_MS = 24 * 3600 * 1000;

describe('signing material generator', () => {
  it('makes an RSA-2048 key and a self-signed certificate over its public half', async () => {
    const now = Date.now();
    const material = await generateSigningMaterial({ commonName: 'acme-broker', days: 30, now });
    const certificate = new X509Certificate(material.certificatePem);
    expect(certificate.subject).toBe('CN=acme-broker');
    expect(certificate.issuer).toBe(certificate.subject);
    expect(certificate.verify(certificate.publicKey)).toBe(true);
    expect(certificate.publicKey.asymmetricKeyDetails?.modulusLength).toBe(2048);
    const publicSpki = createPublicKey(material.privateKeyPem).export({
      type: 'spki',
      format: 'pem',
    });
    expect(certificate.publicKey.export({ type: 'spki', format: 'pem' })).toBe(publicSpki);
    expect(material.publicKeyPem).toBe(publicSpki);
    const signature = createSign('RSA-SHA256').update('x').sign(material.privateKeyPem);
    expect(createVerify('RSA-SHA256').update('x').verify(certificate.publicKey, signature)).toBe(
      true,
    );
    // Validity is whole seconds in X.509: a minute of slack before now, `days` after.
    expect(Date.parse(material.notBefore)).toBeLessThanOrEqual(now - 59_000);
    expect(Math.abs(Date.parse(material.notAfter) - (now + 30 * DAY_MS))).toBeLessThan(1000);
    expect(certificateNotAfter(material.certificatePem).toISOString()).toBe(material.notAfter);
  });

  it('reports the fingerprint, subject and expiry the broker reports for the same secret', async () => {
    const material = await generateSigningMaterial({ commonName: 'same-view' });
    expect(material.fingerprintSha256).toMatch(/^[0-9a-f]{64}$/);
    expect(material.secretString).toBe(signingKeySecretString(material));
    expect(JSON.parse(material.secretString)).toEqual({
      privateKey: material.privateKeyPem,
      certificate: material.certificatePem,
    });
    const { certificate } = await importSigningKey('test', undefined, material.secretString);
    expect(certificate).toEqual({
      fingerprintSha256: material.fingerprintSha256,
      notAfter: material.notAfter,
      subject: material.subject,
      matchesPrivateKey: true,
    });
  });

  it('makes expired and not-yet-valid certificates on request', async () => {
    const now = Date.now();
    const expired = await generateSigningMaterial({
      commonName: 'expired',
      notBefore: new Date(now - 10 * DAY_MS),
      notAfter: new Date(now - DAY_MS),
    });
    expect(certificateNotAfter(expired.certificatePem).getTime()).toBeLessThan(now);
    const early = await generateSigningMaterial({
      commonName: 'early',
      notBefore: new Date(now + DAY_MS),
      notAfter: new Date(now + 2 * DAY_MS),
    });
    expect(Date.parse(new X509Certificate(early.certificatePem).validFrom)).toBeGreaterThan(now);
  });

  it('keeps a common name from adding DN attributes, and never repeats a serial', async () => {
    const [a, b] = await Promise.all([
      generateSigningMaterial({ commonName: 'evil,O=Salesforce+OU=x' }),
      generateSigningMaterial({ commonName: 'evil,O=Salesforce+OU=x' }),
    ]);
    expect(new X509Certificate(a.certificatePem).subject).toBe('CN=evilOSalesforceOUx');
    expect(new X509Certificate(a.certificatePem).serialNumber).not.toBe(
      new X509Certificate(b.certificatePem).serialNumber,
    );
  });
});
