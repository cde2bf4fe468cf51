/**
 * The lean AWS client (aws-request.ts, aws-protocols.ts) against scripted loopback servers: its
 * SigV4 signature checked by the SDK's own signer, error names from awsJson, REST and Query
 * answers, retries of what is worth retrying only, the per-attempt timeout, the caller's abort,
 * and no secret in any error message.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Sha256 } from '@smithy/core/checksum';
import { SignatureV4 } from '@smithy/signature-v4';
import { afterEach, describe, expect, it } from 'vitest';
import { toSignableRequest } from '../../client/signer';
import { callAwsJson, callAwsQuery, KMS_JSON } from '../../lambda/adapters/aws-protocols';
import {
  type AwsClientOptions,
  AwsServiceError,
  createAwsClient,
  decodeAwsError,
} from '../../lambda/adapters/aws-request';

const CREDENTIALS = {
  accessKeyId: 'AKIDLEANCLIENTTEST',
  secretAccessKey: 'lean-client-secret-access-key-0123456789',
  sessionToken: 'lean-client-session-token-abcdefghijklmnop',
};

interface Received {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingMessage['headers'];
  readonly body: Buffer;
}

type Answer = (request: Received, response: ServerResponse) => void;

let server: Server | undefined;
afterEach(async () => {
  const running = server;
  server = undefined;
  if (running) {
    running.closeAllConnections();
    await new Promise<void>((resolve) => running.close(() => resolve()));
  }
});

/** A loopback server answering the n-th request with `answers[n]` (the last one repeats). */
async function serve(...answers: Answer[]): Promise<{ endpoint: string; received: Received[] }> {
  const received: Received[] = [];
  server = createServer(async (request, response) => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const entry = {
      method: request.method ?? '',
      url: request.url ?? '',
      headers: request.headers,
      body: Buffer.concat(chunks),
    };
    received.push(entry);
    const answer = answers[Math.min(received.length, answers.length) - 1];
    answer?.(entry, response);
  });
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return { endpoint: `http://127.0.0.1:${port}`, received };
}

const json =
  (status: number, body: unknown, headers: Record<string, string> = {}): Answer =>
  (_, response) => {
    response.writeHead(status, { 'content-type': 'application/x-amz-json-1.1', ...headers });
    response.end(JSON.stringify(body));
  };

const xml =
  (status: number, body: string): Answer =>
  (_, response) => {
    response.writeHead(status, { 'content-type': 'text/xml' });
    response.end(body);
  };

/** Reads the request and never answers. */
const stall: Answer = () => undefined;

function client(endpoint: string, options: Partial<AwsClientOptions> = {}) {
  return createAwsClient({
    service: 'kms',
    region: 'eu-west-1',
    endpoint,
    credentials: async () => CREDENTIALS,
    ...options,
  });
}

async function failure(promise: Promise<unknown>): Promise<AwsServiceError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(AwsServiceError);
  return error as AwsServiceError;
}

function expectNoSecret(error: Error) {
  const text = `${error.name} ${error.message} ${String(error.stack)}`;
  expect(text).not.toContain(CREDENTIALS.secretAccessKey);
  expect(text).not.toContain(CREDENTIALS.sessionToken);
}

