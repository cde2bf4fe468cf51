/**
 * The web-server flow's back channel: redeem the authorization code at the org's login host
 * (form-encoded, PKCE verifier, exact redirect URI, client secret only when the org has one),
 * then ask Salesforce who the token belongs to. The code and the access token live only inside
 * {@link AuthorizationCodeClient.redeemCode}: nothing stores, logs or returns them.
 *
 * The tokens obtained are revoked only on request ({@link ApprovalIdentity.revokeApproval}), for
 * an approval by someone other than the integration user: revoking the integration user's own
 * refresh token would remove the very approval the JWT flow relies on.
 */
import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { classifyTokenAnswer, type SalesforceToken } from '../core/classify';
import { parseConsumerSecret } from '../core/consumer-secret';
import { attemptTimeout, SYSTEM_TIME, type TimeSource, timeoutSignal } from '../core/deadline';
import { BrokerError } from '../core/errors';
import { isLoopbackHost } from '../core/org-record';
import type { ApprovalIdentity, AuthorizationCodeClient } from '../core/ports';
import { DEFAULT_MAX_BODY_BYTES, postTokenForm, readCapped } from './salesforce-token-client';

export interface SalesforceOAuthClientOptions {
  /** Per-request timeout in milliseconds (`SALESFORCE_TIMEOUT_MS`). */
  readonly timeoutMs: number;
  /** Reads a consumer secret by its Secrets Manager id; used only for orgs with `consumerSecretId`. */
  readonly readConsumerSecret: (secretId: string) => Promise<string>;
  /** Response bodies are read up to this size. @default DEFAULT_MAX_BODY_BYTES (65536) */
  readonly maxBodyBytes?: number;
  /** Clock and timers of the deadline and the per-request timeouts. @default real time */
  readonly time?: TimeSource;
}

/**
 * Registrable domains Salesforce serves orgs from (commercial, government and China clouds). A
 * host under one of them may receive the approval's access token.
 */
const SALESFORCE_DOMAINS = [
  'salesforce.com',
  'force.com',
  'site.com',
  'cloudforce.com',
  'salesforce.mil',
  'force.mil',
  'cloudforce.mil',
  'sfcrmproducts.cn',
];

function failure(message: string, salesforce?: BrokerError['salesforce'], cause?: unknown) {
  return new BrokerError('code_exchange_failed', message, { salesforce, cause });
}

/** What is left of the per-request timeout before `deadline`; 0 when the deadline has passed. */
function timeoutFor(options: SalesforceOAuthClientOptions, deadline: number): number {
  return attemptTimeout(options.timeoutMs, deadline, (options.time ?? SYSTEM_TIME).now());
}

/**
 * Whether the approval's access token may be sent to `raw`: the org's own login host, an https
 * Salesforce host, or, when the org logs in on loopback (the emulator), loopback only. The token
 * response names these URLs, so a tampered or misrouted response must not pull the token elsewhere.
 */
export function mayReceiveToken(raw: string, loginUrl: string): boolean {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return false;
  }
  if (url.username || url.password) return false;
  const login = new URL(loginUrl);
  if (isLoopbackHost(login.hostname)) {
    return isLoopbackHost(url.hostname) && (url.protocol === 'http:' || url.protocol === 'https:');
  }
  if (url.protocol !== 'https:') return false;
  if (url.host === login.host) return true;
  return SALESFORCE_DOMAINS.some((domain) => url.hostname.endsWith(`.${domain}`));
}

/** The identity URL, then userinfo: where the approver's username can be read, in that order. */
function identitySources(token: SalesforceToken) {
  return [
    { url: token.id, field: 'username' },
    {
      url: `${token.instance_url.replace(/\/+$/, '')}/services/oauth2/userinfo`,
      field: 'preferred_username',
    },
  ];
}

function hostOf(raw: string): string {
  try {
    return new URL(raw).host;
  } catch {
    return '(not a URL)';
  }
}

/**
 * The approver's username: from the identity URL (`username`), else from
 * `{instance_url}/services/oauth2/userinfo` (`preferred_username`). Each request gets what is left
 * of the timeout before `deadline`; none starts after it.
 */
