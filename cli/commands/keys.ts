/**
 * `token-broker keys create` and `keys rotate`: a new signing key and certificate (the key in the
 * secret, or held in KMS with `--kms`), stored in Secrets Manager in the signing key secret format
 * (docs/contracts.md#signing-key-secret), optionally under the stack's KMS key and with a resource
 * policy that lets only the token role (and a break-glass role) read it. Prints the certificate to
 * upload, its SHA-256 fingerprint and expiry; the private key is never printed. `keys rotate`
 * stages the new key on the org for the token function to promote; `--finish` retires the old one.
 */
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { DescribeKeyCommand, ScheduleKeyDeletionCommand } from '@aws-sdk/client-kms';
import {
  CreateSecretCommand,
  DeleteSecretCommand,
  GetSecretValueCommand,
  PutResourcePolicyCommand,
  PutSecretValueCommand,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { createKmsSigningKey } from '../../keys/kms-signing-key';
import { generateSigningMaterial } from '../../keys/signing-material';
import { importSigningKey } from '../../lambda/adapters/signing-keys';
import { isValidOrgId, signingKeySecretIdOf } from '../../lambda/core/org-record';
import { parseSigningKeySecret } from '../../lambda/core/signing-key-secret';
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
import { resolveTarget, type Target } from '../target';

const CUSTODY_HELP = `  --kms                     hold the private key in AWS KMS (RSA_2048 SIGN_VERIFY, alias
                            alias/salesforce-token-broker/{name}); the certificate is
                            issued by KMS signing it and the secret holds only
                            {"kmsKeyId", "certificate"}
  --kms-endpoint URL        KMS endpoint override (with --local: the local stack's)
  --secrets-kms-key KEY     encrypt the secret with this KMS key (stack output
                            SecretsKeyArn; env TOKEN_BROKER_SECRETS_KEY)
  --reader-role ARN         put a resource policy on the new secret that denies reads to
                            every principal but this role (stack output TokenRoleArn;
                            env TOKEN_BROKER_READER_ROLE) and --break-glass-role
  --break-glass-role ARN    the emergency reader the resource policy also allows (stack
                            output BreakGlassRoleArn; env TOKEN_BROKER_BREAK_GLASS_ROLE)
  --common-name CN          certificate subject CN (default salesforce-token-broker)
  --days N                  validity in days (default 730, max 3650)
  --certificate-out FILE    also write the certificate PEM to FILE
  --description TEXT        secret description`;

export const KEYS_HELP = `Usage: token-broker keys create [--org ID | --secret NAME] [options]
       token-broker keys rotate --org ID [--finish] [options]

create: generate an RSA-2048 key and a self-signed X.509 certificate, store them in a Secrets
Manager secret as {"privateKey": PEM, "certificate": PEM} (or hold the key in KMS with --kms),
and print the certificate to upload to the Connected App ("Use digital signatures") with its
SHA-256 fingerprint and expiry. The private key is never printed or written anywhere but the
secret (or KMS).

rotate: create the next key the same way under {prefix}{ID}-{timestamp}, stage it on the org,
and print its certificate. Upload it to the app when you like: the app holds one certificate,
and when Salesforce starts refusing the current key the token function tries the staged key,
promotes it for every instance and publishes token_broker.key.rotated. No exchange fails.
rotate --finish: after the promotion, make the new key the registered one and retire the old
(secret deleted with a 7-day recovery window, or KMS key deletion scheduled in 7 days).

  --org ID                  the org; create names the secret {prefix}{ID} (default name
                            {prefix}signing-key)
  --secret NAME             create: the whole secret name instead; deployed functions read
                            only names under the prefix (then use it as the org's
                            --signing-key-secret)
  --overwrite               create: the secret exists; store the new key as its current
                            version (prefer keys rotate: with one certificate per app,
                            exchanges fail until the upload)
  --finish                  rotate: fold a promoted rotation in and retire the old key
${CUSTODY_HELP}
${SECRET_PREFIX_HELP}

${GLOBAL_HELP}`;

const OPTIONS = {
  org: { type: 'string' },
  secret: { type: 'string' },
  'common-name': { type: 'string' },
  days: { type: 'string' },
  overwrite: { type: 'boolean' },
  finish: { type: 'boolean' },
  kms: { type: 'boolean' },
  'kms-endpoint': { type: 'string' },
  'secrets-kms-key': { type: 'string' },
  'reader-role': { type: 'string' },
  'break-glass-role': { type: 'string' },
  'certificate-out': { type: 'string' },
  description: { type: 'string' },
  ...SECRET_PREFIX_OPTION,
} as const;

type KeysValues = ReturnType<typeof parseCommand<typeof OPTIONS>>['values'];

/** Key custody options from flags or the environment (what the stack outputs print). */
function custodyOf(values: KeysValues, env: Readonly<Record<string, string | undefined>>) {
  const kmsKeyId = values['secrets-kms-key'] ?? env.TOKEN_BROKER_SECRETS_KEY;
  const reader = values['reader-role'] ?? env.TOKEN_BROKER_READER_ROLE;
  const breakGlass = values['break-glass-role'] ?? env.TOKEN_BROKER_BREAK_GLASS_ROLE;
  if (breakGlass && !reader) {
    throw usageError('--break-glass-role needs --reader-role (the token role it sits beside)');
  }
  return { kmsKeyId, readers: reader ? [reader, ...(breakGlass ? [breakGlass] : [])] : [] };
}

/**
 * Deny GetSecretValue to every principal but `readers`: an explicit deny beats any identity
 * policy, so an administrator's `secretsmanager:*` no longer reads the key.
 */
export function buildReaderPolicy(readers: readonly string[]): string {
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'OnlyTheTokenRoleReads',
        Effect: 'Deny',
        Principal: '*',
        Action: 'secretsmanager:GetSecretValue',
        Resource: '*',
        Condition: { StringNotEquals: { 'aws:PrincipalArn': [...readers] } },
      },
    ],
  });
}

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
  input: {
    name: string;
    secretString: string;
    description: string;
    overwrite: boolean;
    kmsKeyId: string | undefined;
  },
): Promise<{ arn: string | undefined; versionId: string | undefined; created: boolean }> {
  try {
    const output = await client.send(
      new CreateSecretCommand({
        Name: input.name,
        SecretString: input.secretString,
        Description: input.description,
        ...(input.kmsKeyId ? { KmsKeyId: input.kmsKeyId } : {}),
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

interface NewKey {
  readonly secretString: string;
  readonly certificatePem: string;
  readonly fingerprintSha256: string;
  readonly notAfter: string;
  readonly subject: string;
  readonly kmsKeyId: string | undefined;
}

/** The key and certificate: generated here, or created in KMS (then only its alias is kept). */
async function generateKey(
  values: KeysValues,
  target: Target,
  secretName: string,
  prefix: string,
): Promise<NewKey> {
  const days = integerOption(values.days, 'days', { min: 1, max: 3650, default: 730 });
  const commonName = values['common-name'] ?? 'salesforce-token-broker';
  if (values.kms) {
    const key = await createKmsSigningKey(target.kmsAdmin(values['kms-endpoint']), {
      aliasName: secretName.startsWith(prefix) ? secretName.slice(prefix.length) : secretName,
      commonName,
      days,
      description: `Salesforce JWT signing key for ${secretName} (salesforce-token-broker)`,
    });
    return { ...key, kmsKeyId: key.alias };
  }
  const material = await generateSigningMaterial({ commonName, days });
  // Described by the broker's own import, so what is printed is what the broker will report.
  const { certificate } = await importSigningKey(secretName, undefined, material.secretString);
  if (!certificate) throw new CliError('The generated certificate could not be read back');
  return {
    secretString: material.secretString,
    certificatePem: material.certificatePem,
    fingerprintSha256: certificate.fingerprintSha256,
    notAfter: certificate.notAfter,
    subject: certificate.subject,
    kmsKeyId: undefined,
  };
}

/** Generates, stores (CMK, resource policy) and describes a key. */
async function storeNewKey(
  values: KeysValues,
  io: CliIo,
  target: Target,
  name: string,
  prefix: string,
) {
  const custody = custodyOf(values, io.env);
  const key = await generateKey(values, target, name, prefix);
  const stored = await storeSecret(target.secrets, {
    name,
    secretString: key.secretString,
    description: values.description ?? 'Salesforce JWT signing key (salesforce-token-broker)',
    overwrite: values.overwrite === true,
    kmsKeyId: custody.kmsKeyId,
  });
  if (custody.readers.length > 0) {
    await target.secrets.send(
      new PutResourcePolicyCommand({
        SecretId: name,
        ResourcePolicy: buildReaderPolicy(custody.readers),
      }),
    );
  }
  if (values['certificate-out']) {
    await writeFile(resolve(io.cwd, values['certificate-out']), key.certificatePem);
  }
  return {
    secretId: name,
    arn: stored.arn,
    versionId: stored.versionId,
    created: stored.created,
    kind: key.kmsKeyId ? ('kms' as const) : ('secret' as const),
    ...(key.kmsKeyId ? { kmsKeyId: key.kmsKeyId } : {}),
    encryptedWith: custody.kmsKeyId ?? 'aws/secretsmanager',
    readers: custody.readers,
    certificatePem: key.certificatePem,
    fingerprintSha256: key.fingerprintSha256,
    notAfter: key.notAfter,
    subject: key.subject,
  };
}

function describeStored(result: Awaited<ReturnType<typeof storeNewKey>>): string {
  return (
    `${result.created ? 'Created' : 'Stored a new version of'} secret ${result.secretId}${result.arn ? ` (${result.arn})` : ''}.\n\n` +
    'Upload this certificate to the Connected App (Use digital signatures):\n\n' +
    `${result.certificatePem}\n` +
    `${formatFields([
      ['SHA-256 fingerprint', result.fingerprintSha256],
      ['Expires', result.notAfter],
      ['Subject', result.subject],
      ['Private key', result.kmsKeyId ? `in KMS (${result.kmsKeyId})` : 'in the secret'],
      ['Encrypted with', result.encryptedWith],
      [
        'Readable by',
        result.readers.length > 0 ? result.readers.join(', ') : 'any principal IAM allows',
      ],
    ])}\n`
  );
}

async function create(args: readonly string[], io: CliIo): Promise<number> {
  const { values } = parseCommand(args, OPTIONS);
  if (values.help) return help(io);
  if (values.finish) throw usageError('--finish belongs to keys rotate');
  const prefix = resolveSecretPrefix(values['secret-prefix'], io.env);
  const name = secretNameFor(values, prefix);
  if (!isUnderSecretPrefix(name, prefix)) {
    io.err(
      `warning: secret ${name} is outside ${prefix}: the deployed functions may read only secrets under it (--secret-prefix names the stack's prefix)\n`,
    );
  }
  const target = await resolveTarget(values, io);
  try {
    const result = await storeNewKey(values, io, target, name, prefix);
    if (values.json) {
      writeJson(io, result);
      return EXIT.ok;
    }
    io.out(`${describeStored(result)}\nThen register the org with --signing-key-secret ${name}.\n`);
    return EXIT.ok;
  } finally {
    target.close();
  }
}

/** `20261202t120000z`: sorts by time and is valid in secret names and KMS aliases. */
function stampOf(now: Date): string {
  return now.toISOString().replace(/[-:]/g, '').replace(/\.\d+/, '').toLowerCase();
}

async function rotate(args: readonly string[], io: CliIo): Promise<number> {
  const { values } = parseCommand(args, OPTIONS);
  if (values.help) return help(io);
  if (values.secret !== undefined || values.overwrite) {
    throw usageError('keys rotate names the new secret itself: drop --secret and --overwrite');
  }
  const orgId = requireOption(values.org, 'org');
  const prefix = resolveSecretPrefix(values['secret-prefix'], io.env);
  const target = await resolveTarget(values, io);
  try {
    const registry = target.registry();
    const org = await registry.getOrg(orgId);
    if (!org) throw new CliError(`No org ${orgId} is registered`);
    if (values.finish) return await finish(values, io, target, org);
    const name = `${prefix}${orgId}-${stampOf(new Date())}`;
    const result = await storeNewKey(values, io, target, name, prefix);
    await registry.stageKey(orgId, name, new Date().toISOString());
    if (values.json) {
      writeJson(io, { ...result, orgId, staged: true });
      return EXIT.ok;
    }
    io.out(
      `${describeStored(result)}\nStaged for ${orgId}. Upload the certificate above to the app (it replaces the current one); the broker switches to the staged key on the first exchange Salesforce refuses with the old one, and publishes token_broker.key.rotated. Then run: token-broker keys rotate --org ${orgId} --finish\n`,
    );
    return EXIT.ok;
  } finally {
    target.close();
  }
}

/** Makes the promoted key the registered one and retires the key it replaced. */
async function finish(
  values: KeysValues,
  io: CliIo,
  target: Target,
  org: NonNullable<Awaited<ReturnType<ReturnType<Target['registry']>['getOrg']>>>,
): Promise<number> {
  const registry = target.registry();
  const rotation = await registry.getKeyRotation(org.orgId);
  const current = rotation?.currentSecretId;
  if (!current) {
    throw new CliError(
      rotation?.stagedSecretId
        ? `The staged key ${rotation.stagedSecretId} is not promoted yet: upload its certificate to the app, request a token, then finish.`
        : `No rotation in progress for ${org.orgId}: start one with token-broker keys rotate --org ${org.orgId}`,
    );
  }
  const previous = rotation.previousSecretId ?? signingKeySecretIdOf(org);
  await registry.putOrg({ ...org, signingKeySecretId: current });
  await registry.clearKeyRotation(org.orgId);
  const retired = await retireKey(values, target, previous);
  const result = { orgId: org.orgId, signingKeySecretId: current, retired };
  if (values.json) writeJson(io, result);
  else {
    io.out(
      `${org.orgId} now signs with ${current} (registered). Retired ${previous}: ${retired.join('; ')}.\n`,
    );
  }
  return EXIT.ok;
}

/** Schedules the old key's deletion: its KMS key (if any), then the secret, both recoverable. */
async function retireKey(values: KeysValues, target: Target, secretId: string): Promise<string[]> {
  const done: string[] = [];
  const { SecretString } = await target.secrets.send(
    new GetSecretValueCommand({ SecretId: secretId }),
  );
  const secret = parseSigningKeySecret(secretId, SecretString ?? '');
  if (secret.kind === 'kms') {
    const kms = target.kmsAdmin(values['kms-endpoint']);
    const { KeyMetadata } = await kms.send(new DescribeKeyCommand({ KeyId: secret.kmsKeyId }));
    await kms.send(
      new ScheduleKeyDeletionCommand({ KeyId: KeyMetadata?.KeyId, PendingWindowInDays: 7 }),
    );
    done.push(`KMS key ${KeyMetadata?.KeyId} deletion scheduled in 7 days`);
  }
  await target.secrets.send(
    new DeleteSecretCommand({ SecretId: secretId, RecoveryWindowInDays: 7 }),
  );
  done.push('secret deleted with a 7-day recovery window');
  return done;
}

function help(io: CliIo): number {
  io.out(`${KEYS_HELP}\n`);
  return EXIT.ok;
}

export async function runKeys(args: readonly string[], io: CliIo): Promise<number> {
  const [action, ...rest] = args;
  if (action === 'create') return create(rest, io);
  if (action === 'rotate') return rotate(rest, io);
  if (action === undefined || action === '--help' || action === '-h' || action === 'help') {
    return help(io);
  }
  throw usageError(`Unknown keys action "${action}": use create or rotate`);
}
