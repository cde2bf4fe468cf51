import { describe, expect, it } from 'vitest';
import {
  APPROVAL_CATEGORIES,
  BROKER_CATEGORIES,
  SALESFORCE_CATEGORIES,
} from '../../lambda/core/categories';
import { INTERNAL_ERROR } from '../../lambda/handlers/token-api-responses';
import { checkResponse, openapi } from '../support/openapi';

const headers = { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' };

describe('docs/openapi.yaml', () => {
  it('lists exactly the token API error codes', () => {
    const schemas = (
      openapi.components as {
        schemas: Record<string, { properties: Record<string, { enum: string[] }> }>;
      }
    ).schemas;
    const codes = schemas.Error?.properties.error?.enum ?? [];
    expect(new Set(codes)).toEqual(
      new Set([...SALESFORCE_CATEGORIES, ...BROKER_CATEGORIES, INTERNAL_ERROR]),
    );
    for (const approval of APPROVAL_CATEGORIES) expect(codes).not.toContain(approval);
  });

  it('accepts a documented response and rejects ones that break the contract', () => {
    const grant = {
      access_token: 't',
      instance_url: 'https://acme.my.salesforce.com',
      id: 'https://login.salesforce.com/id/00D/005',
      token_type: 'Bearer',
      expires_at: '2026-11-28T20:00:00.000Z',
      org_id: 'acme',
    };
    const ok = { statusCode: 200, headers, body: JSON.stringify(grant) };
    expect(checkResponse('POST', '/orgs/{orgId}/token', ok)).toEqual([]);
    expect(
      checkResponse('POST', '/orgs/{orgId}/token', {
        ...ok,
        body: JSON.stringify({ ...grant, expires_at: 'soon' }),
      }),
    ).toEqual(['/expires_at must match format "date-time"']);
    expect(checkResponse('POST', '/orgs/{orgId}/token', { ...ok, statusCode: 418 })).toEqual([
      'status 418 is not documented for POST /orgs/{orgId}/token',
    ]);
    const unavailable = {
      statusCode: 503,
      headers,
      body: JSON.stringify({
        error: 'salesforce_unavailable',
        message: 'm',
        retryable: true,
        request_id: 'r',
        remediation: { summary: 's', steps: ['a'] },
        salesforce: { status: 503 },
      }),
    };
    expect(checkResponse('POST', '/orgs/{orgId}/token', unavailable)).toEqual([
      'missing header Retry-After',
    ]);
    const leaky = {
      statusCode: 500,
      headers,
      body: JSON.stringify({
        error: 'signing_key_unavailable',
        message: 'm',
        retryable: true,
        request_id: 'r',
        salesforce: { status: 0 },
      }),
    };
    expect(checkResponse('POST', '/orgs/{orgId}/token', leaky).length).toBeGreaterThan(0);
  });
});
