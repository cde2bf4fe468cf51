/**
 * Attacks on the approval loop, over HTTP against the production composition of the OAuth
 * function (oauth-wiring.ts) and the Salesforce emulator's real authorize and token endpoints.
 * Every attack must end on an escaped page with a 4xx (or 502 for a refused code), never on
 * "approved", never with a code exchanged twice, never with a redirect off the org's login host.
 */
import type { APIGatewayProxyResult } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authorizeWithForms } from '../../emulator/testing/oauth-forms';
import { stateKey } from '../../lambda/adapters/table-schema';
import { hashValue } from '../../lambda/core/oauth-state';
import type { RestHandler } from '../../lambda/handlers/rest-handler';
import { buildRestEvent, createLambdaContext } from '../../local/rest-event';
import { type CapturedOutput, captureOutput, findSecrets } from '../support/logs';
import { INTERNAL_DETAIL } from './support/assertions';
import { recordFigures } from './support/figures';
import { LOGIN_HOST, REDIRECT_URI, type Stack, startStack, usernameOf } from './support/stack';

const figures = recordFigures('approval-attacks');
let stack: Stack;
let oauth: RestHandler;
let output: CapturedOutput;
const codes: string[] = [];

beforeAll(async () => {
  stack = await startStack();
  oauth = stack.createOAuthHandler();
  output = captureOutput();
});

afterAll(async () => {
  output.stop();
  const secrets = findSecrets(output.text() + JSON.stringify(stack.events()), [
    ...codes,
    stack.material.privateKeyPem,
  ]);
  figures.figures.secretsFound += secrets.length;
  figures.flush();
  await stack.close();
  expect(secrets).toEqual([]);
});

interface Page extends APIGatewayProxyResult {
  readonly text: string;
}

