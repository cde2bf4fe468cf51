/**
 * Signing material for a Connected App: an RSA-2048 key pair and a self-signed X.509 certificate
 * (SHA-256 with RSA), as Salesforce's "Use digital signatures" expects. One generator for the CLI
 * (`keys create`), the emulator's and the local stack's demo key, the tests and the benchmark, so
 * what the tests sign with is what an operator uploads. For a key held in KMS,
 * {@link issueExternallySignedCertificate} issues the certificate by having KMS sign it: the
 * private key never exists here.
 *
 * Imports nothing from lambda/ (the emulator, an independent Salesforce, relies on this), and the
 * functions never import it: they only read material, through their own import of the secret.
 */
import 'reflect-metadata';
import { createHash, randomBytes, webcrypto, X509Certificate } from 'node:crypto';
import * as x509 from '@peculiar/x509';

const ALGORITHM = {
  name: 'RSASSA-PKCS1-v1_5',
  hash: 'SHA-256',
  publicExponent: new Uint8Array([1, 0, 1]),
  modulusLength: 2048,
} as const;

const DAY_MS = 24 * 3600 * 1000;
// A minute of slack for a Salesforce clock running behind ours.
const CLOCK_SLACK_MS = 60_000;

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

export interface SigningMaterialOptions {
  /** Certificate subject CN; characters that would change the DN's meaning are dropped. */
  readonly commonName: string;
  /** Validity in days from `now`, unless `notAfter` is given. @default 365 */
  readonly days?: number;
  /** @default now - 1 minute; later than now makes a not-yet-valid certificate */
  readonly notBefore?: Date;
  /** @default now + `days`; earlier than now makes an expired certificate */
  readonly notAfter?: Date;
  /** @default Date.now() */
  readonly now?: number;
}

export interface SigningMaterial {
  /** PKCS#8 PEM: belongs in the secret only. */
  readonly privateKeyPem: string;
  /** SPKI PEM of the key pair's public half. */
  readonly publicKeyPem: string;
  readonly certificatePem: string;
  /**
   * SHA-256 of the certificate's DER, 64 lowercase hex digits without separators: the form the
   * broker's status route, `keys create` and `doctor` print (openssl prints it colon-separated).
   */
  readonly fingerprintSha256: string;
  readonly subject: string;
  /** ISO 8601. */
  readonly notBefore: string;
  /** ISO 8601: when Salesforce stops accepting assertions signed with this key. */
  readonly notAfter: string;
  /** The signing key secret's SecretString: `{"privateKey": PEM, "certificate": PEM}`. */
  readonly secretString: string;
}

function toPem(label: string, der: ArrayBuffer): string {
  const body = Buffer.from(der)
    .toString('base64')
    .replace(/.{1,64}/g, '$&\n');
  return `-----BEGIN ${label}-----\n${body}-----END ${label}-----\n`;
}

/**
 * 16 random bytes, the first in 0x10-0x7f: positive in DER with no leading zero byte, and unique
 * for certificates made in the same millisecond.
 */
function randomSerial(): string {
  const bytes = randomBytes(16);
  bytes[0] = 0x10 + ((bytes[0] ?? 0) % 0x70);
  return bytes.toString('hex');
}

/** The SecretString the broker reads a signing key from (docs/contracts.md#signing-key-secret). */
export function signingKeySecretString(material: {
  readonly privateKeyPem: string;
  readonly certificatePem: string;
}): string {
  return JSON.stringify({
    privateKey: material.privateKeyPem,
    certificate: material.certificatePem,
  });
}

/** When a PEM certificate stops being valid. @throws when `certificatePem` is not a certificate */
export function certificateNotAfter(certificatePem: string): Date {
  return new Date(new X509Certificate(certificatePem).validTo);
}

