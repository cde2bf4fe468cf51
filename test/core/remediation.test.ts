import { describe, expect, it } from 'vitest';
import {
  buildApprovalLink,
  buildRedirectUri,
  buildSalesforceAuthorizeUrl,
} from '../../lambda/core/approval-links';
import {
  APPROVAL_CATEGORIES,
  BROKER_CATEGORIES,
  SALESFORCE_CATEGORIES,
} from '../../lambda/core/categories';
import { validateOrgRecord } from '../../lambda/core/org-record';
import { buildRemediation } from '../../lambda/core/remediation';

const org = validateOrgRecord({
  orgId: 'acme-prod',
  loginUrl: 'https://acme.my.salesforce.com',
  consumerKey: '3MVG9consumer.key',
  username: 'integration@acme.example',
  signingKeySecretId: 'token-broker/acme-prod',
});
const publicBaseUrl = 'https://broker.example.com/prod';

describe('approval links', () => {
  it('builds the broker link, the redirect URI and the KB-format authorize URL', () => {
    const mac = 'A'.repeat(43);
    expect(
      buildApprovalLink(publicBaseUrl, { orgId: 'acme-prod', expiresAt: 1_800_000_000, mac }),
    ).toBe(
      `https://broker.example.com/prod/oauth/authorize?org=acme-prod&exp=1800000000&sig=${mac}`,
    );
    expect(buildRedirectUri(`${publicBaseUrl}/`)).toBe(
      'https://broker.example.com/prod/oauth/callback',
    );
    expect(buildSalesforceAuthorizeUrl(org, buildRedirectUri(publicBaseUrl))).toBe(
      'https://acme.my.salesforce.com/services/oauth2/authorize?client_id=3MVG9consumer.key&redirect_uri=https%3A%2F%2Fbroker.example.com%2Fprod%2Foauth%2Fcallback&response_type=code',
    );
  });
});

describe('buildRemediation', () => {
  it.each([...SALESFORCE_CATEGORIES, ...BROKER_CATEGORIES, ...APPROVAL_CATEGORIES])(
    '%s has a summary, steps and a runbook anchor',
    (category) => {
      const remediation = buildRemediation(category, { org, publicBaseUrl });
      expect(remediation.summary.length).toBeGreaterThan(10);
      expect(remediation.steps.length).toBeGreaterThan(0);
      expect(remediation.runbook).toBe(`docs/runbook.md#${category}`);
      expect(JSON.stringify(remediation)).not.toMatch(/undefined|\{orgId\}\}/);
    },
  );

  it('gives consumer_not_approved both links and the integration-user warning', () => {
    const approvalLink =
      'https://broker.example.com/prod/oauth/authorize?org=acme-prod&exp=1&sig=x';
    const remediation = buildRemediation('consumer_not_approved', {
      org,
      publicBaseUrl,
      approvalLink,
    });
    expect(remediation.approvalLink).toBe(approvalLink);
    const raw = new URL(remediation.salesforceAuthorizeUrl ?? '');
    expect(`${raw.origin}${raw.pathname}`).toBe(
      'https://acme.my.salesforce.com/services/oauth2/authorize',
    );
    expect(Object.fromEntries(raw.searchParams)).toEqual({
      client_id: '3MVG9consumer.key',
      redirect_uri: 'https://broker.example.com/prod/oauth/callback',
      response_type: 'code',
    });
    const text = remediation.steps.join('\n');
    expect(remediation.summary).toContain('integration@acme.example');
    expect(text).toContain('approves the app only for the admin');
    expect(text).toContain('Admin approved users are pre-authorized');
    expect(text).toMatch(/profile or a permission set/);
  });

  it('omits links it cannot build', () => {
    const remediation = buildRemediation('consumer_not_approved');
    expect(remediation.approvalLink).toBeUndefined();
    expect(remediation.summary).toContain('the integration user');
    expect(
      buildRemediation('invalid_assertion', { org, publicBaseUrl, approvalLink: 'https://x' })
        .approvalLink,
    ).toBeUndefined();
    // Unsigned (the signer failed): the raw Salesforce URL still helps.
    const unsigned = buildRemediation('consumer_not_approved', { org, publicBaseUrl });
    expect(unsigned.approvalLink).toBeUndefined();
    expect(unsigned.salesforceAuthorizeUrl).toContain('/services/oauth2/authorize');
  });
});

describe('salesforce_unavailable by network cause', () => {
  const unavailable = (error_description: string, status = 0) =>
    buildRemediation('salesforce_unavailable', { org, salesforce: { status, error_description } });

  it.each([
    ['connection failed: ENOTFOUND', 'does not resolve (ENOTFOUND)'],
    ['connection failed: EAI_AGAIN', 'does not resolve (EAI_AGAIN)'],
    ['connection failed: ECONNREFUSED', 'Nothing accepts connections at acme.my.salesforce.com'],
    ['connection failed: ERR_TLS_CERT_ALTNAME_INVALID', 'TLS handshake'],
    ['connection failed: UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'TLS handshake'],
  ])('%s: names the cause and sends the operator to the login URL first', (detail, summary) => {
    const remediation = unavailable(detail);
    expect(remediation.summary).toContain(summary);
    expect(remediation.steps[0]).toContain(
      'token-broker orgs put --org acme-prod --update --login-url URL',
    );
    expect(remediation.steps.join(' ')).not.toContain('Retry after');
  });

  it.each([
    ['no answer within 5000 ms', 0],
    ['connection failed: ECONNRESET', 0],
  ])('%s: may be the path or Salesforce, so retry comes first', (detail, status) => {
    expect(unavailable(detail, status).steps[0]).toContain('Retry after the Retry-After delay');
  });

  it('a 5xx answer, or no detail at all, keeps the advice to wait', () => {
    const outage = unavailable('retry your request', 503);
    expect(outage).toEqual(buildRemediation('salesforce_unavailable', { org }));
    expect(outage.steps[0]).toContain('Retry after the Retry-After delay');
  });
});
