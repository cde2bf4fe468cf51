/**
 * The approval loop end to end in headless Chromium: the operator's browser follows the broker's
 * approval link to the Salesforce emulator, logs in, decides, and lands on the broker's result
 * page; the token API and the events tell the rest.
 */
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { visibleText } from '../../emulator/testing/browser';
import { signingMaterial } from '../support/keys';
import { type CapturedOutput, captureOutput, findSecrets } from '../support/logs';
import {
  ADMIN_USER,
  type Broker,
  composeBroker,
  INTEGRATION_USER,
  type Stack,
  startStack,
  type WorldOptions,
} from './harness';

let stack: Stack;
let context: BrowserContext;
let page: Page;
let output: CapturedOutput;

beforeAll(async () => {
  stack = await startStack();
});
afterAll(() => stack?.close());
beforeEach(async (test) => {
  context = await stack.browser.newContext();
  page = await context.newPage();
  output = captureOutput();
  test.onTestFinished(async () => {
    output.stop();
    await context.close();
  });
});

/** Approval link -> emulator login (as `username`) -> Allow or Deny -> broker result page. */
async function approve(
  broker: Broker,
  options: { username?: string; decision?: 'allow' | 'deny' } = {},
): Promise<string> {
  await page.goto(broker.approvalLink);
  await page.locator('#username').waitFor();
  if (options.username) await page.selectOption('#username', options.username);
  await page.click('#Login');
  await page.waitForLoadState();
  if (!page.url().startsWith(stack.gateway.url)) {
    await page.click(options.decision === 'deny' ? '#oadeny' : '#oaapprove');
  }
  await page.waitForURL((url) => url.toString().startsWith(`${stack.gateway.url}/oauth/callback`));
  return visibleText(page.locator('main'));
}

/**
 * Rewrites where the broker's authorize redirect points, keeping its other headers (the cookie).
 * Routing the broker's own response is needed: Playwright does not route redirected requests.
 */
async function rewriteAuthorizeRedirect(rewrite: (location: URL) => string): Promise<void> {
  await page.route('**/oauth/authorize?**', async (route) => {
    const response = await route.fetch({ maxRedirects: 0 });
    const headers = response.headers();
    if (!headers.location) return route.fulfill({ response });
    await route.fulfill({
      response,
      headers: { ...headers, location: rewrite(new URL(headers.location)) },
    });
  });
}

async function pageStatus(url: string): Promise<{ status: number; text: string }> {
  const response = await page.goto(url);
  return {
    status: response?.status() ?? 0,
    text: await visibleText(page.locator('main')),
  };
}

function expectNoSecretsLogged(extra: readonly string[] = []) {
  expect(findSecrets(output.text(), extra)).toEqual([]);
}

async function world(options: WorldOptions = {}) {
  return composeBroker(stack, options);
}

