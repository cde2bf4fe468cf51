/**
 * `token-broker doctor --org ID`: the preflight checks (doctor-checks.ts) over the org record, its
 * signing key secret and the broker's base URL, then a live exchange; one verdict per line.
 */
import { DescribeSecretCommand, GetResourcePolicyCommand } from '@aws-sdk/client-secrets-manager';
import { createSecretsManagerConsumerSecrets } from '../../lambda/adapters/consumer-secrets';
import { createSecretsManagerSigningKeys } from '../../lambda/adapters/signing-keys';
import { isBrokerError } from '../../lambda/core/errors';
import { grantOf, signingKeySecretIdOf } from '../../lambda/core/org-record';
import type { SigningKey } from '../../lambda/core/ports';
import { countLoginsLastHour } from '../../lambda/core/shared-token';
import { DEFAULT_CONSUMER_SECRET_PREFIX } from '../../lib/secret-prefix';
import {
  type CheckResult,
  checkAudience,
  checkCertificateExpiry,
  checkCertificateMatchesKey,
  checkConsumerKey,
  checkGrantHost,
  checkIdentityHost,
  checkLoginBudget,
  checkRedirectUri,
  checkSecretCustody,
  checkSecretPrefix,
} from '../doctor-checks';
import { loadOrg, runExchange } from '../exchange';
import { exchangeFailureJson, formatRemediation } from '../format';
import { type CliIo, EXIT, writeJson } from '../io';
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

/** Reads the consumer secret to prove it is there; the value is dropped at once, never shown. */
async function checkConsumerSecret(
  target: Target,
  secretId: string | undefined,
  checks: CheckResult[],
): Promise<boolean> {
  const check = 'signing-key';
  if (secretId === undefined) {
    checks.push({
      check,
      verdict: 'fail',
      detail: 'grant client_credentials needs consumerSecretId',
    });
    return false;
  }
  try {
    await createSecretsManagerConsumerSecrets({ client: target.secrets }).getConsumerSecret(
      secretId,
    );
  } catch (error) {
    if (!isBrokerError(error)) throw error;
    checks.push({ check, verdict: 'fail', detail: error.message });
    return false;
  }
  checks.push({
    check,
    verdict: 'skip',
    detail: `grant client_credentials signs nothing; consumer secret ${secretId} is readable`,
  });
  return true;
}

export const DOCTOR_HELP = `Usage: token-broker doctor --org ID [options]

Preflight checks for one org, one verdict per line (PASS, WARN, FAIL, SKIP):
  audience            login URL vs JWT audience (sandbox vs production; a My Domain as aud is wrong)
  grant-host          client_credentials goes to the org's My Domain, never login/test
  secret-prefix       the org's secrets are under the prefix the deployed functions may read
  signing-key         the Secrets Manager secret is readable and holds an RSA key >= 2048 bits
                      (client_credentials: the consumer secret is readable instead)
  certificate-key     the certificate in the secret matches its private key
  certificate-expiry  expired fails, less than 30 days left warns
  consumer-key        the consumer key has Salesforce's shape (not the consumer secret)
  redirect-uri        the Callback URL to register, byte for byte (no trailing slash)
  exchange            a live exchange with the org's grant (counts as one Salesforce login)
  identity-host       the configured login host vs the host of Salesforce's identity URL
                      (a renamed My Domain or a refreshed sandbox)
Setup screens: External Client App Manager (External Client Apps), Manage Connected Apps
(legacy Connected Apps); the remediation names both.
Exit code 1 when any check fails.

  --org ID                      the org's registry id
  --registered-callback URL     the Callback URL registered on the app, to compare exactly
  --skip-exchange               no live exchange
  --timeout SECONDS             budget for the live exchange (default 20)
${SECRET_PREFIX_HELP}

${GLOBAL_HELP}`;

const LABEL: Record<CheckResult['verdict'], string> = {
  pass: 'PASS',
  warn: 'WARN',
  fail: 'FAIL',
  skip: 'SKIP',
};

/** Reads the secret's KMS key and resource policy; a failure to read them is a skip, not a verdict. */
async function inspectCustody(target: Target, secretId: string): Promise<CheckResult> {
  try {
    const [described, policy] = await Promise.all([
      target.secrets.send(new DescribeSecretCommand({ SecretId: secretId })),
      target.secrets.send(new GetResourcePolicyCommand({ SecretId: secretId })),
    ]);
    return checkSecretCustody(secretId, {
      kmsKeyId: described.KmsKeyId,
      resourcePolicy: policy.ResourcePolicy,
    });
  } catch (error) {
    return {
      check: 'secret-custody',
      verdict: 'skip',
      detail: `could not describe ${secretId} (${(error as Error).name})`,
    };
  }
}

