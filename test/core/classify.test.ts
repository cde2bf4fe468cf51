import { describe, expect, it } from 'vitest';
import { SALESFORCE_CATEGORIES } from '../../lambda/core/categories';
import { classifyTokenAnswer, type TokenEndpointAnswer } from '../../lambda/core/classify';

const json = (status: number, body: unknown): TokenEndpointAnswer => ({
  kind: 'response',
  status,
  contentType: 'application/json;charset=UTF-8',
  body: JSON.stringify(body),
});

// Every Salesforce answer of docs/contracts.md#salesforce-error-signals, with the category it must get.
const KNOWN: readonly [string, number, string, string][] = [
  ['consumer_not_approved', 400, 'invalid_grant', "user hasn't approved this consumer"],
  ['consumer_not_approved', 400, 'invalid_grant', 'user has not approved this consumer'],
  [
    'user_not_admin_approved',
    400,
    'invalid_app_access',
    'user is not admin approved to access this app',
  ],
  [
    'user_not_admin_approved',
    400,
    'OAUTH_APP_ACCESS_DENIED',
    'user is not admin approved to access this app',
  ],
  ['user_not_admin_approved', 400, 'invalid_app_access', ''],
  ['app_not_installed', 400, 'invalid_grant', 'External client app is not installed in this org'],
  ['app_not_installed', 400, 'OAUTH_EC_APP_NOT_FOUND', ''],
  ['app_not_installed', 400, 'invalid_client', 'app must be installed into org'],
  ['invalid_assertion', 400, 'invalid_grant', 'invalid assertion'],
  ['audience_invalid', 400, 'invalid_grant', 'audience is invalid'],
  ['audience_invalid', 400, 'invalid_grant', 'Audience validation failed'],
  ['assertion_expired', 400, 'invalid_grant', 'expired authorization code'],
  ['unknown_consumer_key', 400, 'invalid_client_id', 'client identifier invalid'],
  ['user_inactive', 400, 'invalid_grant', 'inactive user'],
  ['user_inactive', 400, 'inactive_user', 'user is inactive'],
  ['ip_restricted', 400, 'invalid_grant', 'ip restricted'],
  ['ip_restricted', 400, 'invalid_grant', 'IP restricted or invalid login hours'],
  ['org_inactive', 400, 'inactive_org', 'organization is locked, closed, or suspended'],
  ['login_rate_exceeded', 400, 'rate_limit_exceeded', 'number of logins exceeded'],
  ['login_rate_exceeded', 403, 'invalid_grant', 'Login Rate Exceeded'],
  ['salesforce_unavailable', 500, 'unknown_error', 'retry your request'],
  ['salesforce_unavailable', 400, 'unknown_error', 'retry your request'],
  ['salesforce_unavailable', 503, 'server_error', 'anything at all'],
  ['unexpected_response', 400, 'unsupported_grant_type', 'grant type not supported'],
  ['unexpected_response', 400, 'invalid_grant', 'authentication failure'],
  ['unexpected_response', 400, 'invalid_grant', 'activation secret invalid'],
  ['invalid_client_credentials', 400, 'invalid_client', 'invalid client credentials'],
  ['client_credentials_user_missing', 400, 'invalid_grant', 'no client credentials user enabled'],
  ['my_domain_required', 400, 'invalid_grant', 'request not supported on this domain'],
];

