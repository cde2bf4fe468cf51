/**
 * Signed requests to AWS service endpoints: SigV4 by `aws4` (node:crypto, synchronous, so no
 * thread-pool round trips as WebCrypto's would make), sent over `node:http` (http-transport.ts), a
 * bounded number of attempts, a per-attempt timeout and the service's error answers turned into
 * {@link AwsServiceError}s named by their AWS error code.
 *
 * Why not the AWS SDK clients: the functions make a handful of calls (DynamoDB, KMS, SNS, Lambda
 * Invoke), and the SDK's clients, middleware stack and default credential chain made up most of
 * the token function's bundle and its first-request cost. The protocols themselves are small
 * (aws-protocols.ts). Only Secrets Manager keeps its SDK client.
 *
 * Nothing here reads process.env: region, endpoint and credentials come from the composition
 * root (lambda/handlers/function-runtime.ts), the CLI or the tests.
 */
import aws4 from 'aws4';
import { nodeHttpTransport, type Transport, type TransportResponse } from './http-transport';

/** Credentials as Lambda puts them in the environment (or the CLI resolves them). */
export interface AwsCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string | undefined;
}

/**
 * Asked before every attempt, so rotated credentials are picked up; a provider that is expensive
 * to call caches (the SDK's providers do).
 */
export type AwsCredentialProvider = () => Promise<AwsCredentials>;

export interface AwsClientOptions {
  /** The signing name, also the standard endpoint's first label: `dynamodb`, `kms`, `sns`, `lambda`. */
  readonly service: string;
  readonly region: string;
  /**
   * Where requests go (local endpoints, tests, VPC endpoints). The composition root passes the
   * standard `AWS_ENDPOINT_URL_<SERVICE>` / `AWS_ENDPOINT_URL` here.
   * @default `https://<service>.<region>.amazonaws.com` (`.amazonaws.com.cn` in China regions)
   */
  readonly endpoint?: string | undefined;
  readonly credentials: AwsCredentialProvider;
  /** Attempts per call, the first included. @default 3 */
  readonly maxAttempts?: number | undefined;
  /**
   * Limit for one attempt, from sending to the whole answer read, ms. DynamoDB, KMS and SNS answer
   * in tens of milliseconds, so an attempt that has not answered in 1 s is stalled; without a
   * limit it would run into the Lambda timeout and API Gateway would answer 502/504 without the
   * broker's contract body.
   * @default 1000
   */
  readonly attemptTimeoutMs?: number | undefined;
  /** The transport (`fetch` fits); tests wrap it to record requests. @default nodeHttpTransport */
  readonly fetch?: Transport | undefined;
}

/** One HTTP request to the service, before signing. */
export interface AwsRequest {
  /** @default 'POST' */
  readonly method?: string | undefined;
  /** Path (and query) under the endpoint. @default '/' */
  readonly path?: string | undefined;
  /** Protocol headers (`content-type`, `x-amz-target`...); signing adds its own. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  /** Ends the call early (no further attempts); the call then rejects with an `AbortError`. */
  readonly signal?: AbortSignal | undefined;
}

/** A successful (2xx) answer, read whole. */
export interface AwsResponse {
  readonly status: number;
  readonly headers: Headers;
  readonly body: string;
}

/** A client for one service in one region: everything a protocol needs to send a request. */
export interface AwsClient {
  readonly service: string;
  readonly region: string;
  /** The resolved endpoint, without a trailing slash. */
  readonly endpoint: string;
  /** @throws AwsServiceError once the attempts are used up or the failure is not retryable */
  send(request: AwsRequest): Promise<AwsResponse>;
}

/**
 * What a failed call throws. `name` is the AWS error code (`ConditionalCheckFailedException`,
 * `NotFoundException`, `NotFound`...), or `TimeoutError` / `NetworkError` / `AbortError` when no
 * answer came. The `$fault`, `$metadata` and `$retryable` members have the AWS SDK's meaning, so
 * code that classifies SDK errors (signing-keys.ts `keepsLastGoodKey`) reads these alike.
 * The message is the service's own (it never carries credentials or request data).
 */
export class AwsServiceError extends Error {
  /** HTTP status of the last attempt's answer; undefined when none came. */
  readonly status: number | undefined;
  /** `server` for 5xx and for a timeout or network failure, else `client`. */
  readonly $fault: 'client' | 'server';
  /** Present when the failure was worth retrying (it may have been retried already). */
  readonly $retryable: { readonly throttling: boolean } | undefined;
  readonly $metadata: {
    readonly httpStatusCode: number | undefined;
    readonly requestId: string | undefined;
    /** Attempts made, the failed last one included. */
    readonly attempts: number;
  };
  /** The network error's code (`ECONNREFUSED`...), for `NetworkError`. */
  readonly code: string | undefined;

