import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createAfterResponseQueue } from '../../lambda/handlers/after-response';
import {
  EXTENSION_NAME,
  parseHttpResponse,
  startAfterResponseExtension,
} from '../../lambda/handlers/lambda-extension';
import type { LocalKms } from '../../local/kms-server';
import { type LambdaInvocation, startLambdaHost } from '../../local/lambda-host.mjs';
import { buildRestEvent, createLambdaContext } from '../../local/rest-event';
import type { LocalSecretsManager } from '../../local/secrets-manager-server';
import type { LocalDynamo } from '../support/dynalite';
import { startEntryWorld } from '../support/entry-world';
import { createRecordingLogger } from '../support/in-memory-ports';
import { captureOutput } from '../support/logs';
import { json, type ScriptedSalesforce } from '../support/scripted-salesforce';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('after-response queue', () => {
  it('settles an invocation once the handler finished and its deferred work (and work it deferred) settled', async () => {
    const flushed: number[] = [];
    const queue = createAfterResponseQueue({ onSettled: () => flushed.push(performance.now()) });
    let workDone = 0;
    queue.begin('r1');
    let started = false;
    queue.defer(() => {
      started = true;
      return sleep(40).then(() => {
        queue.defer(() => sleep(20).then(() => (workDone = performance.now())));
      });
    });
    queue.defer(() => Promise.reject(new Error('reported by the work itself')));
    queue.defer(() => {
      throw new Error('thrown by the work itself');
    });
    const settled = queue.settled('r1', Date.now() + 5000).then(() => performance.now());
    await sleep(5);
    // Deferred work does not even start before the handler has finished.
    expect(started).toBe(false);
    expect(flushed).toEqual([]);
    queue.finish('r1');
    const at = await settled;
    expect(workDone).toBeGreaterThan(0);
    expect(at).toBeGreaterThanOrEqual(workDone);
    expect(flushed).toHaveLength(1);
  });

  it('stops waiting at the deadline it is given', async () => {
    const queue = createAfterResponseQueue({ onSettled: () => undefined });
    queue.begin('r2');
    queue.defer(() => new Promise(() => undefined));
    queue.finish('r2');
    const started = performance.now();
    await queue.settled('r2', Date.now() + 30);
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('an invocation without deferred work settles at once, with one flush', async () => {
    let flushes = 0;
    const queue = createAfterResponseQueue({ onSettled: () => flushes++ });
    queue.begin('r3');
    queue.finish('r3');
    queue.finish('r3');
    await queue.settled('r3', Date.now() + 1000);
    expect(flushes).toBe(1);
  });
});

describe('the extension reads the Extensions API answers', () => {
  const text = (answer: ReturnType<typeof parseHttpResponse>) =>
    answer && { status: answer.status, body: answer.body, size: answer.size };

  it('with a Content-Length body, whole or not yet', () => {
    const raw = Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 13\r\n\r\n{"eventType":1}');
    expect(text(parseHttpResponse(raw))).toEqual({ status: 200, body: '{"eventType":', size: 52 });
    expect(parseHttpResponse(raw.subarray(0, 40))).toBeUndefined();
    expect(parseHttpResponse(Buffer.from('HTTP/1.1 200 OK\r\nContent-'))).toBeUndefined();
  });

  it('with a chunked body', () => {
    const raw = Buffer.from(
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{"a":\r\n2\r\n1}\r\n0\r\n\r\n',
    );
    expect(text(parseHttpResponse(raw))).toEqual({
      status: 200,
      body: '{"a":1}',
      size: raw.length,
    });
    expect(parseHttpResponse(raw.subarray(0, raw.length - 2))).toBeUndefined();
    expect(() =>
      parseHttpResponse(Buffer.from('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n')),
    ).toThrow('malformed chunked answer');
  });
});

describe('after-response extension in a Lambda host', () => {
  it('the caller has its answer before the deferred work ends; the invocation ends after it', async () => {
    const saved = process.env.AWS_LAMBDA_RUNTIME_API;
    const host = await startLambdaHost();
    try {
      const queue = createAfterResponseQueue({ onSettled: () => undefined });
      const logger = createRecordingLogger();
      expect(
        await startAfterResponseExtension({
          runtimeApi: process.env.AWS_LAMBDA_RUNTIME_API,
          queue,
          logger,
        }),
      ).toBe(true);
      expect(host.extensions()).toEqual([EXTENSION_NAME]);
      let workEnded = 0;
      const handler = async (_event: unknown, context: { awsRequestId: string }) => {
        queue.begin(context.awsRequestId);
        queue.defer(() => sleep(80).then(() => (workEnded = performance.now())));
        queue.finish(context.awsRequestId);
        return 'answer';
      };
      const context = { ...createLambdaContext(), awsRequestId: 'inv-1' };
      const first = await host.invoke(handler, {}, context);
      expect(first.response).toBe('answer');
      expect(first.respondedAt).toBeLessThan(workEnded);
      expect(first.endedAt).toBeGreaterThanOrEqual(workEnded);
      // The next invocation is given only after the first ended, and is served the same way.
      const second = await host.invoke(
        handler,
        {},
        { ...createLambdaContext(), awsRequestId: 'inv-2' },
      );
      expect(second.respondedAt).toBeLessThan(second.endedAt);
      await host.shutdown();
    } finally {
      if (saved === undefined) delete process.env.AWS_LAMBDA_RUNTIME_API;
      else process.env.AWS_LAMBDA_RUNTIME_API = saved;
    }
  });

  it('without a Runtime API, or when registering fails, nothing is deferred (logged)', async () => {
    const queue = createAfterResponseQueue({ onSettled: () => undefined });
    const logger = createRecordingLogger();
    expect(await startAfterResponseExtension({ runtimeApi: undefined, queue, logger })).toBe(false);
    expect(await startAfterResponseExtension({ runtimeApi: '127.0.0.1:9', queue, logger })).toBe(
      false,
    );
    expect(logger.warnings[0]).toMatch(
      /^After-response extension not registered; bookkeeping runs before the answer/,
    );
  });
});

describe('after-response extension when the Extensions API drops its connection', () => {
  it('asks again and still reads the event of the invocation that finished, not one late', async () => {
    const gets: string[] = [];
    let answerSecond: ((body: string) => void) | undefined;
    let ended: () => void = () => undefined;
    const thirdGet = new Promise<void>((resolve) => {
      ended = resolve;
    });
    const api = createServer((req, res) => {
      req.resume();
      if (req.url === '/2020-01-01/extension/register') {
        res.writeHead(200, { 'Lambda-Extension-Identifier': 'ext-1' }).end('{}');
        return;
      }
      gets.push(req.url ?? '');
      if (gets.length === 1) {
        // The first long poll breaks while the extension waits for the handler.
        setTimeout(() => req.socket.destroy(), 20);
      } else if (gets.length === 2) {
        answerSecond = (body) => res.writeHead(200).end(body);
      } else {
        ended();
      }
    });
    await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve));
    try {
      const queue = createAfterResponseQueue({ onSettled: () => undefined });
      const logger = createRecordingLogger();
      const runtimeApi = `127.0.0.1:${(api.address() as AddressInfo).port}`;
      expect(await startAfterResponseExtension({ runtimeApi, queue, logger })).toBe(true);
      await vi.waitFor(() => expect(answerSecond).toBeDefined(), { timeout: 3000 });
      // Invocation r1: Lambda sends its INVOKE on the second poll; the handler finishes.
      answerSecond?.(
        JSON.stringify({ eventType: 'INVOKE', requestId: 'r1', deadlineMs: Date.now() + 5000 }),
      );
      queue.begin('r1');
      queue.finish('r1');
      // The extension ends r1 by asking for its next event.
      await thirdGet;
      expect(gets).toHaveLength(3);
      expect(logger.warnings[0]).toMatch(/^Extensions API did not answer; asking again/);
    } finally {
      api.closeAllConnections();
      await new Promise((resolve) => api.close(resolve));
    }
  });
});

