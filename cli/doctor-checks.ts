/**
 * The preflight checks of `token-broker doctor`, as pure decisions over an org record, what the
 * signing key secret's certificate says, and the broker's base URL. Each yields one verdict line.
 */
import { buildRedirectUri } from '../lambda/core/approval-links';
import {
  defaultAudience,
  detectEnvironment,
  grantOf,
  isLoopbackHost,
  isSharedLoginHost,
  salesforceHostOf,
} from '../lambda/core/org-record';
import type { CertificateInfo } from '../lambda/core/ports';
import { SALESFORCE_LOGINS_PER_HOUR } from '../lambda/core/shared-token';
import type { OrgRecord } from '../lambda/core/types';
import { DEFAULT_CONSUMER_SECRET_PREFIX, isUnderSecretPrefix } from '../lib/secret-prefix';

export type Verdict = 'pass' | 'warn' | 'fail' | 'skip';

export interface CheckResult {
  /** Stable id, e.g. `audience`. */
  readonly check: string;
  readonly verdict: Verdict;
  readonly detail: string;
}

/** Certificates expiring sooner than this are flagged. @default 30 */
export const CERTIFICATE_WARN_DAYS = 30;

const DAY_MS = 24 * 3600 * 1000;
const MY_DOMAIN = /\.my\.salesforce\.com$/;

/**
 * Login URL vs JWT audience: production logins (login.salesforce.com or a production My Domain)
 * need `https://login.salesforce.com`, sandboxes `https://test.salesforce.com`, sites their own
 * URL; a My Domain is never a valid audience.
 */
export function checkAudience(org: OrgRecord): CheckResult {
  const check = 'audience';
  const host = salesforceHostOf(org.loginUrl);
  const detected = detectEnvironment(org.loginUrl);
  const expected = defaultAudience(detected, org.loginUrl);
  let audienceHost: string;
  try {
    audienceHost = new URL(org.audience).hostname;
  } catch {
    return { check, verdict: 'fail', detail: `audience ${org.audience} is not a URL` };
  }
  if (MY_DOMAIN.test(audienceHost)) {
    return {
      check,
      verdict: 'fail',
      detail: `audience ${org.audience} is a My Domain, which Salesforce rejects as aud ("audience is invalid"); use ${detected === 'sandbox' ? 'https://test.salesforce.com' : 'https://login.salesforce.com'} (orgs put --update --audience ...)`,
    };
  }
  if (org.audience === expected) {
    return {
      check,
      verdict: 'pass',
      detail: `login host ${host} is ${detected}; audience ${org.audience} fits`,
    };
  }
  if (detected === 'site') {
    return {
      check,
      verdict: 'warn',
      detail: `login URL ${org.loginUrl} looks like an Experience Cloud site, whose audience is usually the site URL ${expected}; the record says ${org.audience}`,
    };
  }
  return {
    check,
    verdict: 'fail',
    detail: `login host ${host} is a ${detected} host but the audience is ${org.audience}; a ${detected} org needs ${expected} (a sandbox user sent to production, or the reverse, fails)`,
  };
}

/** The certificate in the secret carries the public half of the private key. */
export function checkCertificateMatchesKey(certificate: CertificateInfo | undefined): CheckResult {
  const check = 'certificate-key';
  if (!certificate) {
    return {
      check,
      verdict: 'warn',
      detail:
        'the secret holds a bare private key without its certificate: the broker cannot show which certificate the app must hold (store {"privateKey", "certificate"})',
    };
  }
  return certificate.matchesPrivateKey
    ? {
        check,
        verdict: 'pass',
        detail: `certificate ${certificate.fingerprintSha256} matches the private key`,
      }
    : {
        check,
        verdict: 'fail',
        detail: `certificate ${certificate.fingerprintSha256} does NOT match the private key: Salesforce will answer "invalid assertion"; store the key and certificate generated together (keys create)`,
      };
}

/** Expired fails; expiring within {@link CERTIFICATE_WARN_DAYS} warns. */
export function checkCertificateExpiry(
  certificate: CertificateInfo | undefined,
  now: number,
): CheckResult {
  const check = 'certificate-expiry';
  if (!certificate) return { check, verdict: 'skip', detail: 'no certificate in the secret' };
  const remainingMs = Date.parse(certificate.notAfter) - now;
  const days = Math.floor(remainingMs / DAY_MS);
  if (remainingMs <= 0) {
    return {
      check,
      verdict: 'fail',
      detail: `certificate expired on ${certificate.notAfter}: Salesforce still accepts it, but rotate now: token-broker keys rotate --org ID`,
    };
  }
  if (days < CERTIFICATE_WARN_DAYS) {
    return {
      check,
      verdict: 'warn',
      detail: `certificate expires on ${certificate.notAfter} (in ${days} days): rotate it soon`,
    };
  }
  return {
    check,
    verdict: 'pass',
    detail: `certificate valid until ${certificate.notAfter} (${days} days)`,
  };
}

