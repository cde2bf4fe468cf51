import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createSalesforceTokenClient } from '../../lambda/adapters/salesforce-token-client';
import {
  json,
  MAINTENANCE_PAGE,
  type ScriptedSalesforce,
  SUCCESS_BODY,
  sfError,
  startScriptedSalesforce,
} from '../support/scripted-salesforce';

let salesforce: ScriptedSalesforce;
let attemptNo = 0;
const form = async () => ({
  grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer',
  assertion: `a${++attemptNo}`,
});
const noSleep = async () => undefined;

beforeAll(async () => {
  salesforce = await startScriptedSalesforce();
});
afterAll(() => salesforce.close());
beforeEach(() => {
  salesforce.requests.length = 0;
  attemptNo = 0;
});

describe('Salesforce token client', () => {
  const tokenUrl = () => `${salesforce.url}/services/oauth2/token`;

  it('POSTs form-encoded and returns the raw answer', async () => {
    salesforce.answerWith(json(200, SUCCESS_BODY));
    const client = createSalesforceTokenClient({ sleep: noSleep });
    const result = await client.postForm(tokenUrl(), form, { deadline: Date.now() + 5000 });
    expect(result.attempts).toBe(1);
    expect(result.answer).toMatchObject({
      kind: 'response',
      status: 200,
      contentType: 'application/json;charset=UTF-8',
    });
    expect(JSON.parse((result.answer as { body: string }).body)).toEqual(SUCCESS_BODY);
    expect(salesforce.requests).toEqual([
      {
        method: 'POST',
        path: '/services/oauth2/token',
        contentType: 'application/x-www-form-urlencoded',
        form: { grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion: 'a1' },
      },
    ]);
  });

  it('retries a 5xx and the maintenance page with a fresh form each time, then succeeds', async () => {
    salesforce.answerWith(
      sfError('unknown_error', 'retry your request', 500),
      MAINTENANCE_PAGE,
      json(200, SUCCESS_BODY),
    );
    const delays: number[] = [];
    const client = createSalesforceTokenClient({
      sleep: async (ms) => {
        delays.push(ms);
      },
      random: () => 0.5,
    });
    const result = await client.postForm(tokenUrl(), form, { deadline: Date.now() + 10_000 });
    expect(result.attempts).toBe(3);
    expect(result.answer).toMatchObject({ status: 200 });
    expect(salesforce.requests.map((r) => r.form.assertion)).toEqual(['a1', 'a2', 'a3']);
    expect(delays).toEqual([50, 100]);
  });

  it('never retries a Salesforce verdict', async () => {
    salesforce.answerWith(sfError('invalid_grant', "user hasn't approved this consumer"));
    const client = createSalesforceTokenClient({ sleep: noSleep });
    const result = await client.postForm(tokenUrl(), form, { deadline: Date.now() + 10_000 });
    expect(result.attempts).toBe(1);
    expect(salesforce.requests).toHaveLength(1);
  });

  it('gives up after maxAttempts', async () => {
    salesforce.answerWith(MAINTENANCE_PAGE);
    const client = createSalesforceTokenClient({
      sleep: noSleep,
      backoff: { baseMs: 1, maxMs: 1, maxAttempts: 2 },
    });
    const result = await client.postForm(tokenUrl(), form, { deadline: Date.now() + 10_000 });
    expect(result.attempts).toBe(2);
    expect(result.answer).toMatchObject({ status: 503 });
  });

  it('times out a slow server per attempt and does not retry past the deadline', async () => {
    salesforce.answerWith({ ...json(200, SUCCESS_BODY), delayMs: 2000 });
    const client = createSalesforceTokenClient({
      timeoutMs: 150,
      minAttemptMs: 100,
      sleep: noSleep,
    });
    const result = await client.postForm(tokenUrl(), form, { deadline: Date.now() + 200 });
    expect(result.answer).toEqual({ kind: 'timeout', timeoutMs: 150 });
    expect(result.attempts).toBe(1);
  });

  it('accepts a fractional deadline (clocks are not whole milliseconds)', async () => {
    salesforce.answerWith(json(200, SUCCESS_BODY));
    const client = createSalesforceTokenClient({ sleep: noSleep });
    const result = await client.postForm(tokenUrl(), form, { deadline: Date.now() + 3000.5 });
    expect(result.answer).toMatchObject({ kind: 'response', status: 200 });
  });

  it('reports a refused connection as a network answer', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const client = createSalesforceTokenClient({
      sleep: noSleep,
      backoff: { baseMs: 1, maxMs: 1, maxAttempts: 2 },
    });
    const result = await client.postForm(`http://127.0.0.1:${port}/services/oauth2/token`, form, {
      deadline: Date.now() + 5000,
    });
    expect(result.answer).toEqual({ kind: 'network', message: 'ECONNREFUSED' });
    expect(result.attempts).toBe(2);
  });

  it('does not follow a redirect (it would re-send the assertion)', async () => {
    salesforce.answerWith({
      status: 302,
      body: '',
      headers: { location: 'http://127.0.0.1:1/steal' },
    });
    const client = createSalesforceTokenClient({ sleep: noSleep });
    const result = await client.postForm(tokenUrl(), form, { deadline: Date.now() + 5000 });
    expect(result.answer).toMatchObject({ kind: 'response', status: 302 });
  });

  it('reads at most maxBodyBytes of a huge body', async () => {
    salesforce.answerWith({ status: 400, contentType: 'text/plain', body: 'x'.repeat(200_000) });
    const client = createSalesforceTokenClient({ sleep: noSleep, maxBodyBytes: 1024 });
    const result = await client.postForm(tokenUrl(), form, { deadline: Date.now() + 5000 });
    expect((result.answer as { body: string }).body.length).toBe(1024);
  });
});