  constructor(
    name: string,
    message: string,
    details: {
      readonly status?: number | undefined;
      readonly retryable?: { readonly throttling: boolean } | undefined;
      readonly requestId?: string | undefined;
      readonly attempts?: number | undefined;
      readonly code?: string | undefined;
      readonly cause?: unknown;
    } = {},
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = name;
    this.status = details.status;
    // No answer at all (timeout, network) counts as the server's, as the SDK has it.
    this.$fault =
      details.status === undefined
        ? details.retryable
          ? 'server'
          : 'client'
        : details.status >= 500
          ? 'server'
          : 'client';
    this.$retryable = details.retryable;
    this.$metadata = {
      httpStatusCode: details.status,
      requestId: details.requestId,
      attempts: details.attempts ?? 1,
    };
    this.code = details.code;
  }

  /** A copy that records how many attempts were made in all. */
  withAttempts(attempts: number): AwsServiceError {
    const copy = new AwsServiceError(this.name, this.message, {
      status: this.status,
      retryable: this.$retryable,
      requestId: this.$metadata.requestId,
      attempts,
      code: this.code,
      cause: this.cause,
    });
    copy.stack = this.stack;
    return copy;
  }
}

/** The AWS SDK's throttling codes (@smithy/service-error-classification): retried, and later. */
const THROTTLING_CODES: ReadonlySet<string> = new Set([
  'BandwidthLimitExceeded',
  'EC2ThrottledException',
  'LimitExceededException',
  'PriorRequestNotComplete',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'RequestThrottled',
  'RequestThrottledException',
  'SlowDown',
  'ThrottledException',
  'Throttling',
  'ThrottlingException',
  'TooManyRequestsException',
  'TransactionInProgressException',
]);

/** Codes that say "this attempt did not get through" although the status is a 4xx. */
const TRANSIENT_CODES: ReadonlySet<string> = new Set(['RequestTimeout', 'RequestTimeoutException']);

/** The SDK's standard retry delays: a base doubling per retry, capped, with full jitter. */
const RETRY_BASE_MS = 100;
const THROTTLING_RETRY_BASE_MS = 500;
const MAX_RETRY_DELAY_MS = 20_000;

function retryDelayMs(retry: number, throttling: boolean): number {
  const base = throttling ? THROTTLING_RETRY_BASE_MS : RETRY_BASE_MS;
  return Math.random() * Math.min(MAX_RETRY_DELAY_MS, base * 2 ** retry);
}

function standardEndpoint(service: string, region: string): string {
  return `https://${service}.${region}.amazonaws.com${region.startsWith('cn-') ? '.cn' : ''}`;
}

/** Undoes the five XML entities; the service escapes them in `<Message>`. */
function unescapeXml(text: string): string {
  return text.replace(
    /&(lt|gt|amp|apos|quot);/g,
    (_, entity: string) => ({ lt: '<', gt: '>', amp: '&', apos: "'", quot: '"' })[entity] ?? '',
  );
}

/** The text of the first `<name>` element; enough for AWS's flat Query answers. */
export function readXmlElement(xml: string, name: string): string | undefined {
  const match = new RegExp(`<${name}>([^<]*)</${name}>`).exec(xml);
  return match?.[1] === undefined ? undefined : unescapeXml(match[1]);
}

/**
 * The error code and message of a non-2xx answer, in any of the protocols used here: awsJson
 * (`__type`, possibly `namespace#Code`), REST-JSON (`x-amzn-errortype` header) and Query (XML
 * `<Code>`). The code is what the service documents, e.g. `ConditionalCheckFailedException`.
 */
export function decodeAwsError(
  status: number,
  headers: Headers,
  body: string,
): { readonly code: string; readonly message: string } {
  let code: string | undefined;
  let message: string | undefined;
  if (body.trimStart().startsWith('<')) {
    code = readXmlElement(body, 'Code');
    message = readXmlElement(body, 'Message');
  } else {
    try {
      const parsed = JSON.parse(body) as Record<string, unknown>;
      const type = parsed.__type ?? parsed.code ?? parsed.Code;
      if (typeof type === 'string') code = type;
      const text = parsed.message ?? parsed.Message ?? parsed.errorMessage;
      if (typeof text === 'string') message = text;
    } catch {
      // Not JSON (a proxy's HTML page, an empty body): the header or the status names it.
    }
  }
  code ??= headers.get('x-amzn-errortype') ?? undefined;
  // `com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException`, `Code:http://...`
  const name = (code ?? '').split('#').at(-1)?.split(':')[0]?.trim();
  const resolved = name || (status >= 500 ? 'InternalFailure' : 'UnknownError');
  return { code: resolved, message: message ?? `${resolved} (HTTP ${status})` };
}

