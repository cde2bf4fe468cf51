import { createPublicKey, sign } from 'node:crypto';
import { decodeProtectedHeader, jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import {
  ASSERTION_LIFETIME_SECONDS,
  buildAssertionClaims,
  signAssertion,
} from '../../lambda/core/assertion';
import { signingMaterial } from '../support/keys';

const org = {
  consumerKey: '3MVG9consumer',
  username: 'integration@acme.example',
  audience: 'https://test.salesforce.com',
};

describe('assertion', () => {
  it('builds seconds-based claims with exp within 3 minutes', () => {
    const claims = buildAssertionClaims(org, 1_718_636_305_999, 'jti-1');
    expect(claims).toEqual({
      iss: '3MVG9consumer',
      sub: 'integration@acme.example',
      aud: 'https://test.salesforce.com',
      iat: 1_718_636_305,
      exp: 1_718_636_305 + ASSERTION_LIFETIME_SECONDS,
      jti: 'jti-1',
    });
    expect(claims.exp - claims.iat).toBeLessThanOrEqual(180);
  });

  it('uses a fresh random jti each time', () => {
    const a = buildAssertionClaims(org, 0);
    const b = buildAssertionClaims(org, 0);
    expect(a.jti).not.toBe(b.jti);
    expect(a.jti).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('signs RS256 with typ JWT, verifiable with the certificate public key', async () => {
    const material = await signingMaterial('assertion');
    const signer = {
      sign: async (data: Uint8Array) => sign('sha256', data, material.privateKeyPem),
    };
    const claims = buildAssertionClaims(org, Date.now());
    const jwt = await signAssertion(claims, signer);
    expect(decodeProtectedHeader(jwt)).toEqual({ alg: 'RS256', typ: 'JWT' });
    const { payload } = await jwtVerify(jwt, createPublicKey(material.certificatePem), {
      algorithms: ['RS256'],
      audience: org.audience,
      issuer: org.consumerKey,
      subject: org.username,
    });
    expect(payload).toEqual(claims);
  });
});
