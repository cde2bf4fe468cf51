/**
 * The web-server flow's back channel: redeem the authorization code at the org's login host
 * (form-encoded, PKCE verifier, exact redirect URI, client secret only when the org has one),
 * then ask Salesforce who the token belongs to. The code and the access token live only inside
 * {@link AuthorizationCodeClient.redeemCode}: nothing stores, logs or returns them.
 *
 * The tokens obtained are deliberately not revoked: revoking the refresh token would remove the
 * very approval the JWT flow now relies on, and the access token expires with its session.
 */
import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { classifyTokenAnswer, type TokenEndpointAnswer } from '../core/classify';
import { BrokerError } from '../core/errors';
import type { ApprovalIdentity, AuthorizationCodeClient } from '../core/oauth-state';

export interface SalesforceOAuthClientOptions {
  /** Per-request timeout in milliseconds (`SALESFORCE_TIMEOUT_MS`). */
  readonly timeoutMs: number;
  /** Reads a consumer secret by its Secrets Manager id; used only for orgs with `consumerSecretId`. */
  readonly readConsumerSecret: (secretId: string) => Promise<string>;
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

function failure(message: string, salesforce?: BrokerError['salesforce'], cause?: unknown) {
  return new BrokerError('code_exchange_failed', message, { salesforce, cause });
}

function timeoutFor(options: SalesforceOAuthClientOptions, deadline: number): number {
  return Math.max(1, Math.min(options.timeoutMs, deadline - Date.now()));
}

async function postForm(
  url: string,
  form: Record<string, string>,
  timeoutMs: number,
): Promise<TokenEndpointAnswer> {
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/x-www-form-urlencoded',
        Accept: 'application/json',
      },
      body: new URLSearchParams(form).toString(),
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
    });
    return {
      kind: 'response',
      status: response.status,
      contentType: response.headers.get('content-type') ?? '',
      body: await response.text(),
    };
  } catch (error) {
    if (error instanceof Error && error.name === 'TimeoutError')
      return { kind: 'timeout', timeoutMs };
    return { kind: 'network', message: error instanceof Error ? error.message : String(error) };
  }
}

/** Only Salesforce-issued https URLs (http on loopback for the emulator) get the token. */
function isSafeIdentityUrl(raw: string): boolean {
  try {
    const url = new URL(raw);
    return url.protocol === 'https:' || (url.protocol === 'http:' && LOOPBACK.has(url.hostname));
  } catch {
    return false;
  }
}

/**
 * The approver's username: from the identity URL (`username`), else from
 * `{instance_url}/services/oauth2/userinfo` (`preferred_username`).
 */
async function readUsername(
  token: { readonly access_token: string; readonly id: string; readonly instance_url: string },
  timeoutMs: number,
): Promise<string> {
  const candidates = [
    { url: token.id, field: 'username' },
    {
      url: `${token.instance_url.replace(/\/+$/, '')}/services/oauth2/userinfo`,
      field: 'preferred_username',
    },
  ].filter((candidate) => isSafeIdentityUrl(candidate.url));
  let lastStatus = 0;
  for (const { url, field } of candidates) {
    try {
      const response = await fetch(url, {
        headers: { Authorization: `Bearer ${token.access_token}`, Accept: 'application/json' },
        redirect: 'manual',
        signal: AbortSignal.timeout(timeoutMs),
      });
      lastStatus = response.status;
      if (!response.ok) continue;
      const body = (await response.json()) as Record<string, unknown>;
      const username = body[field];
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
      const answer = await postForm(
        `${org.loginUrl}/services/oauth2/token`,
        form,
        timeoutFor(options, deadline),
      );
      const result = classifyTokenAnswer(answer);
      if (!result.ok) {
        throw failure('Salesforce did not accept the authorization code.', result.salesforce);
      }
      const username = await readUsername(result.token, timeoutFor(options, deadline));
      return {
        username,
        grantedScopes: (result.token.scope ?? '').split(/\s+/).filter(Boolean),
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
    const raw = SecretString?.trim();
    if (!raw) throw new Error(`Secret ${secretId} has no SecretString`);
    if (!raw.startsWith('{')) return raw;
    const parsed = JSON.parse(raw) as Record<string, unknown>;
    const value = parsed.consumerSecret ?? parsed.clientSecret;
    if (typeof value !== 'string' || value === '') {
      throw new Error(`Secret ${secretId} has no consumerSecret field`);
    }
    return value;
  };
}