describe('lean AWS client: signing', () => {
  it('signs awsJson requests with SigV4 as the SDK signer computes it, session token included', async () => {
    const { endpoint, received } = await serve(json(200, { KeyId: 'k' }));
    await callAwsJson(client(endpoint), KMS_JSON, 'Encrypt', {
      KeyId: 'alias/k',
      Plaintext: new Uint8Array([1, 2, 3]),
    });
    const [request] = received;
    if (!request) throw new Error('no request');
    expect(request.headers['x-amz-target']).toBe('TrentService.Encrypt');
    expect(request.headers['content-type']).toBe('application/x-amz-json-1.1');
    // Blobs travel base64, as awsJson has them.
    expect(JSON.parse(request.body.toString('utf8'))).toEqual({
      KeyId: 'alias/k',
      Plaintext: 'AQID',
    });
    expect(request.headers['x-amz-security-token']).toBe(CREDENTIALS.sessionToken);

    const authorization = String(request.headers.authorization);
    const [, scope, signedHeaders, signature] =
      /^AWS4-HMAC-SHA256 Credential=[^/]+\/(\d{8}\/eu-west-1\/kms\/aws4_request), SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$/.exec(
        authorization,
      ) ?? [];
    expect(scope).toBeDefined();
    expect(signedHeaders?.split(';')).toEqual(
      expect.arrayContaining(['host', 'x-amz-date', 'x-amz-security-token', 'x-amz-target']),
    );
    const amzDate = String(request.headers['x-amz-date']);
    const signed: Record<string, string> = {};
    for (const name of signedHeaders?.split(';') ?? []) {
      signed[name] = name === 'host' ? String(request.headers.host) : String(request.headers[name]);
    }
    const signer = new SignatureV4({
      service: 'kms',
      region: 'eu-west-1',
      credentials: CREDENTIALS,
      sha256: Sha256,
      applyChecksum: false,
    });
    const recomputed = await signer.sign(
      toSignableRequest({
        method: request.method,
        url: new URL(request.url, `http://${request.headers.host}`),
        headers: signed,
        body: request.body,
      }),
      {
        signingDate: new Date(
          amzDate.replace(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/, '$1-$2-$3T$4:$5:$6Z'),
        ),
        signableHeaders: new Set(signedHeaders?.split(';')),
      },
    );
    expect(recomputed.headers.authorization).toContain(`Signature=${signature}`);
  });

  it('sends SNS Query parameters form-encoded and reads the XML answer', async () => {
    const { endpoint, received } = await serve(
      xml(
        200,
        '<PublishResponse><PublishResult><MessageId>m-1</MessageId></PublishResult></PublishResponse>',
      ),
    );
    const answer = await callAwsQuery(client(endpoint, { service: 'sns' }), {
      Action: 'Publish',
      Version: '2010-03-31',
      Message: 'a b&c',
    });
    expect(answer).toContain('<MessageId>m-1</MessageId>');
    const form = new URLSearchParams(received[0]?.body.toString('utf8'));
    expect(form.get('Message')).toBe('a b&c');
    expect(String(received[0]?.headers.authorization)).toContain('/eu-west-1/sns/aws4_request');
  });
});

describe('lean AWS client: errors', () => {
  it.each([
    [
      'awsJson __type with a namespace',
      json(400, {
        __type: 'com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException',
        message: 'The conditional request failed',
      }),
      'ConditionalCheckFailedException',
      'The conditional request failed',
    ],
    [
      'awsJson __type without a message (KMS crypto failures)',
      json(400, { __type: 'InvalidCiphertextException' }),
      'InvalidCiphertextException',
      'InvalidCiphertextException (HTTP 400)',
    ],
    [
      'REST-JSON x-amzn-errortype header (Lambda)',
      json(
        404,
        { Type: 'User', Message: 'Function not found' },
        {
          'x-amzn-errortype': 'ResourceNotFoundException:http://internal.amazon.com/',
        },
      ),
      'ResourceNotFoundException',
      'Function not found',
    ],
    [
      'Query XML <Code> (SNS)',
      xml(
        404,
        '<ErrorResponse><Error><Type>Sender</Type><Code>NotFound</Code><Message>Topic &apos;x&apos; does not exist</Message></Error></ErrorResponse>',
      ),
      'NotFound',
      "Topic 'x' does not exist",
    ],
  ])('names the error by its AWS code: %s', async (_, answer, name, message) => {
    const { endpoint, received } = await serve(answer);
    const error = await failure(callAwsJson(client(endpoint), KMS_JSON, 'Decrypt', {}));
    expect(error).toMatchObject({ name, message, $fault: 'client' });
    expect(error.$retryable).toBeUndefined();
    expect(error.$metadata.attempts).toBe(1);
    expect(received).toHaveLength(1);
    expectNoSecret(error);
  });

  it('decodes an unparseable answer by its status', () => {
    expect(decodeAwsError(502, new Headers(), '<html>Bad gateway')).toEqual({
      code: 'InternalFailure',
      message: 'InternalFailure (HTTP 502)',
    });
    expect(decodeAwsError(403, new Headers(), '')).toMatchObject({ code: 'UnknownError' });
  });
});

