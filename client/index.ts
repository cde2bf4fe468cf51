/**
 * The broker's caller-side client: SigV4 with the AWS SDK's signer and credential chain, a token
 * cache keyed on `expires_at` with one request in flight per org, `Retry-After` within the caller's
 * deadline, and every failure as a typed {@link TokenBrokerError}.
 *
 * ```ts
 * import { createTokenBrokerClient } from 'salesforce-token-broker/client';
 * const broker = createTokenBrokerClient({ apiUrl: 'https://abc123.execute-api.eu-west-1.amazonaws.com/prod' });
 * const { access_token, instance_url } = await broker.getToken('acme');
 * // Salesforce answered 401 INVALID_SESSION_ID with that token:
 * await broker.invalidate('acme');
 * const fresh = await broker.getToken('acme');
 * ```
 *
 * @packageDocumentation
 */
import {
  errorFromResponse,
  parseRetryAfter,
  type SalesforceErrorDetail,
  TokenBrokerError,
} from './errors';
import { type CredentialsInput, createRequestSigner, type RequestSigner } from './signer';

export {
  type BrokerErrorCode,
  type ClientErrorCode,
  isTokenBrokerError,
  type Remediation,
  type SalesforceErrorDetail,
  TokenBrokerError,
  type TokenBrokerErrorCategory,
} from './errors';
export type { CredentialsInput } from './signer';

/** A token as the broker returns it: Salesforce's token response plus `expires_at` and `org_id`. */
export interface TokenGrant {
  readonly access_token: string;
  readonly instance_url: string;
  /** Salesforce identity URL. */
  readonly id: string;
  readonly token_type: string;
  readonly scope?: string;
  /** As Salesforce sent it (ms since the epoch), when it did. */
  readonly issued_at?: string;
  /** RFC 3339 UTC: when the broker stops serving this token from its cache. */
  readonly expires_at: string;
  readonly org_id: string;
}

/** `GET /orgs/{orgId}/status` (docs/openapi.yaml `OrgStatus`); no secrets. */
export interface OrgStatus {
  readonly org: {
    readonly orgId: string;
    readonly loginUrl: string;
    readonly environment: 'production' | 'sandbox' | 'site';
    readonly audience: string;
    readonly consumerKey: string;
    readonly username: string;
    readonly grant: 'jwt_bearer' | 'client_credentials';
    /** Absent for a client credentials org. */
    readonly signingKeySecretId?: string;
    readonly consumerSecretId?: string;
    readonly tokenTtlSeconds: number;
    readonly callers: readonly string[];
  };
  /** Signed and expiring; `null` when the broker could not sign one. */
  readonly approvalLink: string | null;
  readonly redirectUri: string;
  readonly salesforceAuthorizeUrl: string;
  readonly lastExchange: {
    readonly at: string;
    readonly ok: boolean;
    readonly category?: string;
    readonly salesforce?: SalesforceErrorDetail;
    readonly requestId: string;
    readonly latencyMs: number;
  } | null;
  readonly openIncidents: readonly {
    readonly category: string;
    readonly count: number;
    readonly firstSeenAt: string;
    readonly lastSeenAt: string;
  }[];
  readonly signingKey:
    | {
        readonly available: true;
        readonly certificate: {
          readonly fingerprintSha256: string;
          readonly notAfter: string;
          readonly subject: string;
          readonly matchesPrivateKey: boolean;
        } | null;
      }
    | { readonly available: false; readonly message: string };
}