async function readUsername(
  token: SalesforceToken,
  loginUrl: string,
  options: SalesforceOAuthClientOptions,
  deadline: number,
): Promise<string> {
  const sources = identitySources(token);
  const refused = sources.find(({ url }) => !mayReceiveToken(url, loginUrl));
  if (refused) {
    throw failure(
      `Salesforce's token response points at ${hostOf(refused.url)}, which is neither the org's login host nor a Salesforce host; the token was not sent there.`,
    );
  }
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  let lastStatus = 0;
  for (const { url, field } of sources) {
    const timeoutMs = timeoutFor(options, deadline);
    if (timeoutMs === 0) break;
    try {
      const response = await fetch(url, {
        headers: { Authorization: `Bearer ${token.access_token}`, Accept: 'application/json' },
        redirect: 'manual',
        signal: timeoutSignal(timeoutMs, options.time),
      });
      lastStatus = response.status;
      const text = await readCapped(response, maxBodyBytes);
      if (!response.ok) continue;
      const username = (JSON.parse(text) as Record<string, unknown> | null)?.[field];
      if (typeof username === 'string' && username !== '') return username;
    } catch {
      // Try the next source; the failure below reports that neither answered.
    }
  }
  throw failure('Salesforce issued a token for the approval but did not say which user approved.', {
    status: lastStatus,
    error_description: 'identity URL and userinfo gave no username',
  });
}

/**
 * POSTs the token to the org's own `/services/oauth2/revoke` (never to a host the token response
 * named). A 200 is a revocation; anything else, or no answer by `deadline`, is not.
 */
async function revokeAtLoginHost(
  loginUrl: string,
  token: string,
  options: SalesforceOAuthClientOptions,
  deadline: number,
): Promise<boolean> {
  const timeoutMs = timeoutFor(options, deadline);
  if (timeoutMs === 0) return false;
  const answer = await postTokenForm(
    `${loginUrl}/services/oauth2/revoke`,
    { token },
    {
      timeoutMs,
      maxBodyBytes: options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
      ...(options.time ? { time: options.time } : {}),
    },
  );
  return answer.kind === 'response' && answer.status === 200;
}

/** An {@link AuthorizationCodeClient} over Salesforce's token and identity endpoints. */
export function createSalesforceOAuthClient(
  options: SalesforceOAuthClientOptions,
): AuthorizationCodeClient {
  return {
    async redeemCode({
      org,
      code,
      codeVerifier,
      redirectUri,
      deadline,
    }): Promise<ApprovalIdentity> {
      const form: Record<string, string> = {
        grant_type: 'authorization_code',
        code,
        client_id: org.consumerKey,
        redirect_uri: redirectUri,
        code_verifier: codeVerifier,
      };
      if (org.consumerSecretId) {
        try {
          form.client_secret = await options.readConsumerSecret(org.consumerSecretId);
        } catch (cause) {
          throw failure(
            `The consumer secret "${org.consumerSecretId}" could not be read from Secrets Manager.`,
            undefined,
            cause,
          );
        }
      }
      const answer = await postTokenForm(`${org.loginUrl}/services/oauth2/token`, form, {
        timeoutMs: timeoutFor(options, deadline),
        maxBodyBytes: options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
        ...(options.time ? { time: options.time } : {}),
      });
      const result = classifyTokenAnswer(answer);
      if (!result.ok) {
        throw failure('Salesforce did not accept the authorization code.', result.salesforce);
      }
      const username = await readUsername(result.token, org.loginUrl, options, deadline);
      const { token } = result;
      return {
        username,
        grantedScopes: (token.scope ?? '').split(/\s+/).filter(Boolean),
        revokeApproval: () =>
          revokeAtLoginHost(
            org.loginUrl,
            token.refresh_token ?? token.access_token,
            options,
            deadline,
          ),
      };
    },
  };
}

/**
 * Reads consumer secrets from Secrets Manager. The SecretString is either the bare secret or JSON
 * with a `consumerSecret` (or `clientSecret`) field.
 */
export function createConsumerSecretReader(
  client: SecretsManagerClient,
): (secretId: string) => Promise<string> {
  return async (secretId) => {
    const { SecretString } = await client.send(new GetSecretValueCommand({ SecretId: secretId }));
    return parseConsumerSecret(secretId, SecretString);
  };
}
