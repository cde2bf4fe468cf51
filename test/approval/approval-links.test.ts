/**
 * Signed approval links end to end: minted with the local KMS HMAC key, opened in headless
 * Chromium through the local gateway. A valid link starts an approval; a missing, expired,
 * altered or unknown-org link gets one neutral page, identical for all. Every page and redirect
 * carries the page headers, HSTS included.
 */
import type { BrowserContext, Page, Response } from 'playwright-core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { visibleText } from '../../emulator/testing/browser';
import { type CapturedOutput, captureOutput, findSecrets } from '../support/logs';
import { type Broker, composeBroker, type Stack, startStack } from './harness';

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

const PAGE_HEADERS = {
  'strict-transport-security': 'max-age=31536000',
  'cache-control': 'no-store',
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
};

/** `link` with one query parameter replaced (or removed with `undefined`). */
function withParam(link: string, name: string, value: string | undefined): string {
  const url = new URL(link);
  if (value === undefined) url.searchParams.delete(name);
  else url.searchParams.set(name, value);
  return url.toString();
}

const param = (link: string, name: string) => new URL(link).searchParams.get(name) ?? '';

/** What a refusal looks like from the browser, minus the request id that differs per request. */
async function refusalOf(link: string) {
  const response = (await page.goto(link)) as Response;
  const headers = response.headers();
  const text = await visibleText(page.locator('main'));
  return {
    url: page.url(),
    status: response.status(),
    title: await page.title(),
    text: text.replace(/request \S+$/, 'request <id>'),
    setCookie: headers['set-cookie'],
    location: headers.location,
    pageHeaders: Object.fromEntries(Object.keys(PAGE_HEADERS).map((name) => [name, headers[name]])),
  };
}

describe('approval links in a browser', () => {
  let broker: Broker;
  beforeEach(async () => {
    broker = await composeBroker(stack);
  });

  it('a minted link starts the approval at the org login page', async () => {
    expect(broker.approvalLink).toMatch(/\/oauth\/authorize\?org=acme&exp=\d+&sig=[\w-]{43}$/);
    const redirect = page.waitForResponse((response) =>
      response.url().startsWith(`${stack.gateway.url}/oauth/authorize`),
    );
    await page.goto(broker.approvalLink);
    await page.locator('#username').waitFor();
    expect((await redirect).status()).toBe(302);
    expect((await redirect).headers()).toMatchObject(PAGE_HEADERS);
  });

  it('refuses missing, expired, altered and unknown-org links with one identical page', async () => {
    const link = broker.approvalLink;
    const exp = Number(param(link, 'exp'));
    const now = Math.floor(Date.now() / 1000);
    const sig = param(link, 'sig');
    const links: Record<string, string> = {
      'no parameters': `${stack.gateway.url}/oauth/authorize`,
      'org only (the old unsigned link)': `${stack.gateway.url}/oauth/authorize?org=acme`,
      'no MAC': withParam(link, 'sig', undefined),
      'no expiry': withParam(link, 'exp', undefined),
      expired: await broker.signApprovalLink('acme', now - 1),
      'expiry moved later': withParam(link, 'exp', String(exp + 86_400)),
      'expiry beyond the lifetime, validly signed': await broker.signApprovalLink(
        'acme',
        now + 30 * 86_400,
      ),
      'other org, same MAC': withParam(link, 'org', 'globex'),
      'MAC altered': withParam(link, 'sig', `${sig[0] === 'A' ? 'B' : 'A'}${sig.slice(1)}`),
      'unknown org, validly signed': await broker.signApprovalLink('ghost', exp),
    };
    const refusals: Record<string, Awaited<ReturnType<typeof refusalOf>>> = {};
    for (const [name, url] of Object.entries(links)) refusals[name] = await refusalOf(url);

    const first = Object.values(refusals)[0];
    if (!first) throw new Error('no refusal');
    for (const [name, refusal] of Object.entries(refusals)) {
      expect({ name, ...refusal, url: undefined }).toEqual({ name, ...first, url: undefined });
    }
    expect(first).toMatchObject({
      status: 400,
      title: 'This approval link cannot be used - Salesforce token broker',
      setCookie: undefined,
      location: undefined,
      pageHeaders: PAGE_HEADERS,
    });
    expect(first.text).toContain('not one this broker issued');
    // Nothing about any org: not the slug, not the user, not the app.
    for (const refusal of Object.values(refusals)) {
      expect(refusal.text).not.toMatch(/acme|ghost|globex|integration@|3MVG/i);
    }
    expect(broker.events.events).toEqual([]);
    expect(findSecrets(output.text(), [sig])).toEqual([]);
  });

  it('a link stops working at its expiry', async () => {
    broker.advanceClock(7 * 86_400_000 + 1000);
    const refusal = await refusalOf(broker.approvalLink);
    expect(refusal).toMatchObject({ status: 400, text: expect.stringContaining('cannot be used') });
  });
});

describe('page headers', () => {
  it('every page and redirect of the OAuth routes carries HSTS and the page headers', async () => {
    const broker = await composeBroker(stack);
    const base = stack.gateway.url;
    const answers: Record<string, Response> = {};
    const callback = page.waitForResponse((response) =>
      response.url().startsWith(`${base}/oauth/callback`),
    );
    // A whole approval: the redirect, then Salesforce back to the callback's result page.
    await page.goto(broker.approvalLink);
    await page.click('#Login');
    await page.click('#oaapprove');
    answers['callback result'] = await callback;
    for (const [name, url] of Object.entries({
      'link refused': `${base}/oauth/authorize?org=acme`,
      'callback without state': `${base}/oauth/callback?code=abc`,
      'callback with an unknown state': `${base}/oauth/callback?code=abc&state=${'A'.repeat(43)}`,
      'callback replayed': answers['callback result'].url(),
    })) {
      answers[name] = (await page.goto(url)) as Response;
    }
    for (const [name, response] of Object.entries(answers)) {
      expect({ name, headers: response.headers() }).toMatchObject({
        name,
        headers: { ...PAGE_HEADERS, 'content-type': 'text/html; charset=utf-8' },
      });
    }
    // API Gateway's own answers (an unknown route here) carry HSTS too.
    const unknown = await fetch(`${base}/oauth/elsewhere`);
    expect(unknown.headers.get('strict-transport-security')).toBe('max-age=31536000');
  });
});
