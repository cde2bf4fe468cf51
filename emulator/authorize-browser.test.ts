import { createHash, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { signingMaterial } from '../test/support/keys';
import type { App } from './model';
import { type RunningEmulator, startEmulator } from './server';
import { JWT_BEARER, postTokenForm, signAssertion } from './testing/assertion';
import { launchBrowser } from './testing/browser';

const USER = 'integration@acme.example';
const ADMIN = 'admin@acme.example';

let emulator: RunningEmulator;
let browser: Browser;
let callbackServer: Server;
let callbackUrl: string;
let privateKeyPem: string;
let certificatePem: string;
let app: App;
let page: Page;

const verifier = randomBytes(32).toString('base64url');
const challenge = createHash('sha256').update(verifier).digest('base64url');

function authorizeUrl(overrides: Record<string, string> = {}): string {
  const params = new URLSearchParams({
    response_type: 'code',
    client_id: app.consumerKey,
    redirect_uri: callbackUrl,
    state: 'browser-state',
    scope: 'api refresh_token',
    code_challenge: challenge,
    login_hint: USER,
    ...overrides,
  });
  return `${emulator.hostUrl('acme.my.salesforce.com')}/services/oauth2/authorize?${params}`;
}

/** Waits for the browser to land on the broker's callback and returns its query. */
async function landOnCallback(): Promise<Record<string, string>> {
  await page.waitForURL((url) => url.toString().startsWith(callbackUrl), { timeout: 10_000 });
  return Object.fromEntries(new URL(page.url()).searchParams);
}

beforeAll(async () => {
  const key = await signingMaterial('emulator');
  privateKeyPem = key.privateKeyPem;
  certificatePem = key.certificatePem;
  [emulator, browser] = await Promise.all([startEmulator(), launchBrowser()]);
  callbackServer = createServer((_request, response) => {
    response.writeHead(200, { 'content-type': 'text/html' });
    response.end('<!DOCTYPE html><title>callback</title><p>callback reached</p>');
  });
  await new Promise<void>((resolve) => callbackServer.listen(0, '127.0.0.1', resolve));
  callbackUrl = `http://127.0.0.1:${(callbackServer.address() as AddressInfo).port}/oauth/callback`;
});

afterAll(async () => {
  await browser?.close();
  await emulator?.close();
  await new Promise((resolve) => callbackServer?.close(resolve));
});

beforeEach(async (context) => {
  const { control } = emulator;
  await control.reset();
  const org = await control.createOrg({ myDomainHost: 'acme.my.salesforce.com' });
  app = await control.createApp(org.id, {
    name: 'Token Broker',
    certificates: [certificatePem],
    callbackUrls: [callbackUrl],
  });
  await control.createUser(org.id, { username: USER });
  await control.createUser(org.id, { username: ADMIN, profile: 'System Administrator' });
  const browserContext = await browser.newContext();
  page = await browserContext.newPage();
  context.onTestFinished(() => browserContext.close());
});

describe('authorize pages in a real browser', () => {
  it('logs in as the hinted user, Allow redirects with code and state, and the code works', async () => {
    await page.goto(authorizeUrl());
    await expect.poll(() => page.locator('#username').inputValue()).toBe(USER);
    await page.click('#Login');
    await expect.poll(() => page.locator('#approving-user').textContent()).toBe(USER);
    expect(await page.locator('#scopes li').allTextContents()).toEqual(['api', 'refresh_token']);
    await page.click('#oaapprove');
    const params = await landOnCallback();
    expect(params.state).toBe('browser-state');
    const exchange = await postTokenForm(emulator.hostUrl('acme.my.salesforce.com'), {
      grant_type: 'authorization_code',
      code: params.code ?? '',
      client_id: app.consumerKey,
      redirect_uri: callbackUrl,
      code_verifier: verifier,
    });
    expect(exchange.status).toBe(200);
    expect(exchange.body.refresh_token).toBeTruthy();
    const jwt = await postTokenForm(emulator.hostUrl('login.salesforce.com'), {
      grant_type: JWT_BEARER,
      assertion: signAssertion(privateKeyPem, {
        iss: app.consumerKey,
        sub: USER,
        aud: 'https://login.salesforce.com',
      }),
    });
    expect(jwt.status).toBe(200);
  });

  it('lets the operator pick another user than the hint, and Deny redirects access_denied', async () => {
    await page.goto(authorizeUrl());
    await page.selectOption('#username', ADMIN);
    await page.click('#Login');
    await expect.poll(() => page.locator('#approving-user').textContent()).toBe(ADMIN);
    await page.click('#oadeny');
    expect(await landOnCallback()).toEqual({
      error: 'access_denied',
      error_description: 'end-user denied authorization',
      state: 'browser-state',
    });
  });

  it('turns away an unassigned user of an admin-approved app at the callback', async () => {
    await emulator.control.updateApp(app.consumerKey, { permittedUsers: 'admin_approved' });
    await page.goto(authorizeUrl());
    await page.click('#Login');
    expect(await landOnCallback()).toMatchObject({ error: 'OAUTH_APP_ACCESS_DENIED' });
  });

  it('shows an unregistered redirect_uri as an inert error page and never leaves the emulator', async () => {
    const hostile = `${callbackUrl}/"><img src=x onerror="document.title='pwned'">`;
    const response = await page.goto(authorizeUrl({ redirect_uri: hostile }));
    expect(response?.status()).toBe(400);
    expect(await page.locator('#error_description').textContent()).toBe(
      'redirect_uri must match configuration',
    );
    expect(await page.locator('#detail').textContent()).toContain('<img src=x');
    expect(await page.locator('img').count()).toBe(0);
    expect(await page.title()).toBe('Error | Salesforce');
    expect(page.url().startsWith(emulator.url)).toBe(true);
  });
});
