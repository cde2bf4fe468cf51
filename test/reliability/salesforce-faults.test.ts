/**
 * Salesforce faults, each injected on the wire and each with its documented outcome: the caller
 * gets the category's status (503 + Retry-After for the retryable ones), the failure opens exactly
 * one incident, and the first success after the fault resolves it (nothing lost).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CapturedOutput, captureOutput, findSecrets } from '../support/logs';
import {
  json,
  type ScriptedSalesforce,
  SUCCESS_BODY,
  startScriptedSalesforce,
} from '../support/scripted-salesforce';
import { eventTrail, expectFailure } from './support/assertions';
import { recordFigures } from './support/figures';
import {
  refusedLoginUrl,
  startResettingServer,
  startTruncatingServer,
} from './support/raw-servers';
import { LOGIN_HOST, type Stack, startStack } from './support/stack';

const figures = recordFigures('salesforce-faults');
let stack: Stack;
let scripted: ScriptedSalesforce;
let output: CapturedOutput;
const issuedTokens: string[] = [];

beforeAll(async () => {
  [stack, scripted] = await Promise.all([
    // The smallest per-attempt timeout the token function accepts.
    // The rate-limit case needs a second login at once: the minimum token age is not under test here.
    startStack({ salesforceTimeoutMs: 1000, minTokenAgeSeconds: 0 }),
    startScriptedSalesforce(),
  ]);
  output = captureOutput();
});

afterAll(async () => {
  output.stop();
  const secrets = findSecrets(output.text() + JSON.stringify(stack.events()), [
    ...issuedTokens,
    SUCCESS_BODY.access_token,
    stack.material.privateKeyPem,
  ]);
  figures.figures.secretsFound += secrets.length;
  figures.flush();
  await Promise.all([stack.close(), scripted.close()]);
  expect(secrets).toEqual([]);
});

async function getToken(orgId: string, timeoutMs = 10_000) {
  const response = await stack.invoke({ route: 'token', orgId, timeoutMs });
  if (response.statusCode === 200) issuedTokens.push(String(response.json.access_token));
  return response;
}

function lastExchangeLog(orgId: string) {
  return output
    .entries()
    .findLast(
      (entry) =>
        entry.org_id === orgId &&
        (entry.message === 'Token exchange failed' || entry.message === 'Token exchange succeeded'),
    );
}

/**
 * Every instance backs off for the failure's Retry-After: inside it the next request is answered
 * from the fleet's memory, with the same category; then the test ends the backoff.
 */
async function waitOutBackoff(orgId: string): Promise<void> {
  const remembered = await getToken(orgId);
  expect(remembered.statusCode).toBe(503);
  expect(remembered.json.remembered).toBe(true);
  expect(remembered.headers?.['Retry-After']).toMatch(/^\d+$/);
  await stack.forgetFailure(orgId);
}

describe('Salesforce faults (emulator)', () => {
  it('unknown_error 5xx: retried within the budget, 503 + Retry-After, incident opened then resolved', async () => {
    await stack.addOrg('unknown-error');
    await figures.fault('salesforce unknown_error (5xx JSON)', async () => {
      await stack.control.addFault({ host: LOGIN_HOST, kind: 'unknown_error', status: 503 });
      const failed = await getToken('unknown-error');
      expectFailure(failed, 'salesforce_unavailable', { retryAfter: '5' });
      expect(failed.json.salesforce).toEqual({
        status: 503,
        error: 'unknown_error',
        error_description: 'retry your request',
      });
      expect(lastExchangeLog('unknown-error')?.attempts).toBe(3);
      await stack.control.clearFaults();
      await waitOutBackoff('unknown-error');
      expect((await getToken('unknown-error')).statusCode).toBe(200);
      expect(eventTrail(stack, 'unknown-error')).toEqual([
        'incident.opened:salesforce_unavailable',
        'incident.resolved:salesforce_unavailable',
      ]);
    });
  });

  it('HTML maintenance page: 503 salesforce_unavailable, the page title only', async () => {
    await stack.addOrg('maintenance');
    await figures.fault('salesforce HTML maintenance page', async () => {
      await stack.control.addFault({ host: LOGIN_HOST, kind: 'maintenance' });
      const failed = await getToken('maintenance');
      expectFailure(failed, 'salesforce_unavailable');
      expect(failed.json.salesforce).toEqual({
        status: 503,
        error_description: 'HTML page: Salesforce - Down for Maintenance',
      });
      expect(failed.body).not.toContain('<');
      await stack.control.clearFaults();
      await waitOutBackoff('maintenance');
      expect((await getToken('maintenance')).statusCode).toBe(200);
      expect(eventTrail(stack, 'maintenance')).toEqual([
        'incident.opened:salesforce_unavailable',
        'incident.resolved:salesforce_unavailable',
      ]);
    });
  });

  it('latency beyond the per-attempt timeout: 503 inside the function budget', async () => {
    await stack.addOrg('slow');
    await figures.fault('salesforce latency beyond the timeout', async () => {
      await stack.control.addFault({ host: LOGIN_HOST, kind: 'latency', latencyMs: 5000 });
      const failed = await getToken('slow', 2000);
      expectFailure(failed, 'salesforce_unavailable');
      expect(failed.json.salesforce).toMatchObject({ status: 0 });
      expect(String((failed.json.salesforce as Record<string, unknown>).error_description)).toMatch(
        /^no answer within \d+ ms$/,
      );
      expect(failed.elapsedMs).toBeLessThan(2000);
      await stack.control.clearFaults();
      await waitOutBackoff('slow');
      expect((await getToken('slow')).statusCode).toBe(200);
      expect(eventTrail(stack, 'slow')).toEqual([
        'incident.opened:salesforce_unavailable',
        'incident.resolved:salesforce_unavailable',
      ]);
    });
  });

  it('login rate limit: 503 login_rate_exceeded with Retry-After 300, not retried', async () => {
    await stack.addOrg('rate-limited');
    await figures.fault('salesforce login rate limit', async () => {
      await stack.control.updateSettings({ loginsPerHour: 1 });
      expect((await getToken('rate-limited')).statusCode).toBe(200);
      const failed = await stack.invoke({
        route: 'token',
        orgId: 'rate-limited',
        body: '{"forceRefresh":true}',
      });
      expectFailure(failed, 'login_rate_exceeded', { retryAfter: '300' });
      expect(lastExchangeLog('rate-limited')?.attempts).toBe(1);
      await stack.control.updateSettings({ loginsPerHour: 3600 });
      await waitOutBackoff('rate-limited');
      expect((await getToken('rate-limited')).statusCode).toBe(200);
      expect(eventTrail(stack, 'rate-limited')).toEqual([
        'incident.opened:login_rate_exceeded',
        'incident.resolved:login_rate_exceeded',
      ]);
    });
  });
});

