import { describe, expect, it } from 'vitest';
import {
  checkAudience,
  checkCertificateExpiry,
  checkCertificateMatchesKey,
  checkConsumerKey,
  checkRedirectUri,
  checkSecretCustody,
  checkSecretPrefix,
} from '../../cli/doctor-checks';
import { resolveSecretPrefix } from '../../cli/options';
import type { CertificateInfo } from '../../lambda/core/ports';
import type { OrgRecord } from '../../lambda/core/types';

const base: OrgRecord = {
  orgId: 'acme',
  loginUrl: 'https://login.salesforce.com',
  environment: 'production',
  audience: 'https://login.salesforce.com',
  consumerKey: '3MVG9abcdefghijklmnopqrstuvwxyz0123456789',
  username: 'integration@acme.example',
  signingKeySecretId: 'keys/acme',
  tokenTtlSeconds: 1800,
  callers: [],
};

const certificate = (notAfter: string, matchesPrivateKey = true): CertificateInfo => ({
  fingerprintSha256: 'ab'.repeat(32),
  notAfter,
  subject: 'CN=x',
  matchesPrivateKey,
});

describe('checkAudience', () => {
  it.each([
    ['https://login.salesforce.com', 'https://login.salesforce.com', 'pass'],
    ['https://acme.my.salesforce.com', 'https://login.salesforce.com', 'pass'],
    ['https://test.salesforce.com', 'https://test.salesforce.com', 'pass'],
    ['https://acme--uat.sandbox.my.salesforce.com', 'https://test.salesforce.com', 'pass'],
    ['https://test.salesforce.com', 'https://login.salesforce.com', 'fail'],
    ['https://acme--uat.sandbox.my.salesforce.com', 'https://login.salesforce.com', 'fail'],
    ['https://login.salesforce.com', 'https://test.salesforce.com', 'fail'],
    ['https://acme.my.salesforce.com', 'https://acme.my.salesforce.com', 'fail'],
    ['https://acme.my.site.com/partners', 'https://acme.my.site.com/partners', 'pass'],
    ['https://acme.my.site.com/partners', 'https://login.salesforce.com', 'warn'],
    ['http://127.0.0.1:4010/hosts/test.salesforce.com', 'https://login.salesforce.com', 'fail'],
  ])('login %s with aud %s: %s', (loginUrl, audience, verdict) => {
    expect(checkAudience({ ...base, loginUrl, audience }).verdict).toBe(verdict);
  });

  it('names the fix for a My Domain audience', () => {
    const result = checkAudience({
      ...base,
      loginUrl: 'https://acme--uat.sandbox.my.salesforce.com',
      audience: 'https://acme--uat.sandbox.my.salesforce.com',
    });
    expect(result.detail).toContain('use https://test.salesforce.com');
  });
});

describe('certificate checks', () => {
  const now = Date.parse('2026-06-01T00:00:00Z');
  it('passes a matching certificate and fails a foreign one', () => {
    expect(checkCertificateMatchesKey(certificate('2027-01-01T00:00:00Z')).verdict).toBe('pass');
    expect(checkCertificateMatchesKey(certificate('2027-01-01T00:00:00Z', false)).verdict).toBe(
      'fail',
    );
    expect(checkCertificateMatchesKey(undefined).verdict).toBe('warn');
  });

  it('fails expired, warns under 30 days, passes otherwise', () => {
    expect(checkCertificateExpiry(certificate('2026-05-31T23:59:59Z'), now).verdict).toBe('fail');
    expect(checkCertificateExpiry(certificate('2026-06-30T00:00:00Z'), now)).toMatchObject({
      verdict: 'warn',
      detail: expect.stringContaining('in 29 days'),
    });
    expect(checkCertificateExpiry(certificate('2026-07-02T00:00:00Z'), now).verdict).toBe('pass');
    expect(checkCertificateExpiry(undefined, now).verdict).toBe('skip');
  });
});

describe('checkConsumerKey', () => {
  it.each([
    [`3MVG9${'a'.repeat(80)}`, 'pass'],
    ['3MVG9vO8eREIH4qVLupwMC.uukJclLGmm_orOBSmTWJi6CM8zdA6FoxK', 'pass'],
    ['A1B2C3D4'.repeat(8), 'fail'],
    ['1234567890123456789', 'fail'],
    ['my-app-key', 'warn'],
    ['3MVG9short', 'warn'],
  ])('%s: %s', (key, verdict) => {
    expect(checkConsumerKey(key).verdict).toBe(verdict);
  });
});

