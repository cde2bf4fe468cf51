/**
 * The URLs of the approval loop. The redirect URI must be byte-identical wherever it appears
 * (authorize request, token request, docs, stack output), so it is built in exactly one place.
 */
import type { OrgRecord } from './types';

/** `{publicBaseUrl}/oauth/callback`: the Callback URL to register on the Connected App. */
export function buildRedirectUri(publicBaseUrl: string): string {
  return `${publicBaseUrl.replace(/\/+$/, '')}/oauth/callback`;
}

/** `{publicBaseUrl}/oauth/authorize?org={orgId}`: the broker's own approval endpoint for an org. */
export function buildApprovalLink(publicBaseUrl: string, orgId: string): string {
  return `${publicBaseUrl.replace(/\/+$/, '')}/oauth/authorize?${new URLSearchParams({ org: orgId })}`;
}

/**
 * The raw authorize URL in the format of Salesforce's support article:
 * `{loginUrl}/services/oauth2/authorize?client_id=...&redirect_uri=...&response_type=code`.
 * Given for operators who must work by hand; the broker link is better because it also requests
 * the `refresh_token` scope, checks who approved and verifies the fix.
 */
export function buildSalesforceAuthorizeUrl(
  org: Pick<OrgRecord, 'loginUrl' | 'consumerKey'>,
  redirectUri: string,
): string {
  const query = new URLSearchParams({
    client_id: org.consumerKey,
    redirect_uri: redirectUri,
    response_type: 'code',
  });
  return `${org.loginUrl}/services/oauth2/authorize?${query}`;
}
