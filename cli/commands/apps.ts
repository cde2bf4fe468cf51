/**
 * `token-broker apps scaffold --org ID`: writes the org's External Client App as a deployable
 * Salesforce metadata project (eca-project.ts) and prints the `sf` commands that deploy it and
 * assign its permission set to the integration user. The certificate comes from the org's signing
 * key secret; nothing secret is written or printed (the project holds no consumer secret).
 */
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { buildRedirectUri } from '../../lambda/core/approval-links';
import { grantOf } from '../../lambda/core/org-record';
import { parseSigningKeySecret } from '../../lambda/core/signing-key-secret';
import { buildEcaProject, DEFAULT_API_VERSION } from '../eca-project';
import { loadOrg } from '../exchange';
import { CliError, type CliIo, EXIT, usageError, writeJson } from '../io';
import { GLOBAL_HELP, parseCommand, requireOption } from '../options';
import { resolveTarget, type Target } from '../target';

export const APPS_HELP = `Usage: token-broker apps scaffold --org ID [options]

Write a deployable Salesforce metadata project (source format) for the org's External Client
App: the app, its OAuth settings, JWT Bearer enabled with the certificate from the org's signing
key secret, the broker's Callback URL, policies set to admin-approved pre-authorization through a
permission set the project also defines, and (with --client-credentials) the client credentials
flow running as the org's username. Prints the sf commands that deploy it and assign the
permission set to the integration user. No approval step is needed afterwards.
Needs the broker's base URL: --public-base-url, PUBLIC_BASE_URL, or --local.

  --org ID                  the org's registry id
  --out DIR                 where to write the project (default ./eca-ORG); must be empty or new
  --client-credentials      also enable the client credentials flow (default: when the org's
                            grant is client_credentials)
  --contact-email EMAIL     the app's contact email (default: the org's username)
  --sf-target-org ALIAS     the sf CLI alias of an admin login to the org, used in the printed
                            commands (default: the org id)
  --api-version VERSION     sourceApiVersion of the project (default ${DEFAULT_API_VERSION})

${GLOBAL_HELP}`;

const OPTIONS = {
  org: { type: 'string' },
  out: { type: 'string' },
  'client-credentials': { type: 'boolean' },
  'contact-email': { type: 'string' },
  'sf-target-org': { type: 'string' },
  'api-version': { type: 'string' },
} as const;

/** The certificate PEM in the org's signing key secret, or undefined when the org has none. */
async function readCertificate(target: Target, secretId: string | undefined) {
  if (secretId === undefined) return undefined;
  const { SecretString } = await target.secrets.send(
    new GetSecretValueCommand({ SecretId: secretId }),
  );
  const parsed = parseSigningKeySecret(secretId, SecretString ?? '');
  if (!parsed.certificatePem) {
    throw new CliError(
      `Signing key secret ${secretId} holds no certificate: store {"privateKey", "certificate"} (keys create) so the app can carry it`,
    );
  }
  return parsed.certificatePem;
}

async function ensureEmpty(directory: string): Promise<void> {
  const entries = await readdir(directory).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return [];
    throw error;
  });
  if (entries.length > 0) throw usageError(`${directory} is not empty; choose another --out`);
}

async function scaffold(args: readonly string[], io: CliIo): Promise<number> {
  const { values } = parseCommand(args, OPTIONS);
  if (values.help) {
    io.out(`${APPS_HELP}\n`);
    return EXIT.ok;
  }
  const orgId = requireOption(values.org, 'org');
  const apiVersion = values['api-version'] ?? DEFAULT_API_VERSION;
  if (!/^\d{2,3}\.0$/.test(apiVersion)) throw usageError('--api-version must look like 62.0');
  const target = await resolveTarget(values, io);
  try {
    if (!target.publicBaseUrl) {
      throw usageError(
        "The broker's base URL is unknown: pass --public-base-url URL (the stack output PublicBaseUrl) or set PUBLIC_BASE_URL.",
      );
    }
    const org = await loadOrg(target, orgId);
    const directory = resolve(io.cwd, values.out ?? `eca-${orgId}`);
    await ensureEmpty(directory);
    const project = buildEcaProject({
      org,
      callbackUrl: buildRedirectUri(target.publicBaseUrl),
      certificatePem: await readCertificate(target, org.signingKeySecretId),
      clientCredentials:
        values['client-credentials'] === true || grantOf(org) === 'client_credentials',
      contactEmail: values['contact-email'] ?? org.username,
      sfTargetOrg: values['sf-target-org'] ?? orgId,
      apiVersion,
    });
    for (const [path, content] of Object.entries(project.files)) {
      const file = join(directory, path);
      await mkdir(dirname(file), { recursive: true });
      await writeFile(file, content);
    }
    const result = {
      orgId,
      directory,
      appName: project.appName,
      permissionSetName: project.permissionSetName,
      files: Object.keys(project.files),
      commands: project.commands,
    };
    if (values.json) {
      writeJson(io, result);
      return EXIT.ok;
    }
    io.out(
      `Wrote the External Client App ${project.appName} for org ${orgId} to ${directory}:\n` +
        `${result.files.map((file) => `  ${file}`).join('\n')}\n\n` +
        `Deploy it and pre-authorize the integration user (run in ${directory}):\n` +
        `${project.commands.map((command) => `  ${command}`).join('\n')}\n\n` +
        "Then copy the app's Consumer Key (Setup > External Client App Manager > the app > Settings > OAuth Settings > Consumer Key and Secret) into the org record:\n" +
        `  token-broker orgs put --org ${orgId} --update --consumer-key KEY\n` +
        'Do not commit a retrieved copy of the global OAuth settings file: a retrieve adds the consumer key and secret to it.\n',
    );
    return EXIT.ok;
  } finally {
    target.close();
  }
}

export async function runApps(args: readonly string[], io: CliIo): Promise<number> {
  const [action, ...rest] = args;
  if (action === 'scaffold') return scaffold(rest, io);
  if (action === undefined || action === '--help' || action === '-h') {
    io.out(`${APPS_HELP}\n`);
    return action === undefined ? EXIT.usage : EXIT.ok;
  }
  throw usageError(`unknown apps action "${action}" (expected scaffold)`);
}