describe('approval loop in a browser', () => {
  it('fails with consumer_not_approved, is approved by the integration user, verifies, and serves tokens', async () => {
    const broker = await world();
    const before = await broker.requestToken();
    expect(before.status).toBe(502);
    expect(before.body).toMatchObject({
      error: 'consumer_not_approved',
      remediation: {
        approvalLink: expect.stringMatching(/\/oauth\/authorize\?org=acme&exp=\d+&sig=[\w-]{43}$/),
      },
    });

    const text = await approve(broker);
    expect(text).toContain('Approved and verified');
    expect(text).toContain(`Approved as ${INTEGRATION_USER}`);
    expect(text).toContain('Granted scopes api refresh_token');
    expect(text).toContain('JWT exchange works');

    // The callback's check stored its token for the fleet and ended the failure memory: the
    // first caller after the approval gets that token, with no login of its own.
    const logins = await stack.emulator.control.countTokenExchanges(INTEGRATION_USER);
    const after = await broker.requestToken();
    expect(after.status).toBe(200);
    expect(await stack.emulator.control.countTokenExchanges(INTEGRATION_USER)).toBe(logins);
    // The integration user's own approval is what the JWT flow relies on: never revoked.
    expect(await stack.emulator.control.approvals({ username: INTEGRATION_USER })).toHaveLength(1);
    expect(text).not.toContain('revoked');
    expect(broker.events.types()).toEqual([
      'token_broker.incident.opened',
      'token_broker.incident.resolved',
      'token_broker.approval.completed',
    ]);
    const [, resolved, completed] = broker.events.events;
    expect(resolved?.data).toMatchObject({ resolution: { cause: 'approval_callback' } });
    expect(completed?.data).toMatchObject({
      approverUsername: INTEGRATION_USER,
      jwtExchangeWorks: true,
    });
    const code = new URL(page.url()).searchParams.get('code') as string;
    expectNoSecretsLogged([code, String(after.body.access_token)]);
    expect(JSON.stringify(broker.events.events)).not.toContain(code);
  });

  it("explains both fixes when another user approves, and revokes that user's stray approval in Salesforce", async () => {
    const broker = await world();
    const { control } = stack.emulator;
    const text = await approve(broker, { username: ADMIN_USER });
    expect(text).toContain('Approved by the wrong user');
    expect(text).toContain(`The broker revoked ${ADMIN_USER}'s approval of the app in Salesforce`);
    expect(text).toContain(`Approval by ${ADMIN_USER} revoked`);
    // Salesforce (the emulator) no longer holds the admin's approval: nobody holding the broker's
    // key can mint tokens for the admin.
    expect(await control.approvals({ username: ADMIN_USER })).toEqual([]);
    expect(text).toContain(
      `You approved as ${ADMIN_USER}; the broker signs as ${INTEGRATION_USER}`,
    );
    expect(text).toContain(`log in to Salesforce as ${INTEGRATION_USER}`);
    expect(text).toContain('Admin approved users are pre-authorized');
    expect((await broker.requestToken()).status).toBe(502);
    expect(broker.events.types()).toEqual([
      'token_broker.incident.opened',
      'token_broker.approval.failed',
    ]);
    expect(broker.events.events[1]?.data).toMatchObject({
      category: 'approver_mismatch',
      approverUsername: ADMIN_USER,
    });
    expectNoSecretsLogged();
  });

  it('names a missing refresh_token scope', async () => {
    const broker = await world();
    // Salesforce granting less than asked: the request reaching it carries only `api`.
    await rewriteAuthorizeRedirect((location) => {
      location.searchParams.set('scope', 'api');
      return location.toString();
    });
    const text = await approve(broker);
    expect(text).toContain('Approved without the refresh_token scope');
    expect(text).toContain('Granted scopes api');
    expect(broker.events.events.at(-1)?.data).toMatchObject({
      category: 'consumer_not_approved',
      grantedScopes: ['api'],
      jwtExchangeWorks: false,
    });
  });

  it("shows the JWT failure's remediation when the approval is right but the exchange still fails", async () => {
    const other = await signingMaterial('approval-e2e-other');
    const broker = await world({ certificatePem: other.certificatePem });
    const text = await approve(broker);
    expect(text).toContain('Approved, but the JWT exchange still fails');
    expect(text).toContain('invalid_assertion');
    expect(broker.events.events.at(-1)?.data).toMatchObject({
      category: 'invalid_assertion',
      approverUsername: INTEGRATION_USER,
    });
  });

  it('reports a denial', async () => {
    const broker = await world();
    const text = await approve(broker, { decision: 'deny' });
    expect(text).toContain('Approval denied');
    expect(text).toContain('end-user denied authorization');
    expect(broker.events.events.at(-1)?.data).toMatchObject({ category: 'approval_denied' });
  });

  it('reports a blocked app', async () => {
    const broker = await world({ app: { blocked: true } });
    const text = await approve(broker);
    expect(text).toContain('App blocked in this org');
    expect(text).toContain('Unblock');
    expect(broker.events.events.at(-1)?.data).toMatchObject({ category: 'approval_blocked' });
  });

  it('reports a user who is not admin-approved', async () => {
    const broker = await world({ app: { permittedUsers: 'admin_approved' } });
    const text = await approve(broker);
    expect(text).toContain('User not admin-approved for this app');
    expect(broker.events.events.at(-1)?.data).toMatchObject({
      category: 'user_not_admin_approved',
    });
  });

  it('reports a code exchange failure (the app requires a secret the org record lacks)', async () => {
    const broker = await world({ app: { requireSecret: true } });
    const text = await approve(broker);
    expect(text).toContain('Approval could not be completed');
    expect(text).toContain('invalid client credentials');
    expect(broker.events.events.at(-1)?.data).toMatchObject({ category: 'code_exchange_failed' });
  });

  it('sends the consumer secret when the org has one, and verifies', async () => {
    const broker = await world({
      app: { requireSecret: true },
      org: { consumerSecretId: 'token-broker/acme-consumer' },
    });
    expect(await approve(broker)).toContain('Approved and verified');
    expectNoSecretsLogged(['the-consumer-secret']);
  });
});

