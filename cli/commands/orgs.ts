/**
 * `token-broker orgs put|get|list|delete`: the org registry (docs/contracts.md#org-record), validated by the same
 * core function the broker uses, so a record the CLI accepts is one the broker can use.
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { isBrokerError } from '../../lambda/core/errors';
import {
  defaultAudience,
  detectEnvironment,
  validateOrgRecord,
} from '../../lambda/core/org-record';
import type { OrgRecord } from '../../lambda/core/types';
import { checkAudience } from '../doctor-checks';
import { formatOrg, formatOrgTable } from '../format';
import { CliError, type CliIo, EXIT, usageError, writeJson } from '../io';
import { GLOBAL_HELP, parseCommand, requireOption } from '../options';
import { resolveTarget } from '../target';

export const ORGS_HELP = `Usage: token-broker orgs <put|get|list|delete> [options]

Manage the broker's org registry (one record per Salesforce org).

  orgs put --org ID [--file record.json | -] [field options] [--update] [--force]
      Create or replace a record. Field options override the file; with --update they are
      applied to the existing record. An audience that does not fit the login URL (a sandbox
      host with the production audience, or the reverse) is refused unless --force.
        --login-url URL            https://login.salesforce.com, https://test.salesforce.com,
                                   a My Domain or an Experience Cloud site URL
        --consumer-key KEY         the External Client App / Connected App consumer key
        --username NAME            the integration user (JWT sub; the run-as user for
                                   client_credentials)
        --grant GRANT              jwt_bearer (default) | client_credentials (consumer key +
                                   secret; the login URL must be the org's My Domain)
        --signing-key-secret ID    Secrets Manager secret with the signing key (keys create);
                                   required for jwt_bearer
        --audience URL             JWT aud (default from the environment of the login URL)
        --environment ENV          production | sandbox | site (default: from the login URL)
        --consumer-secret-id ID    Secrets Manager secret with the consumer secret: required
                                   for client_credentials; for jwt_bearer only if the app
                                   requires a secret for the web-server flow
        --token-ttl SECONDS        how long tokens are served from cache (default 1800)
        --caller ARN               IAM role/user ARN allowed to get tokens (repeatable)
        --force                    save even when the audience does not fit the login URL
  orgs get --org ID       Show one record.
  orgs list               List all records.
  orgs delete --org ID    Delete a record (exit 1 if there was none).

${GLOBAL_HELP}`;

const FIELD_OPTIONS = {
  'login-url': 'loginUrl',
  'consumer-key': 'consumerKey',
  username: 'username',
  grant: 'grant',
  'signing-key-secret': 'signingKeySecretId',
  audience: 'audience',
  environment: 'environment',
  'consumer-secret-id': 'consumerSecretId',
} as const;

const PUT_OPTIONS = {
  org: { type: 'string' },
  file: { type: 'string' },
  update: { type: 'boolean' },
  force: { type: 'boolean' },
  'login-url': { type: 'string' },
  'consumer-key': { type: 'string' },
  username: { type: 'string' },
  grant: { type: 'string' },
  'signing-key-secret': { type: 'string' },
  audience: { type: 'string' },
  environment: { type: 'string' },
  'consumer-secret-id': { type: 'string' },
  'token-ttl': { type: 'string' },
  caller: { type: 'string', multiple: true },
} as const;

async function readRecordFile(path: string, io: CliIo): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text =
      path === '-'
        ? await (io.readStdin?.() ?? Promise.resolve(''))
        : await readFile(resolve(io.cwd, path), 'utf8');
  } catch (error) {
    throw usageError(`Cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw usageError(`${path} is not valid JSON`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw usageError(`${path} must hold one JSON object (an org record)`);
  }
  return parsed as Record<string, unknown>;
}

function validate(input: Record<string, unknown>) {
  try {
    return validateOrgRecord(input);
  } catch (error) {
    if (isBrokerError(error)) throw usageError(error.message);
    throw error;
  }
}

async function put(args: readonly string[], io: CliIo): Promise<number> {
  const { values } = parseCommand(args, PUT_OPTIONS);
  if (values.help) return help(io);
  const orgId = requireOption(values.org, 'org');
  const target = await resolveTarget(values, io);
  try {
    const registry = target.registry();
    let input: Record<string, unknown> = {};
    if (values.update) {
      const existing = await registry.getOrg(orgId);
      if (!existing) throw new CliError(`No org ${orgId} to update; run orgs put without --update`);
      input = { ...existing };
      // A new login URL re-derives what follows from it, unless given too.
      if (values['login-url'] !== undefined) {
        if (values.environment === undefined) delete input.environment;
        if (values.audience === undefined) delete input.audience;
      }
    }
    if (values.file) input = { ...input, ...(await readRecordFile(values.file, io)) };
    for (const [option, field] of Object.entries(FIELD_OPTIONS)) {
      const value = values[option as keyof typeof FIELD_OPTIONS];
      if (value !== undefined) input[field] = value;
    }
    if (values['token-ttl'] !== undefined) {
      const ttl = values['token-ttl'];
      input.tokenTtlSeconds = /^\d+$/.test(ttl) ? Number(ttl) : ttl;
    }
    if (values.caller) input.callers = values.caller;
    if (input.orgId !== undefined && input.orgId !== orgId) {
      throw usageError(
        `--org ${orgId} does not match orgId ${JSON.stringify(input.orgId)} in the file`,
      );
    }
    input.orgId = orgId;
    const record = validate(input);
    // Only what this run sets is judged: a --update of the token TTL on a record saved with
    // --force earlier is not the moment of the mistake.
    const setsTarget =
      !values.update ||
      values.file !== undefined ||
      ['login-url', 'audience', 'environment'].some(
        (option) => values[option as keyof typeof values] !== undefined,
      );
    if (setsTarget && !values.force) refuseMismatchedAudience(record);
    await registry.putOrg(record);
    if (values.json) writeJson(io, record);
    else io.out(`Saved org ${orgId}.\n${formatOrg(record)}\n`);
    return EXIT.ok;
  } finally {
    target.close();
  }
}

/**
 * The mismatch `doctor` would fail later (a sandbox login with the production audience, the
 * reverse, or a My Domain as audience), refused while the operator is still at the keyboard.
 */