describe('token.ts in a Lambda host', () => {
  const CALLER = 'arn:aws:sts::123456789012:assumed-role/Fulfilment/s';
  let salesforce: ScriptedSalesforce;
  let secrets: LocalSecretsManager;
  let dynamo: LocalDynamo;
  let kms: LocalKms;
  let sns: Server;
  /** When the slow SNS endpoint received each publish, and when it answered. */
  const publishes: { receivedAt: number; answeredAt: number }[] = [];
  const saved = process.env.AWS_LAMBDA_RUNTIME_API;

  beforeAll(async () => {
    // An SNS endpoint that takes 300 ms per publish: the answer must not wait for it.
    sns = createServer((req, res) => {
      const receivedAt = performance.now();
      req.resume();
      req.on('end', () =>
        setTimeout(() => {
          publishes.push({ receivedAt, answeredAt: performance.now() });
          res.writeHead(200, { 'Content-Type': 'text/xml' });
          res.end(
            '<PublishResponse><PublishResult><MessageId>m-1</MessageId></PublishResult></PublishResponse>',
          );
        }, 300),
      );
    });
    await new Promise<void>((resolve) => sns.listen(0, '127.0.0.1', resolve));
    ({ salesforce, secrets, dynamo, kms } = await startEntryWorld({
      keyLabel: 'after-response',
      orgId: 'deferred',
      username: 'integration@deferred.example',
      callers: [CALLER],
      env: { AWS_ENDPOINT_URL_SNS: `http://127.0.0.1:${(sns.address() as AddressInfo).port}` },
    }));
  });
  afterAll(async () => {
    if (saved === undefined) delete process.env.AWS_LAMBDA_RUNTIME_API;
    else process.env.AWS_LAMBDA_RUNTIME_API = saved;
    sns.closeAllConnections();
    await Promise.all([
      salesforce.close(),
      secrets.close(),
      kms.close(),
      dynamo.close(),
      new Promise((resolve) => sns.close(resolve)),
    ]);
  });

  it('answers consumer_not_approved before the incident event is published, then flushes one EMF document', async () => {
    const host = await startLambdaHost();
    vi.resetModules();
    const { handler } = await import('../../lambda/handlers/token');
    expect(host.extensions()).toEqual([EXTENSION_NAME]);
    salesforce.answerWith(
      json(400, {
        error: 'invalid_grant',
        error_description: "user hasn't approved this consumer",
      }),
    );
    const output = captureOutput();
    let outcome: LambdaInvocation<APIGatewayProxyResult>;
    try {
      outcome = await host.invoke(
        handler as (
          event: APIGatewayProxyEvent,
          context: Context,
        ) => Promise<APIGatewayProxyResult>,
        buildRestEvent({
          method: 'POST',
          path: '/orgs/deferred/token',
          resource: '/orgs/{orgId}/token',
          pathParameters: { orgId: 'deferred' },
          callerArn: CALLER,
        }),
        { ...createLambdaContext(), awsRequestId: 'deferred-1' },
      );
    } finally {
      output.stop();
    }
    expect(outcome.response.statusCode).toBe(502);
    expect(JSON.parse(outcome.response.body).error).toBe('consumer_not_approved');
    expect(publishes).toHaveLength(1);
    const [publish] = publishes;
    // The caller had its answer while SNS was still holding the publish; the invocation waited.
    expect(outcome.respondedAt).toBeLessThan(publish?.answeredAt ?? 0);
    expect(outcome.endedAt).toBeGreaterThanOrEqual(publish?.answeredAt ?? Infinity);
    const emf = output.entries().filter((entry) => '_aws' in entry);
    expect(emf).toHaveLength(1);
    expect(emf[0]).toHaveProperty('ExchangeFailures');
    await host.shutdown();
  });
});