describe('classifyTokenAnswer', () => {
  it.each(KNOWN)('%s <- %i %s / %s', (category, status, error, description) => {
    const result = classifyTokenAnswer(json(status, { error, error_description: description }));
    expect(result).toEqual({
      ok: false,
      category,
      salesforce: { status, error, error_description: description },
    });
  });

  it('covers every Salesforce category with at least one real string', () => {
    const covered = new Set(KNOWN.map(([category]) => category));
    for (const category of SALESFORCE_CATEGORIES) expect(covered).toContain(category);
  });

  it('is case- and whitespace-insensitive on descriptions', () => {
    const result = classifyTokenAnswer(
      json(400, {
        error: 'invalid_grant',
        error_description: "  User Hasn't Approved This Consumer ",
      }),
    );
    expect(result.ok || result.category).toBe('consumer_not_approved');
  });

  it('keeps an unknown error verbatim', () => {
    const result = classifyTokenAnswer(
      json(400, { error: 'brand_new', error_description: 'something Salesforce never said' }),
    );
    expect(result).toEqual({
      ok: false,
      category: 'unexpected_response',
      salesforce: {
        status: 400,
        error: 'brand_new',
        error_description: 'something Salesforce never said',
      },
    });
  });

  it('accepts the documented success body and keeps optional fields', () => {
    const body = {
      access_token: '00Dxx0000001gPL!AR8AQJXg',
      scope: 'web openid api id',
      instance_url: 'https://yourInstance.salesforce.com',
      id: 'https://yourInstance.salesforce.com/id/00Dxx0000001gPLEAY/005xx000001SwiUAAS',
      token_type: 'Bearer',
      issued_at: 1718636305078,
      signature: 'ignored',
    };
    const result = classifyTokenAnswer(json(200, body));
    expect(result).toEqual({
      ok: true,
      token: {
        access_token: body.access_token,
        scope: body.scope,
        instance_url: body.instance_url,
        id: body.id,
        token_type: 'Bearer',
        issued_at: '1718636305078',
      },
    });
  });

  it('never echoes an incomplete success body (it may hold a token)', () => {
    const result = classifyTokenAnswer(json(200, { access_token: 'SECRET-TOKEN-VALUE' }));
    expect(result.ok).toBe(false);
    expect(JSON.stringify(result)).not.toContain('SECRET-TOKEN-VALUE');
    expect(result.ok || result.category).toBe('unexpected_response');
  });

  it('treats the HTML maintenance page as unavailable, whatever the status', () => {
    const page =
      '<!DOCTYPE html><html><head><title>Salesforce - Down For Maintenance</title></head><body>We are down for maintenance.</body></html>';
    for (const status of [200, 503]) {
      const result = classifyTokenAnswer({
        kind: 'response',
        status,
        contentType: 'text/html;charset=UTF-8',
        body: page,
      });
      expect(result).toEqual({
        ok: false,
        category: 'salesforce_unavailable',
        salesforce: { status, error_description: 'HTML page: Salesforce - Down For Maintenance' },
      });
    }
  });

  it('keeps an unrelated HTML 404 as unexpected, with its title', () => {
    const result = classifyTokenAnswer({
      kind: 'response',
      status: 404,
      contentType: 'text/html',
      body: '<html><head><title>Not Found</title></head><body>nope</body></html>',
    });
    expect(result).toEqual({
      ok: false,
      category: 'unexpected_response',
      salesforce: { status: 404, error_description: 'HTML page: Not Found' },
    });
  });

  it('maps a plain 5xx, a timeout and a connection error to salesforce_unavailable', () => {
    const plain = classifyTokenAnswer({
      kind: 'response',
      status: 502,
      contentType: 'text/plain',
      body: 'Bad Gateway',
    });
    expect(plain).toMatchObject({
      category: 'salesforce_unavailable',
      salesforce: { status: 502, error_description: 'Bad Gateway' },
    });
    expect(classifyTokenAnswer({ kind: 'timeout', timeoutMs: 5000 })).toEqual({
      ok: false,
      category: 'salesforce_unavailable',
      salesforce: { status: 0, error_description: 'no answer within 5000 ms' },
    });
    expect(
      classifyTokenAnswer({ kind: 'network', message: 'ECONNREFUSED 127.0.0.1:1' }),
    ).toMatchObject({
      category: 'salesforce_unavailable',
      salesforce: { status: 0, error_description: 'connection failed: ECONNREFUSED 127.0.0.1:1' },
    });
  });

  it('keeps a non-JSON 4xx body verbatim but clipped and without control characters', () => {
    const result = classifyTokenAnswer({
      kind: 'response',
      status: 400,
      contentType: 'text/plain',
      body: `bad\r\n{"forged":"log"}${'x'.repeat(1000)}`,
    });
    expect(result).toMatchObject({ category: 'unexpected_response' });
    const description = result.ok ? '' : (result.salesforce.error_description ?? '');
    expect(description.startsWith('bad {"forged":"log"}')).toBe(true);
    expect(description.length).toBeLessThanOrEqual(303);
    expect(description).not.toMatch(/[\r\n]/);
  });
});