describe('Salesforce faults below HTTP (raw sockets)', () => {
  it.each([
    [
      'connection refused',
      async () => ({ loginUrl: await refusedLoginUrl(), close: async () => {} }),
    ],
    ['connection reset', startResettingServer],
    ['truncated body (Content-Length larger than the body)', startTruncatingServer],
  ])('%s: 503 salesforce_unavailable, status 0, incident opened', async (name, start) => {
    const server = await start();
    const orgId = `raw-${name.split(' ')[1]}`;
    try {
      await stack.addOrg(orgId, { loginUrl: server.loginUrl });
      await figures.fault(`salesforce ${name}`, async () => {
        const failed = await getToken(orgId);
        expectFailure(failed, 'salesforce_unavailable');
        expect(failed.json.salesforce).toMatchObject({ status: 0 });
        expect(failed.body).not.toContain(SUCCESS_BODY.access_token.slice(0, 20));
        expect(lastExchangeLog(orgId)?.attempts).toBe(3);
        expect(eventTrail(stack, orgId)).toEqual(['incident.opened:salesforce_unavailable']);
      });
    } finally {
      await server.close();
    }
  });
});

describe('Salesforce answers that are not what they claim (scripted endpoint)', () => {
  it('a 5xx storm is retried at most 3 times per request, and concurrent callers share it', async () => {
    await stack.addOrg('storm', { loginUrl: scripted.url });
    await figures.fault(
      'salesforce 5xx storm (500/502/503/504) under 20 concurrent callers',
      async () => {
        const statuses = [500, 502, 503, 504];
        let served = 0;
        scripted.answerWith(() => {
          const status = statuses[served++ % statuses.length] as number;
          return { status, contentType: 'text/plain', body: `upstream ${status}` };
        });
        const before = scripted.requests.length;
        const answers = await Promise.all(Array.from({ length: 20 }, () => getToken('storm')));
        for (const failed of answers) expectFailure(failed, 'salesforce_unavailable');
        // Single-flight: one exchange (3 attempts) for 20 callers, not 60 logins.
        expect(scripted.requests.length - before).toBe(3);
        scripted.answerWith(json(200, SUCCESS_BODY));
        await waitOutBackoff('storm');
        expect((await getToken('storm')).statusCode).toBe(200);
        expect(eventTrail(stack, 'storm')).toEqual([
          'incident.opened:salesforce_unavailable',
          'incident.resolved:salesforce_unavailable',
        ]);
      },
    );
  });

  it.each([
    [
      '200 without access_token',
      json(200, { instance_url: SUCCESS_BODY.instance_url, id: SUCCESS_BODY.id }),
      'success response without access_token, instance_url or id',
    ],
    [
      '200 with a non-JSON body',
      { status: 200, contentType: 'text/plain', body: `token=${SUCCESS_BODY.access_token}` },
      'success status with a non-JSON body (text/plain)',
    ],
    [
      '200 with truncated JSON',
      json(200, SUCCESS_BODY).body.slice(0, 40),
      'success status with a non-JSON body (no content type)',
    ],
    [
      '400 with an HTML login page',
      { status: 400, contentType: 'text/html', body: '<html><title>Login</title></html>' },
      'HTML page: Login',
    ],
  ])('%s: 502 unexpected_response, the body never echoed', async (name, answer, description) => {
    const orgId = `odd-${name.replaceAll(/[^a-z0-9]+/gi, '-').toLowerCase()}`.slice(0, 40);
    await stack.addOrg(orgId, { loginUrl: scripted.url });
    await figures.fault(`salesforce ${name}`, async () => {
      scripted.answerWith(typeof answer === 'string' ? { status: 200, body: answer } : answer);
      const failed = await getToken(orgId);
      expectFailure(failed, 'unexpected_response');
      expect(failed.json.salesforce).toMatchObject({ error_description: description });
      expect(failed.body).not.toContain(SUCCESS_BODY.access_token);
      expect(eventTrail(stack, orgId)).toEqual(['incident.opened:unexpected_response']);
    });
  });
});