/**
 * Consumer keys look like `3MVG9...` (around 85 characters of letters, digits, `.` and `_`); a
 * value of hex or decimal digits is the consumer secret pasted by mistake.
 */
export function checkConsumerKey(consumerKey: string): CheckResult {
  const check = 'consumer-key';
  if (/^[0-9A-F]{64}$/i.test(consumerKey) || /^\d{15,25}$/.test(consumerKey)) {
    return {
      check,
      verdict: 'fail',
      detail:
        'the consumer key looks like a consumer SECRET (only digits/hex): copy the Consumer Key instead (External Client App Manager > the app > Settings > Consumer Key and Secret; legacy Connected App: Manage Consumer Details), and rotate the secret',
    };
  }
  if (/^3MVG[A-Za-z0-9._]{20,}$/.test(consumerKey)) {
    return {
      check,
      verdict: 'pass',
      detail: `consumer key has the Salesforce shape (3MVG..., ${consumerKey.length} characters)`,
    };
  }
  return {
    check,
    verdict: 'warn',
    detail: `consumer key ${consumerKey.slice(0, 8)}... does not look like a Salesforce consumer key (3MVG..., letters, digits, "." and "_"): check for a truncated or mangled copy`,
  };
}

/**
 * The redirect URI the broker sends, and, when the operator says what is registered on the app,
 * whether it is byte-identical (a trailing slash, the scheme or the case all break it).
 */
export function checkRedirectUri(
  publicBaseUrl: string | undefined,
  registered: string | undefined,
): CheckResult {
  const check = 'redirect-uri';
  if (!publicBaseUrl) {
    return {
      check,
      verdict: 'skip',
      detail: "the broker's base URL is unknown (--public-base-url or PUBLIC_BASE_URL)",
    };
  }
  const expected = buildRedirectUri(publicBaseUrl);
  const url = new URL(expected);
  if (url.protocol !== 'https:' && !isLoopbackHost(url.hostname)) {
    return {
      check,
      verdict: 'fail',
      detail: `${expected} is not https: Salesforce only redirects to https callbacks (http only on localhost)`,
    };
  }
  if (registered === undefined) {
    return {
      check,
      verdict: 'pass',
      detail: `register exactly ${expected} as the app's Callback URL (no trailing slash); pass --registered-callback URL to compare`,
    };
  }
  if (registered === expected) {
    return { check, verdict: 'pass', detail: `registered Callback URL is exactly ${expected}` };
  }
  const hint =
    registered === `${expected}/`
      ? 'it has a trailing slash'
      : registered.toLowerCase() === expected.toLowerCase()
        ? 'only the letter case differs, and it matters'
        : registered.replace(/^https?:/, '') === expected.replace(/^https?:/, '')
          ? 'the scheme differs'
          : 'it is a different URL';
  return {
    check,
    verdict: 'fail',
    detail: `registered Callback URL ${registered} differs from the broker's ${expected} (${hint}); Salesforce will answer redirect_uri_mismatch`,
  };
}

/**
 * Each function may read only secrets under its own prefix (IAM grants `secret:{prefix}*`): the
 * token function the signing key under `prefix`, the OAuth function the consumer secret under
 * `consumerPrefix`. A secret elsewhere works from the CLI, with the operator's credentials, and
 * fails in Lambda with AccessDenied.
 */
export function checkSecretPrefix(
  org: Pick<OrgRecord, 'signingKeySecretId' | 'consumerSecretId'>,
  prefix: string,
  consumerPrefix: string = DEFAULT_CONSUMER_SECRET_PREFIX,
): CheckResult {
  const check = 'secret-prefix';
  const outside: string[] = [];
  if (
    org.signingKeySecretId !== undefined &&
    !isUnderSecretPrefix(org.signingKeySecretId, prefix)
  ) {
    outside.push(
      `signingKeySecretId ${org.signingKeySecretId} is outside ${prefix}, which only the token function reads: store it there (keys create) or pass --secret-prefix with the stack's prefix`,
    );
  }
  if (
    org.consumerSecretId !== undefined &&
    !isUnderSecretPrefix(org.consumerSecretId, consumerPrefix)
  ) {
    outside.push(
      `consumerSecretId ${org.consumerSecretId} is outside ${consumerPrefix}, which only the OAuth function reads: move it there (docs/deploy.md#key-custody)`,
    );
  }
  if (outside.length === 0) {
    return {
      check,
      verdict: 'pass',
      detail: `the org's secrets are under the prefixes their functions read`,
    };
  }
  return {
    check,
    verdict: 'warn',
    detail: `${outside.join('; ')}; the deployed function will get AccessDenied`,
  };
}

