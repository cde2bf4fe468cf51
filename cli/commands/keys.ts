/**
 * `token-broker keys create`: a new signing key and certificate, stored in Secrets Manager in the
 * signing key secret format (docs/contracts.md#signing-key-secret). Prints the certificate to upload, its SHA-256 fingerprint and expiry, read
 * back through the same import the broker uses; the private key is never printed.
 */
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import {
  CreateSecretCommand,
  PutSecretValueCommand,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { generateSigningMaterial } from '../../keys/signing-material';
import { importSigningKey } from '../../lambda/adapters/signing-keys';
import { isValidOrgId } from '../../lambda/core/org-record';
import { isUnderSecretPrefix } from '../../lib/secret-prefix';
import { formatFields } from '../format';
import { CliError, type CliIo, EXIT, usageError, writeJson } from '../io';
import {
  GLOBAL_HELP,
  integerOption,
  parseCommand,
  requireOption,
  resolveSecretPrefix,
  SECRET_PREFIX_HELP,
  SECRET_PREFIX_OPTION,
} from '../options';
import { resolveTarget } from '../target';

export const KEYS_HELP = `Usage: token-broker keys create [--org ID | --secret NAME] [options]

Generate an RSA-2048 key and a self-signed X.509 certificate, store both in a Secrets Manager
secret as {"privateKey": PEM, "certificate": PEM}, and print the certificate to upload to the
Connected App ("Use digital signatures") with its SHA-256 fingerprint and expiry.
The private key is never printed or written anywhere but the secret.

  --org ID                  name the secret {prefix}{ID} (default name {prefix}signing-key)
  --secret NAME             the whole secret name instead; deployed functions read only
                            names under the prefix (then use it as the org's
                            --signing-key-secret)
  --common-name CN          certificate subject CN (default salesforce-token-broker)
  --days N                  validity in days (default 730, max 3650)
  --overwrite               the secret exists: store the new key as its current version
                            (upload the new certificate to the app first: the broker
                            switches to the new key within its key cache age)
  --certificate-out FILE    also write the certificate PEM to FILE
  --description TEXT        secret description
${SECRET_PREFIX_HELP}

${GLOBAL_HELP}`;

const OPTIONS = {
  org: { type: 'string' },
  secret: { type: 'string' },
  'common-name': { type: 'string' },
  days: { type: 'string' },
  overwrite: { type: 'boolean' },
  'certificate-out': { type: 'string' },
  description: { type: 'string' },
  ...SECRET_PREFIX_OPTION,
} as const;

/**
 * `--secret` as given, else a name under the prefix the deployed functions may read.
 * @throws CliError (usage) for both options at once or an invalid org id
 */
function secretNameFor(values: { org?: string; secret?: string }, prefix: string): string {
  if (values.secret !== undefined && values.org !== undefined) {
    throw usageError('Pass --org ID or --secret NAME, not both');
  }
  if (values.secret !== undefined) return requireOption(values.secret, 'secret');
  if (values.org === undefined) return `${prefix}signing-key`;
  const orgId = values.org.trim();
  if (!isValidOrgId(orgId)) {
    throw usageError(`--org ${JSON.stringify(orgId)} is not a valid org id (lowercase slug)`);
  }
  return `${prefix}${orgId}`;
}

async function storeSecret(
  client: SecretsManagerClient,
  input: { name: string; secretString: string; description: string; overwrite: boolean },
): Promise<{ arn: string | undefined; versionId: string | undefined; created: boolean }> {
  try {
    const output = await client.send(
      new CreateSecretCommand({
        Name: input.name,
        SecretString: input.secretString,
        Description: input.description,
      }),
    );
    return { arn: output.ARN, versionId: output.VersionId, created: true };
  } catch (error) {
    if ((error as { name?: string }).name !== 'ResourceExistsException') throw error;
    if (!input.overwrite) {
      throw new CliError(
        `Secret ${input.name} already exists. Pass --overwrite to store a new key as its current version (rotation), or choose another --secret.`,
      );
    }
    const output = await client.send(
      new PutSecretValueCommand({ SecretId: input.name, SecretString: input.secretString }),
    );
    return { arn: output.ARN, versionId: output.VersionId, created: false };
  }
}

async function create(args: readonly string[], io: CliIo): Promise<number> {
  const { values } = parseCommand(args, OPTIONS);
  if (values.help) return help(io);
  const prefix = resolveSecretPrefix(values['secret-prefix'], io.env);
  const name = secretNameFor(values, prefix);
  if (!isUnderSecretPrefix(name, prefix)) {
    io.err(
      `warning: secret ${name} is outside ${prefix}: the deployed functions may read only secrets under it (--secret-prefix names the stack's prefix)\n`,
    );
  }
  const days = integerOption(values.days, 'days', { min: 1, max: 3650, default: 730 });
  const material = await generateSigningMaterial({
    commonName: values['common-name'] ?? 'salesforce-token-broker',
    days,
  });
  const { secretString } = material;
  // Described by the broker's own import, so what is printed is what the broker will report.
  const { certificate } = await importSigningKey(name, undefined, secretString);
  if (!certificate) throw new CliError('The generated certificate could not be read back');
  const target = await resolveTarget(values, io);
  try {
    const stored = await storeSecret(target.secrets, {
      name,
      secretString,
      description: values.description ?? 'Salesforce JWT signing key (salesforce-token-broker)',
      overwrite: values.overwrite === true,
    });
    if (values['certificate-out']) {
      await writeFile(resolve(io.cwd, values['certificate-out']), material.certificatePem);
    }
    const result = {
      secretId: name,
      arn: stored.arn,
      versionId: stored.versionId,
      created: stored.created,
      certificatePem: material.certificatePem,
      fingerprintSha256: certificate.fingerprintSha256,
      notAfter: certificate.notAfter,
      subject: certificate.subject,
    };
    if (values.json) {
      writeJson(io, result);
      return EXIT.ok;
    }
    io.out(
      `${stored.created ? 'Created' : 'Stored a new version of'} secret ${name}${stored.arn ? ` (${stored.arn})` : ''}.\n\n` +
        'Upload this certificate to the Connected App (Use digital signatures):\n\n' +
        `${material.certificatePem}\n` +
        `${formatFields([
          ['SHA-256 fingerprint', certificate.fingerprintSha256],
          ['Expires', certificate.notAfter],
          ['Subject', certificate.subject],
        ])}\n\n` +
        `Then register the org with --signing-key-secret ${name}.\n`,
    );
    return EXIT.ok;
  } finally {
    target.close();
  }
}

function help(io: CliIo): number {
  io.out(`${KEYS_HELP}\n`);
  return EXIT.ok;
}

export async function runKeys(args: readonly string[], io: CliIo): Promise<number> {
  const [action, ...rest] = args;
  if (action === 'create') return create(rest, io);
  if (action === undefined || action === '--help' || action === '-h' || action === 'help') {
    return help(io);
  }
  throw usageError(`Unknown keys action "${action}": use create`);
}