async function get(
  resource: '/oauth/authorize' | '/oauth/callback',
  query: Record<string, string>,
  cookie?: string,
): Promise<Page> {
  const event = buildRestEvent({
    method: 'GET',
    resource,
    path: resource,
    query,
    headers: cookie ? { Cookie: cookie } : {},
  });
  const response = await oauth(event, createLambdaContext());
  expect(response.body).not.toMatch(INTERNAL_DETAIL);
  expect(response.statusCode).toBeLessThan(500 + (response.statusCode === 502 ? 3 : 0));
  return { ...response, text: response.body.replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ') };
}

interface Attempt {
  /** `name=value` of the binding cookie the authorize redirect set. */
  readonly cookie: string;
  readonly state: string;
  /** The emulator authorize URL the broker redirected to. */
  readonly location: URL;
}

async function startApproval(orgId: string): Promise<Attempt> {
  const started = await get('/oauth/authorize', await stack.approvalLinkQuery(orgId));
  expect(started.statusCode).toBe(302);
  const location = new URL(String(started.headers?.Location));
  const setCookie = String(started.multiValueHeaders?.['Set-Cookie']?.[0] ?? '');
  return {
    cookie: setCookie.split(';')[0] ?? '',
    state: location.searchParams.get('state') ?? '',
    location,
  };
}

/** Logs in at the emulator as `username`, clicks Allow, returns the callback query. */
async function allowAt(attempt: Attempt, username: string): Promise<Record<string, string>> {
  const loginUrl = attempt.location.href.split('/services/oauth2/authorize')[0] ?? '';
  const outcome = await authorizeWithForms(
    loginUrl,
    Object.fromEntries(attempt.location.searchParams),
    username,
  );
  expect(outcome.status).toBe(302);
  const callback = new URL(outcome.location ?? '');
  expect(`${callback.origin}${callback.pathname}`).toBe(REDIRECT_URI);
  const query = Object.fromEntries(callback.searchParams);
  if (query.code) codes.push(query.code);
  return query;
}

async function codeExchanges(orgId: string): Promise<number> {
  const logins = await stack.control.loginHistory({
    username: usernameOf(orgId),
    grant: 'authorization_code',
  });
  return logins.length;
}

/** Approval events for the org, deduplicated on `id` (SNS delivers at least once). */
function approvalEvents(orgId: string): string[] {
  const seen = new Set<string>();
  return stack
    .events()
    .filter((event) => event.subject === `orgs/${orgId}` && event.type.includes('approval'))
    .filter((event) => !seen.has(event.id) && Boolean(seen.add(event.id)))
    .map(
      (event) => `${event.type.replace('token_broker.', '')}:${String(event.data.category ?? '')}`,
    );
}

async function attack<T>(name: string, run: () => Promise<T>): Promise<T> {
  figures.figures.attacks += 1;
  figures.figures.attackNames.push(name);
  return run();
}

describe('approval flow attacks', () => {
  it('the honest flow works (the baseline every attack departs from)', async () => {
    await stack.addOrg('honest', { approved: false });
    const attempt = await startApproval('honest');
    const query = await allowAt(attempt, usernameOf('honest'));
    const page = await get('/oauth/callback', query, attempt.cookie);
    expect(page.statusCode).toBe(200);
    expect(approvalEvents('honest')).toEqual(['approval.completed:']);
  });

  it('CSRF: a callback without the binding cookie, or with another browser’s, is refused', async () => {
    await stack.addOrg('csrf', { approved: false });
    await attack('csrf without cookie', async () => {
      const attempt = await startApproval('csrf');
      const query = await allowAt(attempt, usernameOf('csrf'));
      const page = await get('/oauth/callback', query);
      expect(page.statusCode).toBe(400);
      expect(page.text).toContain('binding cookie is missing');
    });
    await attack('csrf with another cookie', async () => {
      const mine = await startApproval('csrf');
      const theirs = await startApproval('csrf');
      const query = await allowAt(mine, usernameOf('csrf'));
      const page = await get('/oauth/callback', query, theirs.cookie);
      expect(page.statusCode).toBe(400);
      expect(page.text).toContain('binding cookie differs');
    });
    expect(await codeExchanges('csrf')).toBe(0);
    expect(approvalEvents('csrf').every((e) => e.startsWith('approval.failed'))).toBe(true);
  });

  it('state replay: the second use of a callback is refused, the code is exchanged once', async () => {
    await stack.addOrg('replay', { approved: false });
    await attack('state replay', async () => {
      const attempt = await startApproval('replay');
      const query = await allowAt(attempt, usernameOf('replay'));
      expect((await get('/oauth/callback', query, attempt.cookie)).statusCode).toBe(200);
      const again = await Promise.all([
        get('/oauth/callback', query, attempt.cookie),
        get('/oauth/callback', query, attempt.cookie),
      ]);
      for (const page of again) {
        expect(page.statusCode).toBe(400);
        expect(page.text).toContain('unknown or was already used');
      }
      expect(await codeExchanges('replay')).toBe(1);
    });
  });

  it('state for another org: a code obtained for org B with the state of org A is refused', async () => {
    await stack.addOrg('org-a', { approved: false });
    await stack.addOrg('org-b', { approved: false });
    await attack('state for another org', async () => {
      const victim = await startApproval('org-a');
      const other = await startApproval('org-b');
      const codeForB = await allowAt(other, usernameOf('org-b'));
      const page = await get(
        '/oauth/callback',
        { code: codeForB.code ?? '', state: victim.state },
        victim.cookie,
      );
      expect([400, 502]).toContain(page.statusCode);
      expect(page.text).not.toContain('Approved and verified');
      expect(approvalEvents('org-a')).not.toContain('approval.completed:');
      expect(approvalEvents('org-b')).toEqual([]);
    });
  });

  it('mix-up: a state issued for another login host is refused before any code exchange', async () => {
    const record = await stack.addOrg('mixup', { approved: false });
    await attack('state issued for another login host', async () => {
      const attempt = await startApproval('mixup');
      const query = await allowAt(attempt, usernameOf('mixup'));
      // The org now points elsewhere: the code must not travel to the new host.
      await stack.registry.putOrg({
        ...record,
        loginUrl: stack.emulator.hostUrl('test.salesforce.com'),
      });
      const page = await get('/oauth/callback', query, attempt.cookie);
      await stack.registry.putOrg(record);
      expect(page.statusCode).toBe(400);
      expect(await codeExchanges('mixup')).toBe(0);
    });
  });

  it('expired state: refused, the code never exchanged', async () => {
    await stack.addOrg('expired', { approved: false });
    await attack('expired state', async () => {
      const attempt = await startApproval('expired');
      const query = await allowAt(attempt, usernameOf('expired'));
      await stack.dynamo.documents.update({
        TableName: stack.tableName,
        Key: stateKey(hashValue(attempt.state)),
        UpdateExpression: 'SET expiresAt = :past',
        ExpressionAttributeValues: { ':past': Date.now() - 1000 },
      });
      const page = await get('/oauth/callback', query, attempt.cookie);
      expect(page.statusCode).toBe(400);
      expect(page.text).toContain('expired');
      expect(await codeExchanges('expired')).toBe(0);
    });
  });

  it('code reuse: a used code presented with a fresh state fails at Salesforce, nothing approved', async () => {
    await stack.addOrg('reuse', { approved: false });
    await attack('code reuse', async () => {
      const first = await startApproval('reuse');
      const query = await allowAt(first, usernameOf('reuse'));
      expect((await get('/oauth/callback', query, first.cookie)).statusCode).toBe(200);
      const second = await startApproval('reuse');
      const page = await get(
        '/oauth/callback',
        { code: query.code ?? '', state: second.state },
        second.cookie,
      );
      expect(page.statusCode).toBe(502);
      expect(approvalEvents('reuse')).toEqual([
        'approval.completed:',
        'approval.failed:code_exchange_failed',
      ]);
    });
  });

  it.each([
    ['a redirect_uri parameter', { org: 'acme-redirect', redirect_uri: 'https://evil.example/cb' }],
    ['a next parameter', { org: 'acme-redirect', next: 'https://evil.example/' }],
    ['a protocol-relative org', { org: '//evil.example' }],
    ['an org with a userinfo', { org: 'acme@evil.example' }],
    ['a javascript: org', { org: 'javascript:alert(1)' }],
  ])('open redirect via %s: never a redirect off the org login host', async (name, query) => {
    await stack.addOrg('acme-redirect').catch(() => undefined);
    await attack(`open redirect via ${name}`, async () => {
      const page = await get('/oauth/authorize', query);
      if (page.statusCode === 302) {
        const location = new URL(String(page.headers?.Location));
        expect(location.href.startsWith(`${stack.emulator.hostUrl(LOGIN_HOST)}/`)).toBe(true);
        expect(location.searchParams.get('redirect_uri')).toBe(REDIRECT_URI);
      } else {
        expect(page.statusCode).toBeGreaterThanOrEqual(400);
        expect(page.headers?.Location).toBeUndefined();
      }
    });
  });

  it('the callback never redirects, whatever it is given', async () => {
    await attack('callback redirect attempts', async () => {
      const queries: Record<string, string>[] = [
        { code: 'x', state: 'y', next: 'https://evil.example' },
        { error: 'access_denied', error_description: '<a href="https://evil.example">x</a>' },
        { redirect_uri: 'https://evil.example', state: 'y' },
      ];
      for (const query of queries) {
        const page = await get('/oauth/callback', query);
        expect(page.statusCode).toBe(400);
        expect(page.headers?.Location).toBeUndefined();
        expect(page.body).not.toContain('<a href="https://evil.example"');
      }
    });
  });
});