/** A share of the hourly login limit above which `login-budget` warns. @default 25 */
export const LOGIN_BUDGET_WARN_PERCENT = 25;

/**
 * The org's Salesforce logins in the last hour, all broker instances and the CLI together,
 * against Salesforce's 3,600 per user per hour (which other clients of the user share).
 */
export function checkLoginBudget(loginsLastHour: number): CheckResult {
  const percent = (100 * loginsLastHour) / SALESFORCE_LOGINS_PER_HOUR;
  const detail = `${loginsLastHour} Salesforce login${loginsLastHour === 1 ? '' : 's'} in the last hour by the broker (${percent.toFixed(1)}% of ${SALESFORCE_LOGINS_PER_HOUR})`;
  if (percent >= 90) {
    return {
      check: 'login-budget',
      verdict: 'fail',
      detail: `${detail}: Salesforce will refuse logins with login_rate_exceeded soon`,
    };
  }
  if (percent >= LOGIN_BUDGET_WARN_PERCENT) {
    return {
      check: 'login-budget',
      verdict: 'warn',
      detail: `${detail}: look for callers using forceRefresh or DELETE in a loop`,
    };
  }
  return { check: 'login-budget', verdict: 'pass', detail };
}

/**
 * The login host for the org's grant: the client credentials grant works only on the org's own
 * host (My Domain or site); login.salesforce.com and test.salesforce.com answer "request not
 * supported on this domain".
 */
export function checkGrantHost(org: OrgRecord): CheckResult {
  const check = 'grant-host';
  const grant = grantOf(org);
  const host = salesforceHostOf(org.loginUrl);
  if (grant === 'client_credentials' && isSharedLoginHost(org.loginUrl)) {
    return {
      check,
      verdict: 'fail',
      detail: `grant client_credentials is sent to ${host}, which answers "request not supported on this domain": set the login URL to the org's My Domain (orgs put --update --login-url https://NAME.my.salesforce.com)`,
    };
  }
  return { check, verdict: 'pass', detail: `grant ${grant} on ${host}` };
}

/**
 * The configured login host against the host of the identity URL Salesforce returned with the
 * token (the org's My Domain). A configured My Domain that differs was renamed, or the sandbox was
 * refreshed under a new one; the shared login hosts are fine for the JWT grant.
 */
export function checkIdentityHost(org: OrgRecord, identityUrl: string): CheckResult {
  const check = 'identity-host';
  const configured = salesforceHostOf(org.loginUrl);
  let reported: string;
  try {
    reported = salesforceHostOf(identityUrl);
  } catch {
    return { check, verdict: 'warn', detail: `Salesforce returned no usable identity URL` };
  }
  if (configured === reported) {
    return { check, verdict: 'pass', detail: `Salesforce reports the configured host ${reported}` };
  }
  if (isSharedLoginHost(org.loginUrl)) {
    return {
      check,
      verdict: 'pass',
      detail: `logging in through ${configured}; the org's own host is ${reported}`,
    };
  }
  return {
    check,
    verdict: 'warn',
    detail: `the login URL names ${configured} but Salesforce reports ${reported}: the My Domain was renamed or the sandbox refreshed under a new one; update it (orgs put --update --login-url https://${reported})`,
  };
}

/**
 * Key custody of the signing key secret (docs/deploy.md#key-custody): encrypted with a
 * customer-managed key rather than `aws/secretsmanager`, and readable only by the token role
 * (a resource policy). Secrets made before the stack had its key warn with the way to move them.
 */
export function checkSecretCustody(
  secretId: string,
  found: { readonly kmsKeyId: string | undefined; readonly resourcePolicy: string | undefined },
): CheckResult {
  const check = 'secret-custody';
  const problems: string[] = [];
  if (!found.kmsKeyId || found.kmsKeyId === 'alias/aws/secretsmanager') {
    problems.push(
      `${secretId} is encrypted with aws/secretsmanager: move it to the stack's key (aws secretsmanager update-secret --secret-id ${secretId} --kms-key-id {SecretsKeyArn}, then put-secret-value with the same value)`,
    );
  }
  if (!found.resourcePolicy) {
    problems.push(
      `${secretId} has no resource policy, so any principal IAM allows may read it: add the reader policy (keys create --reader-role; for an existing secret, put-resource-policy as docs/deploy.md#key-custody shows)`,
    );
  }
  if (problems.length === 0) {
    return {
      check,
      verdict: 'pass',
      detail: `${secretId} is under ${found.kmsKeyId} with a resource policy`,
    };
  }
  return { check, verdict: 'warn', detail: problems.join('; ') };
}
