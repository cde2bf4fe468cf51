import type { APIGatewayProxyEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalGateway, startGateway } from '../../local/gateway';

const callerArn = 'arn:aws:sts::123456789012:assumed-role/Fulfilment/local';
const seen: { name: string; event: APIGatewayProxyEvent }[] = [];
const echo = (name: string) => async (event: APIGatewayProxyEvent) => {
  seen.push({ name, event });
  return {
    statusCode: 200,
    headers: { 'Content-Type': 'application/json', 'X-Handler': name },
    multiValueHeaders: { 'Set-Cookie': ['a=1; Path=/', 'b=2; Path=/'] },
    body: JSON.stringify({ name }),
  };
};

let gateway: LocalGateway;
beforeAll(async () => {
  gateway = await startGateway({
    handlers: {
      token: echo('token'),
      oauth: echo('oauth'),
      status: async () => {
        throw new Error('boom');
      },
    },
    callerArn,
  });
});
afterAll(() => gateway.close());

describe('local gateway', () => {
  it('listens on loopback only', async () => {
    expect(gateway.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    await expect(startGateway({ handlers: {}, callerArn, host: '0.0.0.0' })).rejects.toThrow(
      /loopback/,
    );
  });

  it('routes IAM routes with the configured caller and path parameters', async () => {
    const response = await fetch(`${gateway.url}/orgs/acme/token`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: '{"forceRefresh":true}',
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('x-handler')).toBe('token');
    expect(response.headers.getSetCookie()).toEqual(['a=1; Path=/', 'b=2; Path=/']);
    const { event } = seen.at(-1) as { event: APIGatewayProxyEvent };
    expect(event).toMatchObject({
      resource: '/orgs/{orgId}/token',
      path: '/orgs/acme/token',
      httpMethod: 'POST',
      pathParameters: { orgId: 'acme' },
      body: '{"forceRefresh":true}',
    });
    expect(event.requestContext.identity.userArn).toBe(callerArn);
  });

  it('routes public OAuth routes without a caller and keeps repeated parameters', async () => {
    await fetch(`${gateway.url}/oauth/callback?code=a%3Db&state=1&state=2`, {
      headers: { Cookie: 'x=1' },
    });
    const { name, event } = seen.at(-1) as { name: string; event: APIGatewayProxyEvent };
    expect(name).toBe('oauth');
    expect(event.resource).toBe('/oauth/callback');
    expect(event.requestContext.identity.userArn).toBeNull();
    expect(event.multiValueQueryStringParameters).toEqual({ code: ['a=b'], state: ['1', '2'] });
    expect(event.queryStringParameters).toEqual({ code: 'a=b', state: '2' });
    expect(event.headers.Cookie ?? event.headers.cookie).toBe('x=1');
  });

  it('answers unknown routes and methods as API Gateway does', async () => {
    for (const [method, path] of [
      ['GET', '/nope'],
      ['PUT', '/orgs/acme/token'],
      ['POST', '/oauth/callback'],
    ] as const) {
      const response = await fetch(`${gateway.url}${path}`, { method });
      expect(response.status).toBe(403);
      expect(await response.json()).toMatchObject({
        error: 'caller_not_authorized',
        message: 'Missing Authentication Token',
      });
    }
  });

  it('turns a throwing handler into a 502 like a failed integration', async () => {
    const response = await fetch(`${gateway.url}/orgs/acme/status`);
    expect(response.status).toBe(502);
  });
});
