/**
 * The URLs of the approval loop. The redirect URI must be byte-identical wherever it appears
 * (authorize request, token request, docs, stack output), so it is built in exactly one place.
 */
import type { OrgRecord } from './types';

/** `{publicBaseUrl}/oauth/callback`: the Callback URL to register on the Connected App. */
export function buildRedirectUri(publicBaseUrl: string): string {
  return `${publicBaseUrl.replace(/\/+$/, '')}/oauth/callback`;
}

/**
 * What an approval link carries besides the broker's URL: the org, until when it may start an
 * approval, and the MAC (a KMS HMAC key's, in AWS) over both, so a link cannot be made up for
 * any org slug nor kept alive by editing its expiry.
 */
export interface SignedApprovalLink {
  readonly orgId: string;
  /** Seconds since the epoch. */
  readonly expiresAt: number;
  /** HMAC-SHA-256 of {@link buildApprovalLinkMessage}, base64url without padding. */
  readonly mac: string;
}

/** A base64url HMAC-SHA-256: 32 bytes, 43 characters. */
export const APPROVAL_LINK_MAC_PATTERN = /^[A-Za-z0-9_-]{43}$/;

/**
 * The MAC's bytes, or `undefined` unless `mac` is exactly the canonical base64url of 32 bytes: the
 * last character carries two unused bits, and a link with them changed is refused, not accepted.
 */
export function decodeApprovalLinkMac(mac: string): Buffer | undefined {
  if (!APPROVAL_LINK_MAC_PATTERN.test(mac)) return undefined;
  const bytes = Buffer.from(mac, 'base64url');
  return bytes.toString('base64url') === mac ? bytes : undefined;
}

/**
 * The bytes the MAC covers. Versioned and purpose-bound, so a MAC made with the same key for any
 * other message can never pass as an approval link's.
 */
export function buildApprovalLinkMessage(orgId: string, expiresAt: number): string {
  return `salesforce-token-broker/approval-link/v1\n${orgId}\n${expiresAt}`;
}

/** When a link minted at `now` (ms) stops working, in seconds since the epoch. */
export function decideApprovalLinkExpiry(now: number, lifetimeSeconds: number): number {
  return Math.floor(now / 1000) + lifetimeSeconds;
}

/**
 * Whether a link's expiry still admits it at `now` (ms). An expiry further out than the lifetime
 * allows is refused too: shortening the lifetime then shortens the links already sent.
 */
export function isApprovalLinkCurrent(
  expiresAt: number,
  now: number,
  lifetimeSeconds: number,
): boolean {
  const nowSeconds = now / 1000;
  return expiresAt > nowSeconds && expiresAt <= Math.ceil(nowSeconds) + lifetimeSeconds;
}

/** `{publicBaseUrl}/oauth/authorize?org=…&exp=…&sig=…`: the broker's approval link for an org. */
export function buildApprovalLink(publicBaseUrl: string, link: SignedApprovalLink): string {
  const query = new URLSearchParams({
    org: link.orgId,
    exp: String(link.expiresAt),
    sig: link.mac,
  });
  return `${publicBaseUrl.replace(/\/+$/, '')}/oauth/authorize?${query}`;
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