describe('checkRedirectUri', () => {
  const baseUrl = 'https://abc.execute-api.eu-west-1.amazonaws.com/prod';
  const expected = `${baseUrl}/oauth/callback`;
  it('compares the registered Callback URL byte for byte and says what differs', () => {
    expect(checkRedirectUri(baseUrl, expected).verdict).toBe('pass');
    expect(checkRedirectUri(baseUrl, `${expected}/`).detail).toContain('trailing slash');
    expect(checkRedirectUri(baseUrl, expected.toUpperCase()).detail).toContain('letter case');
    expect(checkRedirectUri(baseUrl, expected.replace('https', 'http')).detail).toContain('scheme');
    expect(checkRedirectUri(baseUrl, 'https://elsewhere.example/cb').verdict).toBe('fail');
  });

  it('states the exact value to register, or skips without a base URL', () => {
    expect(checkRedirectUri(`${baseUrl}/`, undefined)).toMatchObject({
      verdict: 'pass',
      detail: expect.stringContaining(`register exactly ${expected} `),
    });
    expect(checkRedirectUri('http://broker.example.com', undefined).verdict).toBe('fail');
    expect(checkRedirectUri('http://127.0.0.1:3000', undefined).verdict).toBe('pass');
    expect(checkRedirectUri(undefined, undefined).verdict).toBe('skip');
  });
});

describe('checkSecretPrefix', () => {
  const prefix = 'salesforce-token-broker/';
  const arn = (name: string) =>
    `arn:aws:secretsmanager:eu-west-1:123456789012:secret:${name}-AbCdEf`;

  it.each([
    [{ signingKeySecretId: 'salesforce-token-broker/acme' }, 'pass'],
    [{ signingKeySecretId: arn('salesforce-token-broker/acme') }, 'pass'],
    [
      {
        signingKeySecretId: 'salesforce-token-broker/acme',
        consumerSecretId: 'salesforce-token-broker-consumer/acme',
      },
      'pass',
    ],
    [
      // Under the signing prefix: the OAuth function, which alone needs it, may not read there.
      {
        signingKeySecretId: 'salesforce-token-broker/acme',
        consumerSecretId: 'salesforce-token-broker/acme-consumer',
      },
      'warn',
    ],
    [{ signingKeySecretId: 'keys/acme' }, 'warn'],
    [{ signingKeySecretId: arn('keys/salesforce-token-broker/acme') }, 'warn'],
    [{ signingKeySecretId: 'salesforce-token-broker-acme' }, 'warn'],
    [
      { signingKeySecretId: 'salesforce-token-broker/acme', consumerSecretId: 'other/consumer' },
      'warn',
    ],
  ] as const)('%j -> %s', (ids, verdict) => {
    expect(checkSecretPrefix(ids, prefix).verdict).toBe(verdict);
  });

  it('names every secret outside the prefix and the fix', () => {
    const result = checkSecretPrefix(
      { signingKeySecretId: 'keys/acme', consumerSecretId: 'keys/acme-consumer' },
      prefix,
    );
    expect(result.detail).toContain(
      'signingKeySecretId keys/acme is outside salesforce-token-broker/, which only the token function reads',
    );
    expect(result.detail).toContain(
      'consumerSecretId keys/acme-consumer is outside salesforce-token-broker-consumer/, which only the OAuth function reads',
    );
    expect(result.detail).toContain('AccessDenied');
  });
});

describe('checkSecretCustody', () => {
  it('passes a secret under a customer-managed key with a resource policy, and says how to move an existing one', () => {
    const key = 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';
    expect(checkSecretCustody('s', { kmsKeyId: key, resourcePolicy: '{}' }).verdict).toBe('pass');
    const legacy = checkSecretCustody('s', { kmsKeyId: undefined, resourcePolicy: undefined });
    expect(legacy.verdict).toBe('warn');
    expect(legacy.detail).toContain('aws secretsmanager update-secret --secret-id s --kms-key-id');
    expect(legacy.detail).toContain('keys create --reader-role');
  });
});

describe('resolveSecretPrefix', () => {
  it('takes the flag, then TOKEN_BROKER_SECRET_PREFIX, then the stack default', () => {
    const env = { TOKEN_BROKER_SECRET_PREFIX: 'from-env/' };
    expect(resolveSecretPrefix('flag/', env)).toBe('flag/');
    expect(resolveSecretPrefix(undefined, env)).toBe('from-env/');
    expect(resolveSecretPrefix(undefined, {})).toBe('salesforce-token-broker/');
  });

  it('refuses a prefix the stack would refuse', () => {
    for (const bad of ['no-slash', 'sp ace/', '']) {
      expect(() => resolveSecretPrefix(bad, {})).toThrow(/must end in "\/"/);
    }
  });
});