describe('state checks in a browser', () => {
  it('refuses a replayed callback', async () => {
    const broker = await world();
    expect(await approve(broker)).toContain('Approved and verified');
    const replay = await pageStatus(page.url());
    expect(replay.status).toBe(400);
    expect(replay.text).toContain('unknown or was already used');
    // A reload of the finished callback: a calm note with the way to check, not an alarm.
    expect(replay.text).toContain('Approval already handled');
    expect(replay.text).toContain('token-broker verify --org');
    expect(await page.locator('body').getAttribute('class')).toBe('notice');
    expect(broker.events.types().at(-1)).toBe('token_broker.approval.completed');
  });

  it('refuses an expired attempt', async () => {
    const broker = await world();
    await page.goto(broker.approvalLink);
    broker.advanceClock(601_000);
    await page.click('#Login');
    await page.click('#oaapprove');
    await page.waitForURL((url) => url.pathname === '/oauth/callback');
    const text = await visibleText(page.locator('main'));
    expect(text).toContain('expired');
    expect(broker.events.events.at(-1)?.data).toMatchObject({ category: 'state_invalid' });
  });

  it('refuses a callback in a browser without the binding cookie, or with another one', async () => {
    const broker = await world();
    await page.goto(broker.approvalLink);
    await context.clearCookies();
    await page.click('#Login');
    await page.click('#oaapprove');
    await page.waitForURL((url) => url.pathname === '/oauth/callback');
    expect(await visibleText(page.locator('main'))).toContain('binding cookie is missing');

    await page.goto(broker.approvalLink);
    const [cookie] = await context.cookies();
    if (!cookie) throw new Error('the authorize redirect set no cookie');
    await context.addCookies([{ ...cookie, value: 'A'.repeat(43) }]);
    await page.click('#Login');
    await page.waitForURL((url) => url.pathname === '/oauth/callback');
    expect(await visibleText(page.locator('main'))).toContain('binding cookie differs');
  });

  it('refuses a callback without state', async () => {
    await world();
    const missing = await pageStatus(`${stack.gateway.url}/oauth/callback?code=abc`);
    expect(missing.status).toBe(400);
    expect(missing.text).toContain('carried no state');
  });
});

describe('hostile input in a browser', () => {
  it('escapes markup in error_description and state, and never answers 5xx', async () => {
    const broker = await world();
    const alerts: string[] = [];
    const cspViolations: string[] = [];
    page.on('console', (message) => {
      if (message.text().includes('Content Security Policy')) cspViolations.push(message.text());
    });
    page.on('dialog', (dialog) => {
      alerts.push(dialog.message());
      void dialog.dismiss();
    });
    const script = '<script>alert(1)</script><img src=x onerror=alert(2)>';
    // A genuine attempt, answered with a hostile description.
    await rewriteAuthorizeRedirect((location) => {
      const state = location.searchParams.get('state') as string;
      const query = new URLSearchParams({
        error: 'access_denied',
        error_description: script,
        state,
      });
      return `${stack.gateway.url}/oauth/callback?${query}`;
    });
    await page.goto(broker.approvalLink);
    await page.waitForURL((url) => url.pathname === '/oauth/callback');
    expect(await visibleText(page.locator('main'))).toContain(script);
    expect(await page.locator('main script, main img').count()).toBe(0);

    const base = `${stack.gateway.url}/oauth/callback`;
    const cases = [
      `?code=c&state=${encodeURIComponent(script)}`,
      `?error=${encodeURIComponent(script)}&error_description=${encodeURIComponent(script)}`,
      `?code=c&code=d&state=x`,
      `?code=${'c'.repeat(5000)}&state=x`,
      '?',
      '',
    ];
    for (const query of cases) {
      const result = await pageStatus(`${base}${query}`);
      expect(result.status, query.slice(0, 40)).toBeGreaterThanOrEqual(400);
      expect(result.status, query.slice(0, 40)).toBeLessThan(500);
      expect(await page.locator('main script, main img').count()).toBe(0);
    }
    const authorize = await pageStatus(
      `${stack.gateway.url}/oauth/authorize?org=${encodeURIComponent(script)}`,
    );
    expect(authorize.status).toBe(400);
    expect(alerts).toEqual([]);
    // The page's own inline style is allowed by its hash: nothing is refused.
    expect(cspViolations).toEqual([]);
    expectNoSecretsLogged();
  });
});
