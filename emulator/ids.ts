/**
 * Salesforce-shaped identifiers and secrets: 15/18-character record IDs, access tokens of the
 * form `{orgId15}!{opaque}`, authorization codes that end in `=` (so clients that forget to
 * URL-encode them break here as they would against Salesforce).
 */
import { randomBytes } from 'node:crypto';

const ALPHANUMERIC = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const CHECKSUM_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ012345';

function randomAlphanumeric(length: number): string {
  const bytes = randomBytes(length);
  let out = '';
  for (const byte of bytes) out += ALPHANUMERIC[byte % ALPHANUMERIC.length];
  return out;
}

/** Appends Salesforce's case-safe 3-character suffix to a 15-character ID. */
export function toId18(id15: string): string {
  let suffix = '';
  for (let chunk = 0; chunk < 3; chunk++) {
    let bits = 0;
    for (let i = 0; i < 5; i++) {
      const char = id15[chunk * 5 + i] ?? '';
      if (char >= 'A' && char <= 'Z') bits |= 1 << i;
    }
    suffix += CHECKSUM_ALPHABET[bits];
  }
  return id15 + suffix;
}

/** A new 18-character record ID with the given 3-character key prefix (`00D` org, `005` user). */
export function newRecordId(prefix: string): string {
  return toId18(`${prefix}${randomAlphanumeric(12)}`);
}

/** An access token shaped like Salesforce's: the 15-character org ID, `!`, an opaque part. */
export function newAccessToken(orgId18: string): string {
  return `${orgId18.slice(0, 15)}!AQ${randomBytes(72).toString('base64url').replaceAll('-', '.')}`;
}

export function newRefreshToken(): string {
  return `5Aep861${randomBytes(60).toString('base64url').replaceAll('-', '.')}`;
}

/** Authorization codes carry `==` padding, which must be URL-encoded in the redirect. */
export function newAuthorizationCode(): string {
  return `aPrx${randomBytes(48).toString('base64url')}==`;
}

export function newConsumerKey(): string {
  return `3MVG9${randomBytes(60).toString('base64url').replaceAll('-', '.').replaceAll('_', '.')}`;
}

export function newConsumerSecret(): string {
  return randomBytes(32).toString('hex').toUpperCase();
}

/** An opaque random handle for server-side state (pending authorizations). */
export function newHandle(): string {
  return randomBytes(24).toString('base64url');
}
