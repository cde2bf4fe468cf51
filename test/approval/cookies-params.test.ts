import { describe, expect, it } from 'vitest';
import {
  readCookie,
  selectBindingCookiePolicy,
  serializeBindingCookie,
} from '../../lambda/core/cookies';
import { parseAuthorizeQuery, parseCallbackQuery } from '../../lambda/core/oauth-params';
import { generateRandomToken } from '../../lambda/core/oauth-state';

describe('binding cookie', () => {
  it('is __Host- prefixed, Secure, HttpOnly, SameSite=Lax, Path=/ over https', () => {
    const policy = selectBindingCookiePolicy('https://broker.example.com/prod');
    expect(serializeBindingCookie(policy, 'v', 600)).toBe(
      '__Host-token-broker-approval=v; Path=/; Max-Age=600; HttpOnly; Secure; SameSite=Lax',
    );
  });

  it('drops Secure and the prefix on an http loopback base URL', () => {
    const policy = selectBindingCookiePolicy('http://127.0.0.1:3000');
    expect(serializeBindingCookie(policy, 'v', 600)).toBe(
      'token-broker-approval=v; Path=/; Max-Age=600; HttpOnly; SameSite=Lax',
    );
  });

  it('reads a cookie among others and across header values', () => {
    expect(readCookie(['a=1; token-broker-approval=xyz; b=2'], 'token-broker-approval')).toBe(
      'xyz',
    );
    expect(readCookie(['a=1', 'token-broker-approval=q'], 'token-broker-approval')).toBe('q');
    expect(readCookie(['token-broker-approvalx=1; junk'], 'token-broker-approval')).toBeUndefined();
  });
});

describe('OAuth route parameters', () => {
  const mac = 'A'.repeat(43);
  const link = { org: ['acme-prod'], exp: ['1800000000'], sig: [mac] };
  it('accepts a link: one lowercase org id, an expiry in seconds, a 43-character MAC', () => {
    expect(parseAuthorizeQuery(link)).toEqual({
      ok: true,
      value: { orgId: 'acme-prod', expiresAt: 1_800_000_000, mac },
    });
  });

  it.each([
    [null, 'required'],
    [{ ...link, org: [''] }, 'required'],
    [{ org: ['acme-prod'] }, '"exp" is required'],
    [{ ...link, sig: undefined }, '"sig" is required'],
    [{ ...link, org: ['a', 'b'] }, 'repeated'],
    [{ ...link, org: ['x'.repeat(65)] }, 'too long'],
    [{ ...link, org: ['ACME'] }, 'lowercase'],
    [{ ...link, org: ['<script>'] }, 'lowercase'],
    [{ ...link, org: ['a\nb'] }, 'control'],
    [{ ...link, exp: ['-1'] }, 'seconds'],
    [{ ...link, exp: ['1e9'] }, 'seconds'],
    [{ ...link, exp: ['1'.repeat(13)] }, 'too long'],
    [{ ...link, sig: ['A'.repeat(42)] }, 'MAC'],
    [{ ...link, sig: [`${'A'.repeat(42)}=`] }, 'MAC'],
  ])('refuses %j', (query, message) => {
    const parsed = parseAuthorizeQuery(query);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.message).toContain(message);
  });

  it('parses a success and an error callback', () => {
    const state = generateRandomToken();
    expect(parseCallbackQuery({ code: ['aPrx%3D'], state: [state] })).toEqual({
      ok: true,
      value: {
        state,
        stateWellFormed: true,
        code: 'aPrx%3D',
        error: undefined,
        errorDescription: undefined,
      },
    });
    const denied = parseCallbackQuery({
      error: ['access_denied'],
      error_description: ['end-user denied authorization'],
      state: ['<b>'],
    });
    expect(denied).toMatchObject({
      ok: true,
      value: { stateWellFormed: false, error: 'access_denied' },
    });
  });

  it.each([
    [{ code: ['c'], error: ['e'] }, 'both'],
    [{ state: ['s'] }, 'neither'],
    [null, 'neither'],
    [{ code: ['c', 'd'] }, 'repeated'],
    [{ code: ['c'], state: ['s', 's'] }, 'repeated'],
    [{ code: ['c'.repeat(1025)] }, 'too long'],
    [{ error: ['e'], error_description: ['d'.repeat(1025)] }, 'too long'],
    [{ error: ['e\u0000'] }, 'control'],
  ])('refuses callback %j', (query, message) => {
    const parsed = parseCallbackQuery(query);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.message).toContain(message);
  });
});
