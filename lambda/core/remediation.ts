/**
 * What to do about each failure category, in the product's own words (docs/runbook.md): which
 * Salesforce setting or user to fix, and for a missing approval the links that fix it. The same
 * text goes into HTTP error bodies, incident events and the status route; docs/runbook.md expands
 * on it under one heading per category.
 */
import { buildRedirectUri, buildSalesforceAuthorizeUrl } from './approval-links';
import type { Category } from './categories';
import { type ConnectionFailure, connectionFailureOf } from './classify';
import { grantOf } from './org-record';
import type { OrgRecord, Remediation, SalesforceErrorDetail } from './types';

export interface RemediationContext {
  /** The org concerned, when known: names the user, app and host in the steps. */
  readonly org?: OrgRecord | undefined;
  /** The broker's public base URL: needed for the redirect URI of the raw authorize URL. */
  readonly publicBaseUrl?: string | undefined;
  /**
   * The broker's signed approval link for the org, for the categories of
   * {@link isApprovalLinkCategory}; minted by the caller (signing is I/O).
   * @default none: the remediation offers the raw Salesforce authorize URL only
   */
  readonly approvalLink?: string | undefined;
  /**
   * What Salesforce (or the network) answered. For `salesforce_unavailable` without an HTTP answer
   * it selects the fix for the network cause: a wrong host is not fixed by waiting.
   */
  readonly salesforce?: SalesforceErrorDetail | undefined;
}

interface Names {
  readonly orgId: string;
  readonly user: string;
  /** The username the client credentials flow must run as. */
  readonly runAs: string;
  readonly key: string;
  readonly host: string;
  /** Host (and port) of the login URL, as a connection error concerns it. */
  readonly loginHost: string;
  readonly audience: string;
  readonly secret: string;
  /** The consumer secret's Secrets Manager id (client credentials). */
  readonly consumerSecret: string;
  /** A sandbox org, where a refresh is the usual cause of an app or audience that stops working. */
  readonly sandbox: boolean;
  readonly clientCredentials: boolean;
}

function hostOf(loginUrl: string): string {
  try {
    return new URL(loginUrl).host;
  } catch {
    return loginUrl;
  }
}

function namesOf(org: OrgRecord | undefined): Names {
  return {
    orgId: org ? org.orgId : 'ID',
    user: org ? `the integration user ${org.username}` : 'the integration user (the JWT sub)',
    runAs: org ? org.username : 'the integration user',
    key: org ? `consumer key ${org.consumerKey}` : 'the consumer key',
    host: org ? org.loginUrl : 'the org login URL',
    loginHost: org ? hostOf(org.loginUrl) : 'the login host',
    audience: org ? org.audience : 'the org audience',
    secret: org?.signingKeySecretId ? `secret ${org.signingKeySecretId}` : 'the signing key secret',
    consumerSecret: org?.consumerSecretId
      ? `secret ${org.consumerSecretId}`
      : 'the consumer secret',
    sandbox: org?.environment === 'sandbox',
    clientCredentials: org ? grantOf(org) === 'client_credentials' : false,
  };
}

/**
 * The Setup screens, per kind of app: External Client Apps are the normal case (new Connected
 * Apps can no longer be created), Connected Apps the legacy one.
 */
const ECA_POLICIES =
  'External Client App: Setup > External Client Apps > External Client App Manager > the app > Edit Policies';
const CONNECTED_APP_POLICIES =
  'legacy Connected App: Setup > Connected Apps > Manage Connected Apps > the app > Edit Policies';
const ECA_SETTINGS =
  'External Client App: Setup > External Client Apps > External Client App Manager > the app > Edit Settings > OAuth Settings';
const CONNECTED_APP_SETTINGS =
  'legacy Connected App: Setup > App Manager > the app > Edit > API (Enable OAuth Settings)';

