/**
 * The local gateway's own answers, as the deployed API Gateway gives them (lib/gateway-responses.ts):
 * a malformed path, a body over the payload limit, and a Host that is not this loopback server
 * (DNS rebinding), all in the broker's error body, before any handler runs.
 */
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalGateway, MAX_BODY_BYTES, startGateway } from '../../local/gateway';

const callerArn = 'arn:aws:sts::123456789012:assumed-role/Fulfilment/local';
let calls = 0;
let gateway: LocalGateway;
let small: LocalGateway;
const handler = async () => {
  calls += 1;
  return { statusCode: 200, headers: { 'Content-Type': 'application/json' }, body: '{}' };
};

interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: Record<string, unknown>;
}

/** A raw request, so the path and Host go out exactly as written. */
function send(
  base: string,
  options: { path: string; method?: string; headers?: Record<string, string>; body?: Buffer },
): Promise<Answer> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest(
      {
        hostname,
        port,
        path: options.path,
        method: options.method ?? 'GET',
        headers: options.headers,
        agent: false,
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () =>
          resolve({
            status: response.statusCode ?? 0,
            headers: response.headers,
            body: JSON.parse(Buffer.concat(chunks).toString('utf8')),
          }),
        );
      },
    );
    outgoing.on('error', reject);
    if (options.body) outgoing.write(options.body);
    outgoing.end();
  });
}

function expectGatewayError(answer: Answer, status: number, error: string): void {
  expect(answer.status).toBe(status);
  expect(answer.headers['cache-control']).toBe('no-store');
  expect(answer.body).toEqual({
    error,
    message: expect.any(String),
    retryable: status >= 500,
    request_id: expect.stringMatching(/^[0-9a-f-]{36}$/),
  });
}

beforeAll(async () => {
  gateway = await startGateway({ handlers: { token: handler, oauth: handler }, callerArn });
  small = await startGateway({ handlers: { token: handler }, callerArn, maxBodyBytes: 1024 });
});
afterAll(() => Promise.all([gateway.close(), small.close()]));

describe('local gateway guards', () => {
  it('answers a malformed percent-encoding in the path with 400, not a 500', async () => {
    const before = calls;
    for (const path of ['/orgs/%ZZ/token', '/orgs/acme%E0%A4%A/token', '/%']) {
      expectGatewayError(await send(gateway.url, { path, method: 'POST' }), 400, 'invalid_request');
    }
    expect(calls).toBe(before);
    const fine = await send(gateway.url, { path: '/orgs/ac%6De/token', method: 'POST' });
    expect(fine.status).toBe(200);
  });

  it('refuses a declared body over API Gateway 10 MB limit with 413 before reading it', async () => {
    expect(MAX_BODY_BYTES).toBe(10 * 1024 * 1024);
    const before = calls;
    const answer = await send(gateway.url, {
      path: '/orgs/acme/token',
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'Content-Length': String(MAX_BODY_BYTES + 1) },
    });
    expectGatewayError(answer, 413, 'invalid_request');
    expect(calls).toBe(before);
  });

  it('counts a streamed body without Content-Length against the limit', async () => {
    const before = calls;
    const chunked = { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' };
    const over = await send(small.url, {
      path: '/orgs/acme/token',
      method: 'POST',
      headers: chunked,
      body: Buffer.alloc(1025, 32),
    });
    expectGatewayError(over, 413, 'invalid_request');
    expect(calls).toBe(before);
    const at = await send(small.url, {
      path: '/orgs/acme/token',
      method: 'POST',
      headers: chunked,
      body: Buffer.alloc(1024, 32),
    });
    expect(at.status).toBe(200);
    expect(calls).toBe(before + 1);
  });

  it('serves only its own loopback host and port (DNS rebinding)', async () => {
    const { port } = new URL(gateway.url);
    const before = calls;
    for (const host of [
      `attacker.example:${port}`,
      'attacker.example',
      `127.0.0.1:${Number(port) + 1}`,
      `127.0.0.1.attacker.example:${port}`,
      '127.0.0.1',
    ]) {
      const answer = await send(gateway.url, {
        path: '/orgs/acme/token',
        method: 'POST',
        headers: { Host: host },
      });
      expectGatewayError(answer, 403, 'caller_not_authorized');
    }
    expect(calls).toBe(before);
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `LOCALHOST:${port}`]) {
      const answer = await send(gateway.url, {
        path: '/orgs/acme/token',
        method: 'POST',
        headers: { Host: host },
      });
      expect(answer.status).toBe(200);
    }
  });

  it('answers unknown routes in the broker error body, as the deployed gateway responses do', async () => {
    const answer = await send(gateway.url, { path: '/nope' });
    expectGatewayError(answer, 403, 'caller_not_authorized');
    expect(answer.body.message).toBe('Missing Authentication Token');
  });
});
