import { describe, expect, it } from 'vitest';
import { BrokerError } from '../../lambda/core/errors';
import { detectEnvironment, validateOrgRecord } from '../../lambda/core/org-record';

const base = {
  orgId: 'acme-prod',
  loginUrl: 'https://login.salesforce.com',
  consumerKey: '3MVG9abcdefghijklmnop.QRSTUV',
  username: 'integration@acme.example',
  signingKeySecretId: 'token-broker/acme-prod',
};

function problemsOf(input: unknown): string {
  try {
    validateOrgRecord(input);
  } catch (error) {
    expect(error).toBeInstanceOf(BrokerError);
    expect((error as BrokerError).category).toBe('invalid_request');
    return (error as BrokerError).message;
  }
  throw new Error('expected a validation error');
}

describe('validateOrgRecord', () => {
  it('takes the client credentials grant with a consumer secret on a My Domain, no signing key needed', () => {
    const { signingKeySecretId: _unused, ...noKey } = base;
    expect(
      validateOrgRecord({
        ...noKey,
        loginUrl: 'https://acme.my.salesforce.com',
        grant: 'client_credentials',
        consumerSecretId: 'token-broker/acme-consumer',
      }),
    ).toMatchObject({
      grant: 'client_credentials',
      consumerSecretId: 'token-broker/acme-consumer',
    });
    expect(problemsOf(noKey)).toContain('signingKeySecretId is required for grant jwt_bearer');
  });

  it.each([
    'https://login.salesforce.com',
    'https://test.salesforce.com',
    'http://127.0.0.1:4010/hosts/test.salesforce.com',
  ])('refuses the client credentials grant on the shared login host %s', (loginUrl) => {
    const problems = problemsOf({ ...base, loginUrl, grant: 'client_credentials' });
    expect(problems).toContain('the client credentials grant works only on the org');
    expect(problems).toContain('consumerSecretId is required for grant client_credentials');
  });

  it('refuses an unknown grant', () => {
    expect(problemsOf({ ...base, grant: 'password' })).toContain(
      'grant must be one of jwt_bearer, client_credentials',
    );
  });

  it('applies the documented defaults', () => {
    expect(validateOrgRecord(base)).toEqual({
      ...base,
      environment: 'production',
      audience: 'https://login.salesforce.com',
      grant: 'jwt_bearer',
      tokenTtlSeconds: 1800,
      callers: [],
    });
  });

  it.each([
    ['https://test.salesforce.com', 'sandbox', 'https://test.salesforce.com'],
    ['https://acme--uat.sandbox.my.salesforce.com/', 'sandbox', 'https://test.salesforce.com'],
    ['https://acme--uat.my.salesforce.com', 'sandbox', 'https://test.salesforce.com'],
    ['https://acme.my.salesforce.com', 'production', 'https://login.salesforce.com'],
    ['https://acme.my.site.com', 'site', 'https://acme.my.site.com'],
    ['https://acme.force.com/customers', 'site', 'https://acme.force.com/customers'],
    ['https://portal.acme.example/partners/', 'site', 'https://portal.acme.example/partners'],
    [
      'http://127.0.0.1:4010/hosts/login.salesforce.com',
      'production',
      'https://login.salesforce.com',
    ],
    ['http://127.0.0.1:4010/hosts/test.salesforce.com', 'sandbox', 'https://test.salesforce.com'],
    ['http://localhost:4010/hosts/acme.my.site.com', 'site', 'https://acme.my.site.com'],
    ['http://127.0.0.1:4010', 'production', 'https://login.salesforce.com'],
  ])('%s -> %s, aud %s', (loginUrl, environment, audience) => {
    const record = validateOrgRecord({ ...base, loginUrl });
    expect(record.environment).toBe(environment);
    expect(record.audience).toBe(audience);
    expect(record.loginUrl.endsWith('/')).toBe(false);
    expect(detectEnvironment(record.loginUrl)).toBe(environment);
  });

  it('lets environment and audience be set explicitly (the emulator on loopback)', () => {
    const record = validateOrgRecord({
      ...base,
      loginUrl: 'http://127.0.0.1:4010/anything',
      environment: 'sandbox',
      audience: 'https://test.salesforce.com',
    });
    expect(record).toMatchObject({
      environment: 'sandbox',
      audience: 'https://test.salesforce.com',
    });
    expect(validateOrgRecord({ ...base, environment: 'sandbox' }).audience).toBe(
      'https://test.salesforce.com',
    );
  });

  it('stores callers normalised and deduplicated', () => {
    const record = validateOrgRecord({
      ...base,
      callers: [
        'arn:aws:sts::123456789012:assumed-role/Fulfilment/s1',
        'arn:aws:iam::123456789012:role/Fulfilment',
      ],
    });
    expect(record.callers).toEqual(['arn:aws:iam::123456789012:role/Fulfilment']);
  });

  it.each([
    [
      { ...base, loginUrl: 'http://login.salesforce.com' },
      'loginUrl must use https (http is accepted only for 127.0.0.1/localhost)',
    ],
    [{ ...base, loginUrl: 'login.salesforce.com' }, 'loginUrl must be an absolute URL'],
    [
      { ...base, loginUrl: 'https://login.salesforce.com/services/oauth2/token' },
      'drop /services/oauth2',
    ],
    [
      { ...base, loginUrl: 'https://login.salesforce.com?x=1' },
      'must not have a query or fragment',
    ],
    [{ ...base, loginUrl: 'https://user:pw@login.salesforce.com' }, 'must not contain credentials'],
    [{ ...base, orgId: 'Acme_Prod' }, 'orgId must be a lowercase slug'],
    [{ ...base, orgId: '-acme' }, 'orgId must be a lowercase slug'],
    [{ ...base, username: 'integration' }, 'username must be a Salesforce username'],
    [{ ...base, consumerKey: 'has space' }, 'consumerKey must be the app consumer key'],
    [{ ...base, tokenTtlSeconds: 10 }, 'tokenTtlSeconds must be an integer from 60 to 86400'],
    [{ ...base, tokenTtlSeconds: '1800' }, 'tokenTtlSeconds must be an integer'],
    [{ ...base, environment: 'staging' }, 'environment must be one of production, sandbox, site'],
    [{ ...base, audience: 'login.salesforce.com' }, 'audience must be an absolute URL'],
    [{ ...base, audience: 'https://login.salesforce.com/' }, 'audience must not end with a slash'],
    [{ ...base, callers: ['*'] }, 'callers: "*" is not an IAM role or user ARN'],
    [{ ...base, callers: 'arn:aws:iam::123456789012:role/R' }, 'callers must be a list'],
    [{ ...base, audiance: 'x' }, 'unknown field "audiance"'],
  ])('rejects %j with a clear reason', (input, reason) => {
    expect(problemsOf(input)).toContain(reason);
  });

  it('names every missing field at once', () => {
    const message = problemsOf({});
    for (const field of ['orgId', 'loginUrl', 'consumerKey', 'username', 'signingKeySecretId']) {
      expect(message).toContain(`${field} is required`);
    }
    expect(problemsOf(null)).toContain('expected a JSON object');
  });
});