/** What to redo after a sandbox refresh, the usual cause when an app that worked stops working. */
function refreshSteps(n: Names): readonly string[] {
  return [
    `If ${n.orgId === 'ID' ? 'the org' : `org ${n.orgId}`} worked before, a sandbox refresh is the likely cause: the refresh replaces the sandbox with a copy of production, so an External Client App created in the sandbox is no longer installed, its consumer key changes, and the sandbox My Domain may change.`,
    `Redo the app: token-broker apps scaffold --org ${n.orgId} writes the app's metadata; deploy it and assign its permission set with the sf commands it prints; then token-broker orgs put --org ${n.orgId} --update --consumer-key KEY (and --login-url if the My Domain changed).`,
    `Check with token-broker doctor --org ${n.orgId}: it compares the configured login host with the one Salesforce reports.`,
  ];
}
const APPROVAL_WARNING =
  'The approval must be the integration user\'s own: an admin who clicks Allow approves the app only for the admin. Either sign in as the integration user when approving, or have an admin pre-authorize it (Permitted Users = "Admin approved users are pre-authorized", plus the user\'s profile or a permission set assigned to the app).';

type Texts = { readonly summary: string; readonly steps: readonly string[] };

/** `salesforce_unavailable` when no HTTP answer came back: the fix follows the network cause. */
function connectionTexts(failure: ConnectionFailure, n: Names): Texts {
  const host = n.loginHost;
  const checkLoginUrl = `Check the login URL of the org record (${n.host}) for a typo, a renamed My Domain or a wrong port: token-broker orgs get --org ${n.orgId}; correct it with token-broker orgs put --org ${n.orgId} --update --login-url URL, then token-broker verify --org ${n.orgId}.`;
  switch (failure.kind) {
    case 'dns':
      return {
        summary: `The login host ${host} does not resolve (${failure.code}): Salesforce was never reached, and retrying will not help if the name is wrong.`,
        steps: [
          checkLoginUrl,
          'If the name is right, check name resolution where the broker runs (VPC DNS settings, a proxy).',
        ],
      };
    case 'refused':
      return {
        summary: `Nothing accepts connections at ${host} (${failure.code}): the login URL points at a wrong host or port, or a firewall refuses the connection.`,
        steps: [
          checkLoginUrl,
          'If the URL is right, check the egress path from the broker (proxy, firewall, security group).',
        ],
      };
    case 'tls':
      return {
        summary: `The TLS handshake with ${host} failed (${failure.code}): the login URL is probably not a Salesforce host, or something on the path intercepts TLS.`,
        steps: [
          checkLoginUrl,
          'If a corporate proxy re-signs TLS, give Node its CA certificate (NODE_EXTRA_CA_CERTS) or route the broker around it.',
        ],
      };
    case 'timeout':
      return {
        summary: `${host} did not answer in time: either Salesforce is slow, or the network path drops the packets (firewall, missing NAT route).`,
        steps: [
          'Retry after the Retry-After delay; the broker already retried within its time budget.',
          'If every attempt times out, check the egress path from the broker to the login host and https://status.salesforce.com.',
          checkLoginUrl,
        ],
      };
    case 'network':
      return {
        summary: `The connection to ${host} failed (${failure.code}) before Salesforce answered.`,
        steps: [
          'Retry after the Retry-After delay; the broker already retried within its time budget.',
          'If it persists, check the egress path from the broker (proxy, firewall, NAT) to the login host.',
          checkLoginUrl,
        ],
      };
  }
}

