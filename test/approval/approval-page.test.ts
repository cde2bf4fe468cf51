/**
 * The approval result page as the operator reads it: long values wrap instead of widening the page
 * (checked in headless Chromium on a phone-sized viewport), the approver-mismatch advice appears
 * once, and a reload of a finished callback is a calm note with the way to check the status.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser } from '../../emulator/testing/browser';
import { decideStateFailure, decideVerification } from '../../lambda/core/approval-outcome';
import { renderApprovalPage } from '../../lambda/core/approval-page';
import { BrokerError } from '../../lambda/core/errors';
import { buildRemediation } from '../../lambda/core/remediation';
import type { OrgRecord } from '../../lambda/core/types';

const LONG = 'x'.repeat(180);
const org: OrgRecord = {
  orgId: 'acme',
  loginUrl: 'https://login.salesforce.com',
  environment: 'production',
  audience: 'https://login.salesforce.com',
  consumerKey: `3MVG9${LONG}`,
  username: `integration.${LONG}@acme.example`,
  signingKeySecretId: 'salesforce-token-broker/acme',
  tokenTtlSeconds: 1800,
  callers: [],
};
const approvalLink = 'https://broker.example.com/prod/oauth/authorize?org=acme';

function mismatchPage(): string {
  // The error the token service raises, with its full remediation, as the callback gets it.
  const remediation = buildRemediation('consumer_not_approved', {
    org,
    publicBaseUrl: 'https://broker.example.com/prod',
  });
  const error = new BrokerError('consumer_not_approved', remediation.summary, {
    salesforce: {
      status: 400,
      error: 'invalid_grant',
      error_description: `user hasn't approved this consumer ${LONG}`,
    },
    remediation,
  });
  const outcome = decideVerification({
    org,
    approver: `admin.${LONG}@acme.example`,
    grantedScopes: ['api', 'refresh_token'],
    jwt: { ok: false, error },
    approvalLink,
  });
  return renderApprovalPage(outcome, { requestId: `req-${LONG}` });
}

const occurrences = (text: string, part: string) => text.split(part).length - 1;

describe('approver-mismatch page', () => {
  it('gives each piece of advice once', () => {
    const html = mismatchPage();
    expect(html).toContain('Approved by the wrong user');
    expect(occurrences(html, 'Admin approved users are pre-authorized')).toBe(1);
    expect(occurrences(html, `log in to Salesforce as ${org.username}`)).toBe(1);
    expect(html).not.toContain('Why the JWT exchange fails');
    expect(occurrences(html, 'What to do next')).toBe(1);
  });
});

describe('reload of a finished callback', () => {
  it('says calmly that the approval was already handled and how to check the status', () => {
    const outcome = decideStateFailure('unknown_or_used');
    expect(outcome).toMatchObject({ kind: 'state_invalid', tone: 'notice', httpStatus: 400 });
    const html = renderApprovalPage(outcome, { requestId: 'r1' });
    expect(html).toContain('<body class="notice">');
    expect(html).toContain('<h1>Approval already handled</h1>');
    expect(html).toContain('the broker already handled that approval');
    expect(html).toContain('token-broker verify --org ORG_ID');
    expect(html).toContain('GET /orgs/{orgId}/status');
    expect(html).not.toContain('class="fail"');
  });

  it('names the org when it is known', () => {
    const html = renderApprovalPage(
      decideStateFailure('unknown_or_used', { orgId: 'acme', approvalLink }),
      { requestId: 'r1' },
    );
    expect(html).toContain('token-broker verify --org acme');
    expect(html).toContain('GET /orgs/acme/status');
  });

  it('keeps the other state refusals as failures', () => {
    for (const reason of ['expired', 'cookie_mismatch', 'missing'] as const) {
      expect(decideStateFailure(reason).tone).toBe('fail');
    }
  });
});

describe('in a browser', () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('wraps long values on a narrow screen, and a reload heading is not red', async () => {
    const context = await browser.newContext({ viewport: { width: 390, height: 800 } });
    try {
      const page = await context.newPage();
      await page.setContent(mismatchPage());
      // Strings: the test compiles without the DOM library; these run in the page.
      const widths = await page.evaluate<{
        page: number;
        viewport: number;
        main: number;
        mainBox: number;
      }>(`({
        page: document.documentElement.scrollWidth,
        viewport: window.innerWidth,
        main: document.querySelector('main').scrollWidth,
        mainBox: document.querySelector('main').clientWidth,
      })`);
      expect(widths.page).toBeLessThanOrEqual(widths.viewport);
      expect(widths.main).toBeLessThanOrEqual(widths.mainBox);

      await page.setContent(
        renderApprovalPage(decideStateFailure('unknown_or_used'), { requestId: 'r1' }),
      );
      const colour = await page.evaluate<string>(
        `getComputedStyle(document.querySelector('h1')).color`,
      );
      expect(colour).not.toBe('rgb(180, 35, 24)');
    } finally {
      await context.close();
    }
  });
});