describe('lean AWS client: retries and timeouts', () => {
  it('retries a 500 and a throttling answer, then returns the success', async () => {
    const { endpoint, received } = await serve(
      json(500, { __type: 'KMSInternalException' }),
      json(400, { __type: 'ThrottlingException', message: 'Rate exceeded' }),
      json(200, { MacValid: true }),
    );
    await expect(
      callAwsJson(client(endpoint), KMS_JSON, 'VerifyMac', { KeyId: 'k' }),
    ).resolves.toEqual({ MacValid: true });
    expect(received).toHaveLength(3);
  }, 10_000);

  it('does not retry a 400 validation error', async () => {
    const { endpoint, received } = await serve(
      json(400, { __type: 'ValidationException', message: 'bad' }),
      json(200, {}),
    );
    const error = await failure(callAwsJson(client(endpoint), KMS_JSON, 'Sign', {}));
    expect(error.name).toBe('ValidationException');
    expect(received).toHaveLength(1);
  });

  it('gives up after maxAttempts, telling how many were made', async () => {
    const { endpoint, received } = await serve(json(503, { __type: 'ServiceUnavailable' }));
    const error = await failure(
      callAwsJson(client(endpoint, { maxAttempts: 2 }), KMS_JSON, 'Decrypt', {}),
    );
    expect(error).toMatchObject({ name: 'ServiceUnavailable', status: 503, $fault: 'server' });
    expect(error.$retryable).toEqual({ throttling: false });
    expect(error.$metadata.attempts).toBe(2);
    expect(received).toHaveLength(2);
  });

  it('ends a stalled call in a TimeoutError within the attempt timeouts', async () => {
    const { endpoint, received } = await serve(stall);
    const started = Date.now();
    const error = await failure(
      callAwsJson(
        client(endpoint, { maxAttempts: 2, attemptTimeoutMs: 100 }),
        KMS_JSON,
        'Decrypt',
        {},
      ),
    );
    expect(error).toMatchObject({ name: 'TimeoutError', $fault: 'server' });
    expect(error.$metadata.attempts).toBe(2);
    expect(received).toHaveLength(2);
    // Two 100 ms attempts and one backoff of at most 100 ms.
    expect(Date.now() - started).toBeLessThan(1500);
    expectNoSecret(error);
  });

  it("stops at once, without retrying, when the caller's signal aborts", async () => {
    const { endpoint, received } = await serve(stall);
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    const error = await failure(
      callAwsJson(
        client(endpoint, { attemptTimeoutMs: 5000 }),
        KMS_JSON,
        'Decrypt',
        {},
        {
          signal: controller.signal,
        },
      ),
    );
    expect(error.name).toBe('AbortError');
    expect(received).toHaveLength(1);
  });

  it('retries a refused connection and reports a NetworkError with its code, no secret', async () => {
    const { endpoint } = await serve(stall);
    const closed = endpoint;
    await new Promise<void>((resolve) => {
      server?.closeAllConnections();
      server?.close(() => resolve());
      server = undefined;
    });
    const error = await failure(
      callAwsJson(client(closed, { maxAttempts: 2 }), KMS_JSON, 'Decrypt', {}),
    );
    expect(error).toMatchObject({ name: 'NetworkError', code: 'ECONNREFUSED' });
    expect(error.$metadata.attempts).toBe(2);
    expectNoSecret(error);
  });

  it('names a credentials failure without calling the service', async () => {
    const { endpoint, received } = await serve(json(200, {}));
    const error = await failure(
      callAwsJson(
        client(endpoint, {
          credentials: async () => {
            throw new Error('Unable to find environment variable credentials.');
          },
        }),
        KMS_JSON,
        'Decrypt',
        {},
      ),
    );
    expect(error.name).toBe('CredentialsProviderError');
    expect(received).toHaveLength(0);
  });
});