function refuseMismatchedAudience(record: OrgRecord): void {
  const verdict = checkAudience(record);
  if (verdict.verdict !== 'fail') return;
  const environment = detectEnvironment(record.loginUrl);
  const fits = defaultAudience(environment, record.loginUrl);
  throw usageError(
    `not saved: the audience ${record.audience} does not fit the ${environment} login URL ${record.loginUrl}; use --audience ${fits} (or leave --audience and --environment out to derive it), or --force to save it anyway`,
  );
}

async function get(args: readonly string[], io: CliIo): Promise<number> {
  const { values } = parseCommand(args, { org: { type: 'string' } });
  if (values.help) return help(io);
  const orgId = requireOption(values.org, 'org');
  const target = await resolveTarget(values, io);
  try {
    const record = await target.registry().getOrg(orgId);
    if (!record) throw new CliError(`No org ${orgId} is registered`);
    if (values.json) writeJson(io, record);
    else io.out(`${formatOrg(record)}\n`);
    return EXIT.ok;
  } finally {
    target.close();
  }
}

async function list(args: readonly string[], io: CliIo): Promise<number> {
  const { values } = parseCommand(args, {});
  if (values.help) return help(io);
  const target = await resolveTarget(values, io);
  try {
    const records = await target.registry().listOrgs();
    records.sort((a, b) => a.orgId.localeCompare(b.orgId));
    if (values.json) writeJson(io, records);
    else io.out(`${formatOrgTable(records)}\n`);
    return EXIT.ok;
  } finally {
    target.close();
  }
}

async function remove(args: readonly string[], io: CliIo): Promise<number> {
  const { values } = parseCommand(args, { org: { type: 'string' } });
  if (values.help) return help(io);
  const orgId = requireOption(values.org, 'org');
  const target = await resolveTarget(values, io);
  try {
    const existed = await target.registry().deleteOrg(orgId);
    if (values.json) writeJson(io, { orgId, deleted: existed });
    else io.out(existed ? `Deleted org ${orgId}.\n` : '');
    if (!existed) throw new CliError(`No org ${orgId} is registered; nothing deleted`);
    return EXIT.ok;
  } finally {
    target.close();
  }
}

function help(io: CliIo): number {
  io.out(`${ORGS_HELP}\n`);
  return EXIT.ok;
}

export async function runOrgs(args: readonly string[], io: CliIo): Promise<number> {
  const [action, ...rest] = args;
  switch (action) {
    case 'put':
      return put(rest, io);
    case 'get':
      return get(rest, io);
    case 'list':
      return list(rest, io);
    case 'delete':
      return remove(rest, io);
    case undefined:
    case '--help':
    case '-h':
    case 'help':
      return help(io);
    default:
      throw usageError(`Unknown orgs action "${action}": use put, get, list or delete`);
  }
}