function textsFor(
  category: Category,
  n: Names,
  salesforce: SalesforceErrorDetail | undefined,
): Texts {
  switch (category) {
    case 'consumer_not_approved':
      return {
        summary: `Salesforce says ${n.user} has not approved the app (${n.key}), so it refuses the JWT exchange.`,
        steps: [
          'Open the broker approval link below, sign in to Salesforce AS THE INTEGRATION USER and click Allow; the broker checks who approved and re-runs the exchange to prove the fix.',
          APPROVAL_WARNING,
          `Or pre-authorize, which removes this failure for good: ${ECA_POLICIES} > OAuth Policies > Permitted Users = "Admin approved users are pre-authorized", then select a permission set or profile the integration user has (token-broker apps scaffold --org ${n.orgId} generates such an app and permission set); ${CONNECTED_APP_POLICIES} > Permitted Users, then Manage Profiles / Manage Permission Sets (a Salesforce API Integration licence permission set cannot hold Connected App assignments; use the profile or another permission set).`,
          `Check the host and audience match the org's environment (login ${n.host}, aud ${n.audience}); a sandbox user sent to production also gives this error.`,
          'Right after creating the user or app, allow up to 10 minutes for the change to reach every Salesforce server, then retry.',
        ],
      };
    case 'user_not_admin_approved':
      return {
        summary: `The app only admits pre-authorized users and ${n.user} is not one of them.`,
        steps: [
          `${ECA_POLICIES} > OAuth Policies: select a permission set or profile of ${n.user} (or assign the app's permission set to the user: sf org assign permset --name PERMSET --on-behalf-of USERNAME).`,
          `${CONNECTED_APP_POLICIES}, then Manage Profiles / Manage Permission Sets: add the integration user's profile or a permission set assigned to that user.`,
          'Request a token again (POST /orgs/{orgId}/token with {"forceRefresh": true}).',
        ],
      };
    case 'app_not_installed':
      return {
        summary: n.sandbox
          ? 'The app is not installed in this sandbox, so Salesforce blocks its use; after a sandbox refresh this is expected.'
          : 'The app is not installed in this org, so Salesforce blocks its use.',
        steps: [
          ...(n.sandbox ? refreshSteps(n) : []),
          `External Client App: deploy it into this org (token-broker apps scaffold --org ${n.orgId}, then the sf commands it prints), or install its package; Setup > External Client Apps > External Client App Manager lists the apps installed here.`,
          'Then edit its policies: Permitted Users and the permission set or profile of the integration user.',
          'Legacy Connected App: Setup > Connected Apps OAuth Usage > the app > Install; only users with "Approve Uninstalled Connected Apps" can approve an uninstalled app, so installing it is the lasting fix.',
          ...(n.sandbox ? [] : refreshSteps(n)),
        ],
      };
    case 'invalid_assertion':
      return {
        summary: `Salesforce could not verify the assertion's signature with the certificate uploaded on the app (${n.key}).`,
        steps: [
          `Compare the SHA-256 fingerprint of the certificate in ${n.secret} (GET /orgs/{orgId}/status shows it) with the certificate on the app: ${ECA_SETTINGS} > "Enable JWT Bearer Flow" certificate; ${CONNECTED_APP_SETTINGS} > "Use digital signatures". An app holds one certificate.`,
          'Upload the certificate that matches the private key in the secret, or put the matching key into the secret (the broker re-reads it on this error).',
          `Check the consumer key and login host belong to the same org (${n.host}).`,
        ],
      };
    case 'audience_invalid':
      return {
        summary: n.sandbox
          ? `Salesforce rejected the assertion's audience ${n.audience}; on a sandbox that worked before, a sandbox refresh is the likely cause.`
          : `Salesforce rejected the assertion's audience ${n.audience}.`,
        steps: [
          ...(n.sandbox ? refreshSteps(n) : []),
          'Use https://login.salesforce.com for production and Developer Edition orgs, https://test.salesforce.com for sandboxes, and the site URL for Experience Cloud.',
          'A My Domain URL is not a valid audience even when it is the login URL: set the org record audience (or environment) accordingly.',
          ...(n.sandbox ? [] : refreshSteps(n)),
        ],
      };
    case 'assertion_expired':
      return {
        summary:
          'Salesforce considers the assertion expired ("expired authorization code"): the broker clock and Salesforce disagree.',
        steps: [
          "Check the function's clock is NTP-synchronised (Lambda's is); a local run on a machine with a wrong clock shows this.",
          'Retry once; if it persists, capture the time of the failure from the logs and open a ticket.',
        ],
      };
    case 'unknown_consumer_key':
      return {
        summary: `Salesforce does not know ${n.key} on ${n.host}.`,
        steps: [
          `Copy the consumer key again into the org record: ${ECA_SETTINGS} > Consumer Key and Secret; legacy Connected App: App Manager > the app > View > Manage Consumer Details.`,
          'Check the environment: a production app is unknown to test.salesforce.com and the other way round.',
          'If the app was created or edited in the last 10 minutes, wait and retry: changes take that long to propagate.',
        ],
      };
    case 'user_inactive':
      return {
        summary: `${n.user} is inactive or frozen in Salesforce.`,
        steps: [
          'Setup > Users > the user: reactivate or unfreeze them.',
          'Or point the org record at another active integration user (and approve the app for that user).',
        ],
      };
    case 'ip_restricted':
      return {
        summary: `Salesforce refuses logins for ${n.user} from the broker's IP address (or outside login hours).`,
        steps: [
          "Add the broker's egress IP range to the user's profile Login IP Ranges, or check its Login Hours.",
          `Or relax the app's IP policy: ${ECA_POLICIES} > OAuth Policies > IP Relaxation = "Relax IP restrictions"; ${CONNECTED_APP_POLICIES} > IP Relaxation.`,
        ],
      };
    case 'org_inactive':
      return {
        summary: 'The Salesforce org is locked, closed or suspended.',
        steps: [
          'Check the org with its owner (expired trial, deleted sandbox or scratch org, billing).',
          'Remove the org from the registry if it is gone for good.',
        ],
      };
    case 'login_rate_exceeded':
      return {
        summary: `${n.user} exceeded Salesforce's limit of 3,600 logins per hour.`,
        steps: [
          'Wait for the hour to roll over; the broker returns Retry-After.',
          'Find who else logs in as this user (Login History); give each integration its own user.',
          'Avoid forceRefresh and DELETE unless a token was actually rejected: every fresh exchange is a login.',
        ],
      };
    case 'salesforce_unavailable': {
      const failure = connectionFailureOf(salesforce);
      if (failure) return connectionTexts(failure, n);
      return {
        summary:
          'Salesforce did not answer usefully (5xx, maintenance page, timeout or connection error).',
        steps: [
          'Retry after the Retry-After delay; the broker already retried within its time budget.',
          'Check https://status.salesforce.com for the instance, and the network path from the broker to the login host.',
        ],
      };
    }
    case 'unexpected_response':
      return {
        summary:
          'Salesforce answered something the broker does not recognise; it is shown verbatim.',
        steps: [
          'Read the salesforce.error and salesforce.error_description fields.',
          "Check the login URL points at Salesforce's login host and nothing in between rewrites the request.",
          'If Salesforce introduced a new message, report it so it gets its own category.',
        ],
      };
    case 'client_credentials_user_missing':
      return {
        summary: `The app has no run-as user for the client credentials flow (or the flow is off), so Salesforce issues no token for ${n.key}.`,
        steps: [
          `${ECA_POLICIES} > OAuth Flows and External Client App Enhancements: check "Enable Client Credentials Flow" and set Run As to ${n.runAs}, an API Only user; ${ECA_SETTINGS} must also have the client credentials flow enabled.`,
          `${CONNECTED_APP_POLICIES} > Client Credentials Flow > Run As (and "Enable Client Credentials Flow" under its OAuth settings).`,
          'Allow up to 10 minutes for the change to propagate, then request a token again.',
        ],
      };
    case 'my_domain_required':
      return {
        summary: `Salesforce accepts the client credentials grant only on the org's My Domain, and the request went to ${n.host}.`,
        steps: [
          `Set the org's login URL to its My Domain: token-broker orgs put --org ${n.orgId} --update --login-url https://NAME.my.salesforce.com (Setup > My Domain shows it; a sandbox's is NAME--SANDBOX.sandbox.my.salesforce.com).`,
          'A sandbox refresh or a My Domain rename changes the host: token-broker doctor compares the configured host with the one Salesforce reports.',
        ],
      };
    case 'invalid_client_credentials':
      return {
        summary: `Salesforce refused the client credentials for ${n.key}: the consumer secret in ${n.consumerSecret} does not belong to this app (or the key does not).`,
        steps: [
          `Copy the Consumer Key and Consumer Secret again (${ECA_SETTINGS} > Consumer Key and Secret; legacy Connected App: Manage Consumer Details) and store the secret in ${n.consumerSecret} (bare, or {"consumerSecret": "..."}).`,
          'If the secret was rotated or staged recently, allow a few minutes and retry; the broker reads the secret again at most after its cache age.',
        ],
      };
    case 'invalid_request':
      return {
        summary: 'The request is malformed.',
        steps: ['Fix the request as the message says; see docs/openapi.yaml.'],
      };
    case 'org_not_found':
      return {
        summary: 'No org with this id is registered with the broker.',
        steps: [
          'Check the org id, or register the org with the CLI (token-broker orgs put --org ID ...).',
        ],
      };
    case 'caller_not_authorized':
      return {
        summary: "The caller's IAM principal is not allowed to get this org's tokens.",
        steps: [
          "Add the caller's IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME) to the org's callers list.",
        ],
      };
    case 'signing_key_unavailable':
      return {
        summary: `The broker could not read or use ${n.secret}.`,
        steps: [
          'Check the secret exists, holds {"privateKey": "<PKCS#8 PEM>", "certificate": "<X.509 PEM>"} or a bare PEM key, and the function may read it (and decrypt its KMS key).',
          'The function logs the Secrets Manager error; the HTTP body deliberately does not.',
        ],
      };
    case 'consumer_secret_unavailable':
      return {
        summary: `The broker could not read the consumer secret from ${n.consumerSecret}.`,
        steps: [
          'Check the secret exists, holds the bare consumer secret or {"consumerSecret": "..."}, and the token function may read it (and decrypt its KMS key).',
          'The function logs the Secrets Manager error; the HTTP body deliberately does not.',
        ],
      };
    case 'approval_denied':
      return {
        summary: 'The approval was denied on Salesforce (someone clicked Deny).',
        steps: ['Open the approval link again, sign in as the integration user and click Allow.'],
      };
    case 'approval_blocked':
      return {
        summary:
          'Salesforce refused the approval: the app is blocked or the user is not admitted by its policy.',
        steps: [
          'Setup > Connected Apps OAuth Usage: unblock (and install) the app.',
          "If the app only admits pre-authorized users, assign the integration user's profile or permission set to it.",
        ],
      };
    case 'state_invalid':
      return {
        summary:
          'The approval attempt is unknown, expired, already used or was started in another browser.',
        steps: ['Start again from the approval link, in one browser, within a few minutes.'],
      };
    case 'code_exchange_failed':
      return {
        summary: 'Salesforce did not exchange the authorization code from the approval.',
        steps: [
          "Check the app's Callback URL is exactly the broker's redirect URI (a trailing slash matters).",
          'If the app requires a secret for the web-server flow, set consumerSecretId on the org record.',
          'Start again from the approval link.',
        ],
      };
    case 'approver_mismatch':
      return {
        summary: `The approval was given by a different user than ${n.user}, so it does not count for the JWT exchange.`,
        steps: [APPROVAL_WARNING, 'Sign out of Salesforce and open the approval link again.'],
      };
  }
}

/** Whether the fix for a category is an approval, so its remediation carries the links. */
export function isApprovalLinkCategory(category: Category): boolean {
  return category === 'consumer_not_approved' || category === 'approver_mismatch';
}

/**
 * The remediation for a category. For the categories of {@link isApprovalLinkCategory} it
 * carries the broker's approval link (when given) and the raw Salesforce authorize URL (when the
 * org and public base URL are known).
 */
export function buildRemediation(
  category: Category,
  context: RemediationContext = {},
): Remediation {
  const { org, publicBaseUrl, salesforce, approvalLink } = context;
  const texts = textsFor(category, namesOf(org), salesforce);
  const withLinks = isApprovalLinkCategory(category);
  return {
    summary: texts.summary,
    steps: texts.steps,
    ...(withLinks && approvalLink ? { approvalLink } : {}),
    ...(withLinks && org && publicBaseUrl
      ? {
          salesforceAuthorizeUrl: buildSalesforceAuthorizeUrl(org, buildRedirectUri(publicBaseUrl)),
        }
      : {}),
    runbook: `docs/runbook.md#${category}`,
  };
}