/** A fresh key pair and self-signed certificate (RSA key generation takes tens of ms). */
export async function generateSigningMaterial(
  options: SigningMaterialOptions,
): Promise<SigningMaterial> {
  const now = options.now ?? Date.now();
  const notBefore = options.notBefore ?? new Date(now - CLOCK_SLACK_MS);
  const notAfter = options.notAfter ?? new Date(now + (options.days ?? 365) * DAY_MS);
  const keys = await webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify']);
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: `CN=${options.commonName.replace(/[,+="\\<>;#]/g, '')}`,
    notBefore,
    notAfter,
    keys: keys as unknown as x509.X509CertificateCreateSelfSignedParams['keys'],
    signingAlgorithm: ALGORITHM,
  });
  const privateKeyPem = toPem(
    'PRIVATE KEY',
    await webcrypto.subtle.exportKey('pkcs8', keys.privateKey),
  );
  const certificatePem = certificate.toString('pem');
  return {
    privateKeyPem,
    publicKeyPem: toPem('PUBLIC KEY', await webcrypto.subtle.exportKey('spki', keys.publicKey)),
    certificatePem,
    fingerprintSha256: createHash('sha256').update(Buffer.from(certificate.rawData)).digest('hex'),
    subject: certificate.subject,
    // X.509 validity has whole seconds: report what the certificate says.
    notBefore: certificate.notBefore.toISOString(),
    notAfter: certificate.notAfter.toISOString(),
    secretString: signingKeySecretString({ privateKeyPem, certificatePem }),
  };
}

/** RSASSA-PKCS1-v1_5 with SHA-256 over `data`, by a key held elsewhere (KMS `Sign`). */
export type ExternalSigner = (data: Uint8Array) => Promise<Uint8Array>;

/** A certificate and what is shown about it. */
export interface IssuedCertificate {
  readonly certificatePem: string;
  readonly fingerprintSha256: string;
  readonly subject: string;
  readonly notBefore: string;
  readonly notAfter: string;
}

/**
 * A self-signed certificate for a key whose private half is held elsewhere: the TBS certificate
 * is built here and `sign` (e.g. `kms:Sign`) signs it. @peculiar/x509 signs through the crypto
 * provider it is given; this one forwards the TBS bytes to `sign` and does nothing else.
 */
export async function issueExternallySignedCertificate(
  options: SigningMaterialOptions & {
    /** The key's public half, SPKI DER (KMS `GetPublicKey`). */
    readonly publicKeySpkiDer: Uint8Array;
    readonly sign: ExternalSigner;
  },
): Promise<IssuedCertificate> {
  const now = options.now ?? Date.now();
  const name = `CN=${options.commonName.replace(/[,+="\\<>;#]/g, '')}`;
  const algorithm = { name: ALGORITHM.name, hash: { name: ALGORITHM.hash } };
  const externalCrypto = {
    getRandomValues: webcrypto.getRandomValues.bind(webcrypto),
    subtle: {
      sign: async (_algorithm: unknown, _key: unknown, data: ArrayBuffer | ArrayBufferView) =>
        (await options.sign(toBytes(data))).slice().buffer,
    },
  } as unknown as Parameters<typeof x509.X509CertificateGenerator.create>[1];
  const certificate = await x509.X509CertificateGenerator.create(
    {
      serialNumber: randomSerial(),
      subject: name,
      issuer: name,
      notBefore: options.notBefore ?? new Date(now - CLOCK_SLACK_MS),
      notAfter: options.notAfter ?? new Date(now + (options.days ?? 365) * DAY_MS),
      publicKey: options.publicKeySpkiDer,
      signingKey: { algorithm } as unknown as x509.X509CertificateCreateWithKeyParams['signingKey'],
      signingAlgorithm: algorithm,
    },
    externalCrypto,
  );
  return {
    certificatePem: certificate.toString('pem'),
    fingerprintSha256: createHash('sha256').update(Buffer.from(certificate.rawData)).digest('hex'),
    subject: certificate.subject,
    notBefore: certificate.notBefore.toISOString(),
    notAfter: certificate.notAfter.toISOString(),
  };
}

function toBytes(data: ArrayBuffer | ArrayBufferView): Uint8Array {
  return data instanceof ArrayBuffer
    ? new Uint8Array(data)
    : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}