export interface TokenBrokerClientOptions {
  /** The API's base URL with its stage, e.g. `https://abc123.execute-api.eu-west-1.amazonaws.com/prod`. */
  readonly apiUrl: string;
  /**
   * The region to sign for.
   * @default the region in an `execute-api` host name, else `AWS_REGION`, else `AWS_DEFAULT_REGION`
   */
  readonly region?: string;
  /**
   * Who signs: an identity, or a provider the signer calls before each request (it should cache;
   * the SDK's providers do).
   * @default the AWS SDK's default chain (`@aws-sdk/credential-provider-node`: environment, SSO,
   * web identity, shared files, container and instance metadata)
   */
  readonly credentials?: CredentialsInput;
  /** @default globalThis.fetch */
  readonly fetch?: typeof globalThis.fetch;
  /**
   * Milliseconds since the epoch; decides cache expiry and deadlines (signatures always use the
   * real time, which API Gateway checks).
   * @default Date.now
   */
  readonly clock?: () => number;
  /**
   * A cached token is replaced this long before its `expires_at`, so a token handed out is still
   * good for the request the caller makes with it.
   * @default 60000
   */
  readonly refreshBeforeExpiryMs?: number;
  /**
   * The budget of a call when the caller gives no `deadline`, waits for `Retry-After` included.
   * @default 10000
   */
  readonly timeoutMs?: number;
  /**
   * Attempts per call for retryable failures (503/429 with `Retry-After`, 500, no connection).
   * @default 3
   */
  readonly maxAttempts?: number;
}

export interface CallOptions {
  /**
   * When the caller stops waiting, in `clock` milliseconds since the epoch. A `Retry-After` that
   * would end after it is not waited for: the call fails at once with the broker's error.
   * @default clock() + timeoutMs
   */
  readonly deadline?: number;
}

export interface GetTokenOptions extends CallOptions {
  /**
   * Skip both caches (this client's and the broker's) and log in to Salesforce again. Every
   * exchange is a Salesforce login (3,600 per user per hour); after a `401 INVALID_SESSION_ID`
   * prefer {@link TokenBrokerClient.invalidate} and {@link TokenBrokerClient.getToken}.
   * @default false
   */
  readonly forceRefresh?: boolean;
}

export interface TokenBrokerClient {
  /** The API base URL, without a trailing slash. */
  readonly apiUrl: string;
  /** The region requests are signed for. */
  readonly region: string;
  /**
   * A valid token for the org: from this client's cache while it has more than
   * `refreshBeforeExpiryMs` left, else from the broker. Concurrent calls for one org share one
   * request.
   * @throws TokenBrokerError with the broker's category, `retryable`, `requestId` and remediation
   */
  getToken(orgId: string, options?: GetTokenOptions): Promise<TokenGrant>;
  /**
   * Drops the org's token here and at the broker (`DELETE /orgs/{orgId}/token`). Call it once
   * after Salesforce answered `401 INVALID_SESSION_ID`, then {@link TokenBrokerClient.getToken}.
   * @throws TokenBrokerError
   */
  invalidate(orgId: string, options?: CallOptions): Promise<void>;
  /**
   * The org's registry entry, last exchange, open incidents and approval link.
   * @throws TokenBrokerError
   */
  status(orgId: string, options?: CallOptions): Promise<OrgStatus>;
}

const EXECUTE_API_HOST = /^[a-z0-9]+\.execute-api\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$/;

function resolveRegion(apiUrl: URL, explicit: string | undefined): string {
  const region =
    explicit ??
    EXECUTE_API_HOST.exec(apiUrl.hostname)?.[1] ??
    process.env.AWS_REGION ??
    process.env.AWS_DEFAULT_REGION;
  if (!region) {
    throw new Error(
      `No region to sign for ${apiUrl.host}: pass region, or set AWS_REGION (a custom domain does not name its region)`,
    );
  }
  return region;
}

function defaultCredentials(): CredentialsInput {
  let provider: Promise<CredentialsInput> | undefined;
  // Loaded on first use: callers who pass credentials never load the chain's SSO and STS clients.
  return async () => {
    provider ??= import('@aws-sdk/credential-provider-node').then((chain) =>
      chain.defaultProvider(),
    );
    const resolved = await provider;
    return typeof resolved === 'function' ? resolved() : resolved;
  };
}

const ORG_ID = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

function checkOrgId(orgId: string): void {
  if (!ORG_ID.test(orgId)) {
    throw new TokenBrokerError({
      category: 'invalid_request',
      message: `"${orgId}" is not an org id (lower-case letters, digits and inner hyphens, up to 63)`,
      retryable: false,
      status: 0,
    });
  }
}

