import { describe, expect, it } from 'vitest';
import {
  decideApprovalLinkRefused,
  decideAuthorizeError,
  decideCodeExchangeFailure,
  decideInvalidRequest,
  decideStateFailure,
  decideVerification,
} from '../../lambda/core/approval-outcome';
import { renderApprovalPage } from '../../lambda/core/approval-page';
import { BrokerError } from '../../lambda/core/errors';
import { CONTENT_SECURITY_POLICY, escapeHtml } from '../../lambda/core/html';
import type { OrgRecord } from '../../lambda/core/types';

const org: OrgRecord = {
  orgId: 'acme',
  loginUrl: 'https://login.salesforce.com',
  environment: 'production',
  audience: 'https://login.salesforce.com',
  consumerKey: '3MVG9test',
  username: 'Integration@Acme.example',
  signingKeySecretId: 'acme-key',
  tokenTtlSeconds: 1800,
  callers: [],
};
const link = 'https://broker.example.com/oauth/authorize?org=acme';
const notApproved = new BrokerError('consumer_not_approved', "user hasn't approved this consumer", {
  salesforce: {
    status: 400,
    error: 'invalid_grant',
    error_description: "user hasn't approved this consumer",
  },
  remediation: {
    summary: 'The integration user has not approved the app.',
    steps: ['Approve as the integration user.'],
  },
});
const verify = (approver: string, scopes: string[], ok: boolean) =>
  decideVerification({
    org,
    approver,
    grantedScopes: scopes,
    jwt: ok ? { ok: true } : { ok: false, error: notApproved },
    approvalLink: link,
  });

describe('approval outcome', () => {
  it('reports verified when the integration user approved (case-insensitively) and JWT works', () => {
    const outcome = verify('integration@acme.example', ['api', 'refresh_token'], true);
    expect(outcome).toMatchObject({
      kind: 'verified',
      succeeded: true,
      httpStatus: 200,
      category: undefined,
    });
    expect(outcome.steps).toEqual([]);
  });

  it('still reports verified, with a note, when another user approved but JWT works', () => {
    const outcome = verify('admin@acme.example', ['api', 'refresh_token'], true);
    expect(outcome.kind).toBe('verified');
    expect(outcome.steps.join()).toContain('pre-authorizes Integration@Acme.example');
  });

  it('explains both fixes when another user approved and JWT still fails', () => {
    const outcome = verify('admin@acme.example', ['api', 'refresh_token'], false);
    expect(outcome).toMatchObject({
      kind: 'approver_mismatch',
      category: 'approver_mismatch',
      httpStatus: 400,
    });
    expect(outcome.summary).toContain(
      'You approved as admin@acme.example; the broker signs as Integration@Acme.example',
    );
    expect(outcome.steps[0]).toMatch(/^Either: .*log in to Salesforce as Integration@Acme.example/);
    expect(outcome.steps[1]).toMatch(
      /^Or: .*Admin approved users are pre-authorized.*profile or a permission set/,
    );
  });

  it('names the missing refresh_token scope', () => {
    const outcome = verify('integration@acme.example', ['api'], false);
    expect(outcome).toMatchObject({
      kind: 'refresh_token_scope_missing',
      category: 'consumer_not_approved',
    });
    expect(outcome.summary).toContain('did not grant the refresh_token scope');
  });

  it('shows the JWT failure remediation when the right user approved with the right scopes', () => {
    const outcome = verify('integration@acme.example', ['api', 'offline_access'], false);
    expect(outcome).toMatchObject({
      kind: 'jwt_still_failing',
      category: 'consumer_not_approved',
      httpStatus: 502,
      steps: ['Approve as the integration user.'],
      salesforce: notApproved.salesforce,
    });
  });

  it.each([
    ['access_denied', 'approval_denied', 'approval_denied'],
    ['OAUTH_APP_BLOCKED', 'approval_blocked', 'approval_blocked'],
    ['OAUTH_APP_ACCESS_DENIED', 'user_not_admin_approved', 'user_not_admin_approved'],
    ['OAUTH_EC_APP_NOT_FOUND', 'app_not_installed', 'app_not_installed'],
    ['something_new', 'authorize_error', 'unexpected_response'],
  ])('maps Salesforce error %s to %s', (error, kind, category) => {
    const outcome = decideAuthorizeError(org, { error, errorDescription: 'x' }, link);
    expect(outcome).toMatchObject({
      kind,
      category,
      succeeded: false,
      orgId: 'acme',
      approvalLink: link,
    });
    expect(outcome.salesforce).toEqual({ status: 0, error, error_description: 'x' });
  });

  it('maps state, request, org and exchange failures to their categories and statuses', () => {
    expect(decideStateFailure('expired')).toMatchObject({
      category: 'state_invalid',
      httpStatus: 400,
    });
    expect(decideInvalidRequest('bad')).toMatchObject({
      category: 'invalid_request',
      httpStatus: 400,
    });
    expect(decideApprovalLinkRefused()).toMatchObject({
      category: 'invalid_request',
      httpStatus: 400,
    });
    const exchange = decideCodeExchangeFailure(
      org,
      new BrokerError('code_exchange_failed', 'Salesforce refused the authorization code.', {
        salesforce: {
          status: 400,
          error: 'invalid_grant',
          error_description: 'expired authorization code',
        },
      }),
      link,
    );
    expect(exchange).toMatchObject({ kind: 'code_exchange_failed', httpStatus: 502 });
  });
});

describe('approval page', () => {
  it('escapes every reflected value', () => {
    expect(escapeHtml(`<a href="x" onclick='y'>&`)).toBe(
      '&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;',
    );
    const hostile = '<script>alert(1)</script><img src=x onerror=alert(2)>';
    const outcome = decideAuthorizeError(
      org,
      { error: hostile, errorDescription: `"${hostile}` },
      link,
    );
    const html = renderApprovalPage(outcome, { requestId: hostile });
    expect(html).not.toContain('<script>alert');
    expect(html).not.toContain('<img');
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
  });

  it('allows its one inline style by hash and nothing else', () => {
    const html = renderApprovalPage(
      verify('integration@acme.example', ['api', 'refresh_token'], true),
      {
        requestId: 'r1',
      },
    );
    expect(CONTENT_SECURITY_POLICY).toMatch(
      /^default-src 'none'; style-src 'sha256-[A-Za-z0-9+/]+=*'/,
    );
    expect(html).not.toMatch(/<script|<link|src=|@import|url\(/);
    expect(html).toContain('Approved and verified');
    expect(html).toContain('Granted scopes</dt><dd>api refresh_token');
  });
});