export async function runDoctor(args: readonly string[], io: CliIo): Promise<number> {
  const { values } = parseCommand(args, {
    org: { type: 'string' },
    'registered-callback': { type: 'string' },
    'skip-exchange': { type: 'boolean' },
    timeout: { type: 'string' },
    ...SECRET_PREFIX_OPTION,
  });
  if (values.help) {
    io.out(`${DOCTOR_HELP}\n`);
    return EXIT.ok;
  }
  const orgId = requireOption(values.org, 'org');
  const timeoutSeconds = integerOption(values.timeout, 'timeout', {
    min: 1,
    max: 120,
    default: 20,
  });
  const secretPrefix = resolveSecretPrefix(values['secret-prefix'], io.env);
  const target = await resolveTarget(values, io);
  try {
    const org = await loadOrg(target, orgId);
    const grant = grantOf(org);
    const checks: CheckResult[] = [
      checkAudience(org),
      checkGrantHost(org),
      checkSecretPrefix(
        org,
        secretPrefix,
        io.env.TOKEN_BROKER_CONSUMER_SECRET_PREFIX ?? DEFAULT_CONSUMER_SECRET_PREFIX,
      ),
    ];

    let key: SigningKey | undefined;
    let credentialsReady = false;
    if (grant === 'client_credentials') {
      credentialsReady = await checkConsumerSecret(target, org.consumerSecretId, checks);
    } else {
      try {
        key = await createSecretsManagerSigningKeys({
          client: target.secrets,
          kms: target.kms(),
        }).getSigningKey(signingKeySecretIdOf(org));
        credentialsReady = true;
        checks.push({
          check: 'signing-key',
          verdict: 'pass',
          detail: `secret ${org.signingKeySecretId} holds a usable RSA key`,
        });
      } catch (error) {
        if (!isBrokerError(error)) throw error;
        checks.push({ check: 'signing-key', verdict: 'fail', detail: error.message });
      }
    }
    if (grant === 'client_credentials') {
      for (const check of ['certificate-key', 'certificate-expiry']) {
        checks.push({
          check,
          verdict: 'skip',
          detail: 'grant client_credentials uses no certificate',
        });
      }
    } else if (key) {
      checks.push(await inspectCustody(target, signingKeySecretIdOf(org)));
      checks.push(checkCertificateMatchesKey(key.certificate));
      checks.push(checkCertificateExpiry(key.certificate, Date.now()));
    } else {
      for (const check of ['certificate-key', 'certificate-expiry']) {
        checks.push({ check, verdict: 'skip', detail: 'the signing key could not be read' });
      }
    }
    checks.push(checkConsumerKey(org.consumerKey));
    checks.push(checkRedirectUri(target.publicBaseUrl, values['registered-callback']));

    let failure: ReturnType<typeof exchangeFailureJson> | undefined;
    let remediationText: string | undefined;
    if (values['skip-exchange']) {
      checks.push({ check: 'exchange', verdict: 'skip', detail: '--skip-exchange' });
    } else if (!credentialsReady) {
      checks.push({
        check: 'exchange',
        verdict: 'skip',
        detail:
          grant === 'client_credentials' ? 'no readable consumer secret' : 'no usable signing key',
      });
    } else {
      const result = await runExchange(target, org, timeoutSeconds * 1000);
      if (result.ok) {
        checks.push({
          check: 'exchange',
          verdict: 'pass',
          detail:
            grant === 'client_credentials'
              ? `client credentials exchange succeeded (instance ${result.instanceUrl})`
              : `JWT exchange as ${org.username} succeeded (instance ${result.instanceUrl})`,
        });
        checks.push(checkIdentityHost(org, result.identityUrl));
      } else {
        failure = exchangeFailureJson(orgId, result.error);
        remediationText = result.error.remediation
          ? formatRemediation(result.error.remediation)
          : undefined;
        checks.push({
          check: 'exchange',
          verdict: 'fail',
          detail: `${result.error.category}: ${result.error.message}`,
        });
      }
    }

    // After the exchange above, so the count includes the login doctor itself just made.
    const shared = await target
      .sharedTokens()
      .read(orgId, { consistent: true })
      .catch(() => undefined);
    checks.push(checkLoginBudget(shared ? countLoginsLastHour(shared.logins, Date.now()) : 0));

    const failed = checks.filter((check) => check.verdict === 'fail').length;
    const warned = checks.filter((check) => check.verdict === 'warn').length;
    if (values.json) {
      writeJson(io, { orgId, ok: failed === 0, checks, ...(failure ? { exchange: failure } : {}) });
    } else {
      const width = Math.max(...checks.map((check) => check.check.length));
      const lines = checks.map(
        (check) => `${LABEL[check.verdict]}  ${check.check.padEnd(width)}  ${check.detail}`,
      );
      io.out(
        `Doctor for org ${orgId} (${org.loginUrl})\n${lines.join('\n')}\n` +
          (remediationText ? `\n${remediationText}\n` : '') +
          `\n${failed === 0 ? 'OK' : 'FAILED'}: ${failed} failed, ${warned} warning${warned === 1 ? '' : 's'}\n`,
      );
    }
    return failed === 0 ? EXIT.ok : EXIT.failed;
  } finally {
    target.close();
  }
}
