/**
 * A signing key held in AWS KMS (`token-broker keys create --kms`): an asymmetric RSA_2048
 * SIGN_VERIFY key under the broker's alias prefix, and its self-signed certificate issued by KMS
 * signing the TBS certificate, so the private key never exists outside KMS. The signing key
 * secret then holds only `{"kmsKeyId": alias, "certificate": PEM}`.
 */
import { createPublicKey, X509Certificate } from 'node:crypto';
import {
  CreateAliasCommand,
  CreateKeyCommand,
  GetPublicKeyCommand,
  type KMSClient,
  SignCommand,
} from '@aws-sdk/client-kms';
import { SIGNING_KEY_ALIAS_PREFIX } from '../lib/secret-prefix';
import { type IssuedCertificate, issueExternallySignedCertificate } from './signing-material';

export interface KmsSigningKey extends IssuedCertificate {
  readonly keyId: string;
  readonly keyArn: string;
  readonly alias: string;
  /** The signing key secret's SecretString: the reference and the certificate, no key. */
  readonly secretString: string;
}

/**
 * Creates the key, its alias and its certificate.
 * @param options.aliasName the part after the prefix, e.g. `acme` or `acme-20261202t120000z`
 */
export async function createKmsSigningKey(
  kms: Pick<KMSClient, 'send'>,
  options: {
    readonly aliasName: string;
    readonly commonName: string;
    readonly days: number;
    readonly description: string;
  },
): Promise<KmsSigningKey> {
  const created = await kms.send(
    new CreateKeyCommand({
      KeySpec: 'RSA_2048',
      KeyUsage: 'SIGN_VERIFY',
      Description: options.description,
      Tags: [{ TagKey: 'salesforce-token-broker', TagValue: 'signing-key' }],
    }),
  );
  const keyId = created.KeyMetadata?.KeyId;
  const keyArn = created.KeyMetadata?.Arn;
  if (!keyId || !keyArn) throw new Error('KMS CreateKey returned no key id');
  const alias = `${SIGNING_KEY_ALIAS_PREFIX}${options.aliasName}`;
  await kms.send(new CreateAliasCommand({ AliasName: alias, TargetKeyId: keyId }));
  const { PublicKey } = await kms.send(new GetPublicKeyCommand({ KeyId: keyId }));
  if (!PublicKey) throw new Error('KMS GetPublicKey returned no key');
  const issued = await issueExternallySignedCertificate({
    commonName: options.commonName,
    days: options.days,
    publicKeySpkiDer: PublicKey,
    sign: async (data) => {
      const { Signature } = await kms.send(
        new SignCommand({
          KeyId: keyId,
          Message: data,
          MessageType: 'RAW',
          SigningAlgorithm: 'RSASSA_PKCS1_V1_5_SHA_256',
        }),
      );
      if (!Signature) throw new Error('KMS Sign returned no signature');
      return Signature;
    },
  });
  // The certificate must carry the KMS key's public half and verify with it: checked, not assumed.
  const certificate = new X509Certificate(issued.certificatePem);
  const publicKey = createPublicKey({ key: Buffer.from(PublicKey), format: 'der', type: 'spki' });
  if (!certificate.publicKey.equals(publicKey) || !certificate.verify(publicKey)) {
    throw new Error('The certificate KMS signed does not verify with the KMS key');
  }
  return {
    ...issued,
    keyId,
    keyArn,
    alias,
    secretString: JSON.stringify({ kmsKeyId: alias, certificate: issued.certificatePem }),
  };
}