function isRetryableAnswer(status: number, code: string): { throttling: boolean } | undefined {
  if (THROTTLING_CODES.has(code) || status === 429) return { throttling: true };
  if (status >= 500 || TRANSIENT_CODES.has(code)) return { throttling: false };
  return undefined;
}

/** `fetch`'s network failure (`TypeError: fetch failed`, its cause carrying the errno code). */
function networkCode(error: unknown): string | undefined {
  const cause = (error as { cause?: { code?: unknown } }).cause;
  return typeof cause?.code === 'string' ? cause.code : undefined;
}

/** What a network failure says without a code (fetch's own refusals, e.g. `bad port`). */
function networkReason(error: unknown): string | undefined {
  const cause = (error as { cause?: { message?: unknown } }).cause;
  return typeof cause?.message === 'string' ? cause.message : undefined;
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
  });
}

/** A client for `options.service`; see {@link AwsClientOptions} for the defaults. */
export function createAwsClient(options: AwsClientOptions): AwsClient {
  const { service, region } = options;
  const endpoint = (options.endpoint ?? standardEndpoint(service, region)).replace(/\/+$/, '');
  const maxAttempts = Math.max(1, options.maxAttempts ?? 3);
  const attemptTimeoutMs = options.attemptTimeoutMs ?? 1000;
  const transport = options.fetch ?? nodeHttpTransport;
  const url = new URL(endpoint);

  async function attempt(request: AwsRequest): Promise<AwsResponse> {
    let credentials: AwsCredentials;
    try {
      credentials = await options.credentials();
    } catch (error) {
      // The provider's message says where it looked; it never holds a secret.
      throw new AwsServiceError(
        'CredentialsProviderError',
        `No AWS credentials for ${service}: ${(error as Error).message}`,
        { cause: error },
      );
    }
    const path = `${url.pathname.replace(/\/$/, '')}${request.path ?? '/'}`;
    const signed = aws4.sign(
      {
        method: request.method ?? 'POST',
        protocol: url.protocol,
        host: url.host,
        path,
        headers: { ...request.headers },
        body: request.body,
        service,
        region,
      },
      {
        accessKeyId: credentials.accessKeyId,
        secretAccessKey: credentials.secretAccessKey,
        ...(credentials.sessionToken ? { sessionToken: credentials.sessionToken } : {}),
      },
    );
    // The transport sets Host and Content-Length itself, to the values signed.
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(signed.headers ?? {})) {
      const lower = name.toLowerCase();
      if (lower !== 'host' && lower !== 'content-length') headers[name] = String(value);
    }
    const timeout = AbortSignal.timeout(attemptTimeoutMs);
    const signal = request.signal ? AbortSignal.any([request.signal, timeout]) : timeout;
    let response: TransportResponse;
    let body: string;
    try {
      response = await transport(`${url.protocol}//${url.host}${path}`, {
        method: request.method ?? 'POST',
        headers,
        body: request.body,
        signal,
      });
      // Inside the attempt's time limit too: a server may send headers and stall the body.
      body = await response.text();
    } catch (error) {
      if (request.signal?.aborted) {
        throw new AwsServiceError('AbortError', `${service} call aborted by the caller`, {
          cause: error,
        });
      }
      if (timeout.aborted) {
        throw new AwsServiceError(
          'TimeoutError',
          `${service} did not answer within ${attemptTimeoutMs} ms`,
          { retryable: { throttling: false }, cause: error },
        );
      }
      const code = networkCode(error);
      const reason = code ?? networkReason(error);
      throw new AwsServiceError(
        'NetworkError',
        `${service} could not be reached${reason ? ` (${reason})` : ''}`,
        { retryable: { throttling: false }, code, cause: error },
      );
    }
    const requestId =
      response.headers.get('x-amzn-requestid') ?? response.headers.get('x-amz-request-id');
    if (response.status >= 200 && response.status < 300) {
      return { status: response.status, headers: response.headers, body };
    }
    const { code, message } = decodeAwsError(response.status, response.headers, body);
    throw new AwsServiceError(code, message, {
      status: response.status,
      retryable: isRetryableAnswer(response.status, code),
      requestId: requestId ?? undefined,
    });
  }

  return {
    service,
    region,
    endpoint,
    async send(request) {
      for (let attempts = 1; ; attempts += 1) {
        try {
          return await attempt(request);
        } catch (error) {
          const failure =
            error instanceof AwsServiceError
              ? error
              : new AwsServiceError('UnknownError', `${service} call failed`, { cause: error });
          if (!failure.$retryable || attempts >= maxAttempts || request.signal?.aborted) {
            throw failure.withAttempts(attempts);
          }
          await sleep(retryDelayMs(attempts - 1, failure.$retryable.throttling), request.signal);
        }
      }
    },
  };
}