function isTokenGrant(value: unknown): value is TokenGrant {
  const grant = value as Partial<TokenGrant> | null;
  return (
    typeof grant === 'object' &&
    grant !== null &&
    typeof grant.access_token === 'string' &&
    grant.access_token !== '' &&
    typeof grant.instance_url === 'string' &&
    typeof grant.expires_at === 'string'
  );
}

interface CachedToken {
  readonly grant: TokenGrant;
  readonly refreshAt: number;
}

interface Call {
  readonly method: 'GET' | 'POST' | 'DELETE';
  readonly path: string;
  readonly body?: string;
  readonly deadline: number;
}

/** Creates a client; nothing is sent until the first call. */
export function createTokenBrokerClient(options: TokenBrokerClientOptions): TokenBrokerClient {
  const base = new URL(options.apiUrl);
  const apiUrl = base.toString().replace(/\/+$/, '');
  const region = resolveRegion(base, options.region);
  const sign: RequestSigner = createRequestSigner(
    region,
    options.credentials ?? defaultCredentials(),
  );
  const fetchImpl = options.fetch ?? globalThis.fetch;
  const clock = options.clock ?? Date.now;
  const refreshBeforeExpiryMs = options.refreshBeforeExpiryMs ?? 60_000;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const maxAttempts = Math.max(1, options.maxAttempts ?? 3);

  const cache = new Map<string, CachedToken>();
  const inFlight = new Map<string, Promise<TokenGrant>>();
  // Bumped by invalidate: a request already in flight must not put the rejected token back.
  const generations = new Map<string, number>();
  const generationOf = (orgId: string) => generations.get(orgId) ?? 0;

  const deadlineError = (what: string, cause?: unknown) =>
    new TokenBrokerError({
      category: 'deadline_exceeded',
      message: `The deadline passed before the token broker answered ${what}`,
      retryable: true,
      status: 0,
      cause,
    });

  async function attempt(call: Call): Promise<Response> {
    const url = new URL(`${apiUrl}${call.path}`);
    const headers: Record<string, string> = { accept: 'application/json' };
    if (call.body !== undefined) headers['content-type'] = 'application/json';
    const signed = await sign({ method: call.method, url, headers, body: call.body });
    const remaining = call.deadline - clock();
    if (remaining <= 0) throw deadlineError(`${call.method} ${call.path}`);
    try {
      return await fetchImpl(url, {
        method: call.method,
        headers: signed,
        ...(call.body === undefined ? {} : { body: call.body }),
        signal: AbortSignal.timeout(remaining),
      });
    } catch (error) {
      if ((error as Error).name === 'TimeoutError' || (error as Error).name === 'AbortError') {
        throw deadlineError(`${call.method} ${call.path}`, error);
      }
      throw new TokenBrokerError({
        category: 'network_error',
        message: `No answer from the token broker at ${url.origin}: ${(error as Error).message}`,
        retryable: true,
        status: 0,
        cause: error,
      });
    }
  }

  /** One call with retries; resolves to the parsed 2xx body (`undefined` for 204). */
  async function send(call: Call): Promise<unknown> {
    for (let attemptNumber = 1; ; attemptNumber++) {
      let failure: TokenBrokerError;
      try {
        const response = await attempt(call);
        const text = await response.text();
        if (response.ok) {
          if (response.status === 204 || text === '') return undefined;
          try {
            return JSON.parse(text) as unknown;
          } catch (error) {
            throw new TokenBrokerError({
              category: 'invalid_response',
              message: `The token broker answered ${response.status} with a body that is not JSON`,
              retryable: false,
              status: response.status,
              requestId: response.headers.get('x-amzn-requestid') ?? undefined,
              cause: error,
            });
          }
        }
        failure = errorFromResponse(
          response.status,
          text,
          parseRetryAfter(response.headers.get('retry-after'), clock()),
          response.headers.get('x-amzn-requestid') ?? undefined,
        );
      } catch (error) {
        if (!(error instanceof TokenBrokerError)) throw error;
        failure = error;
      }
      if (!failure.retryable || failure.category === 'deadline_exceeded') throw failure;
      if (attemptNumber >= maxAttempts) throw failure;
      const waitMs =
        failure.retryAfterSeconds !== undefined
          ? failure.retryAfterSeconds * 1000
          : 200 * 2 ** (attemptNumber - 1);
      // Waiting past the deadline only to fail then is worse than failing now with the reason.
      if (clock() + waitMs >= call.deadline) throw failure;
      await new Promise((resolve) => setTimeout(resolve, waitMs));
    }
  }

  /** `promise`, or a deadline error for this caller when its own deadline passes first. */
  function within<T>(promise: Promise<T>, deadline: number, what: string): Promise<T> {
    const remaining = deadline - clock();
    if (remaining <= 0) return Promise.reject(deadlineError(what));
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => reject(deadlineError(what)), remaining);
      promise.then(
        (value) => {
          clearTimeout(timer);
          resolve(value);
        },
        (error: unknown) => {
          clearTimeout(timer);
          reject(error);
        },
      );
    });
  }

  const orgPath = (orgId: string, leaf: 'token' | 'status') =>
    `/orgs/${encodeURIComponent(orgId)}/${leaf}`;

  async function requestToken(orgId: string, force: boolean, deadline: number) {
    const body = await send({
      method: 'POST',
      path: orgPath(orgId, 'token'),
      ...(force ? { body: JSON.stringify({ forceRefresh: true }) } : {}),
      deadline,
    });
    if (!isTokenGrant(body)) {
      throw new TokenBrokerError({
        category: 'invalid_response',
        message: 'The token broker answered 200 without a token',
        retryable: false,
        status: 200,
      });
    }
    return Object.freeze({ ...body });
  }

  return {
    apiUrl,
    region,

    async getToken(orgId, callOptions = {}) {
      checkOrgId(orgId);
      const deadline = callOptions.deadline ?? clock() + timeoutMs;
      const force = callOptions.forceRefresh === true;
      if (!force) {
        const cached = cache.get(orgId);
        if (cached && clock() < cached.refreshAt) return cached.grant;
      }
      const key = force ? `${orgId}#force` : orgId;
      let flight = inFlight.get(key);
      if (!flight) {
        const generation = generationOf(orgId);
        const started = requestToken(orgId, force, deadline).then((grant) => {
          const expiresAt = Date.parse(grant.expires_at);
          if (generationOf(orgId) === generation && !Number.isNaN(expiresAt)) {
            cache.set(orgId, { grant, refreshAt: expiresAt - refreshBeforeExpiryMs });
          }
          return grant;
        });
        flight = started.finally(() => {
          if (inFlight.get(key) === flight) inFlight.delete(key);
        });
        // Joiners and the first caller all observe the rejection; none may go unhandled.
        flight.catch(() => undefined);
        inFlight.set(key, flight);
      }
      return within(flight, deadline, `POST ${orgPath(orgId, 'token')}`);
    },

    async invalidate(orgId, callOptions = {}) {
      checkOrgId(orgId);
      generations.set(orgId, generationOf(orgId) + 1);
      cache.delete(orgId);
      inFlight.delete(orgId);
      inFlight.delete(`${orgId}#force`);
      await send({
        method: 'DELETE',
        path: orgPath(orgId, 'token'),
        deadline: callOptions.deadline ?? clock() + timeoutMs,
      });
    },

    async status(orgId, callOptions = {}) {
      checkOrgId(orgId);
      const body = await send({
        method: 'GET',
        path: orgPath(orgId, 'status'),
        deadline: callOptions.deadline ?? clock() + timeoutMs,
      });
      if (typeof body !== 'object' || body === null) {
        throw new TokenBrokerError({
          category: 'invalid_response',
          message: 'The token broker answered 200 without a status body',
          retryable: false,
          status: 200,
        });
      }
      return body as OrgStatus;
    },
  };
}
