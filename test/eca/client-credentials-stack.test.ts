/**
 * The client credentials grant through the token function as production composes it (the grant
 * dispatcher in token-function-adapters.ts, the Secrets Manager consumer secret, the table, SNS),
 * against the Salesforce emulator over HTTP: a token as the run-as user, served from cache, one
 * login for concurrent callers; each of the grant's failures with its category, incident and
 * resolution; the status route; a JWT org beside it in the same function. Logs, events and
 * bodies are scanned for the consumer secret.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../emulator/model';
import { validateOrgRecord } from '../../lambda/core/org-record';
import { eventTrail, expectFailure } from '../reliability/support/assertions';
import { CALLER_ROLE, type Stack, startStack } from '../reliability/support/stack';
import { type CapturedOutput, captureOutput, findSecrets } from '../support/logs';

const MY_DOMAIN = 'acme-cc.my.salesforce.com';
const RUN_AS = 'runas@acme-cc.example';
const SECRET_ID = 'token-broker/acme-cc-consumer';

let stack: Stack;
let output: CapturedOutput;
let app: App;
const bodies: string[] = [];

beforeAll(async () => {
  // forceRefresh here means "exchange again now": the minimum token age is tested elsewhere.
  stack = await startStack({ minTokenAgeSeconds: 0 });
  output = captureOutput();
  const org = await stack.control.createOrg({ name: 'CC', myDomainHost: MY_DOMAIN });
  await stack.control.createUser(org.id, { username: RUN_AS });
  app = await stack.control.createApp(org.id, {
    kind: 'external_client_app',
    clientCredentialsEnabled: true,
    clientCredentialsUser: RUN_AS,
  });
  await stack.secrets.putSecret(SECRET_ID, JSON.stringify({ consumerSecret: app.consumerSecret }));
  await stack.registry.putOrg(
    validateOrgRecord({
      orgId: 'acme-cc',
      loginUrl: stack.emulator.hostUrl(MY_DOMAIN),
      consumerKey: app.consumerKey,
      username: RUN_AS,
      grant: 'client_credentials',
      consumerSecretId: SECRET_ID,
      callers: [CALLER_ROLE],
    }),
  );
});

afterAll(async () => {
  output.stop();
  const found = findSecrets([output.text(), JSON.stringify(stack.events()), ...bodies].join('\n'), [
    app.consumerSecret,
  ]);
  await stack.close();
  expect(found).toEqual([]);
});

async function token(orgId = 'acme-cc') {
  const response = await stack.invoke({ route: 'token', orgId });
  bodies.push(response.body);
  return response;
}

const logins = async () =>
  (await stack.control.loginHistory({ username: RUN_AS, status: 'Success' })).length;

describe('client credentials grant in the token function', () => {
  it('gets a token as the run-as user, serves it from cache, and logs in once for concurrent callers', async () => {
    const [first, second, third] = await Promise.all([token(), token(), token()]);
    for (const response of [first, second, third]) {
      expect(response.statusCode).toBe(200);
      expect(response.contractProblems).toEqual([]);
    }
    expect(first?.json.instance_url).toBe(stack.emulator.hostUrl(MY_DOMAIN));
    expect(await logins()).toBe(1);
    expect((await token()).statusCode).toBe(200);
    expect(await logins()).toBe(1);
    const history = await stack.control.loginHistory({ username: RUN_AS });
    expect(history.map((entry) => entry.grant)).toEqual(['client_credentials']);
  });

  it('reports the grant on the status route, with no signing key to show', async () => {
    const status = await stack.invoke({ route: 'status', orgId: 'acme-cc' });
    bodies.push(status.body);
    expect(status.statusCode).toBe(200);
    expect(status.contractProblems).toEqual([]);
    expect(status.json).toMatchObject({
      org: { grant: 'client_credentials', consumerSecretId: SECRET_ID },
      signingKey: { available: false },
    });
  });

  it.each([
    ['client_credentials_user_missing', { clientCredentialsEnabled: false }],
    ['invalid_client_credentials', { consumerSecret: 'rotated-elsewhere-0123456789' }],
  ] as const)(
    'turns %s into its category, an incident and its resolution',
    async (category, change) => {
      await stack.control.updateApp(app.consumerKey, change);
      const failed = await stack.invoke({
        route: 'token',
        orgId: 'acme-cc',
        body: JSON.stringify({ forceRefresh: true }),
      });
      bodies.push(failed.body);
      expectFailure(failed, category);
      expect(failed.json.remediation).toMatchObject({ runbook: `docs/runbook.md#${category}` });
      await stack.control.updateApp(app.consumerKey, {
        clientCredentialsEnabled: true,
        consumerSecret: app.consumerSecret,
      });
      // Fixed in Salesforce: `verify` would end the fleet's failure memory; the test does it.
      await stack.forgetFailure('acme-cc');
      const fixed = await stack.invoke({
        route: 'token',
        orgId: 'acme-cc',
        body: JSON.stringify({ forceRefresh: true }),
      });
      expect(fixed.statusCode).toBe(200);
      expect(eventTrail(stack, 'acme-cc').slice(-2)).toEqual([
        `incident.opened:${category}`,
        `incident.resolved:${category}`,
      ]);
    },
  );

  it('reports consumer_secret_unavailable without detail when the secret is gone', async () => {
    const record = await stack.registry.getOrg('acme-cc');
    await stack.registry.putOrg({
      ...(record as NonNullable<typeof record>),
      orgId: 'acme-cc-nosecret',
      consumerSecretId: 'token-broker/missing',
    });
    const failed = await token('acme-cc-nosecret');
    expectFailure(failed, 'consumer_secret_unavailable');
    expect(failed.json.remediation).toBeUndefined();
    expect(eventTrail(stack, 'acme-cc-nosecret')).toEqual([
      'incident.opened:consumer_secret_unavailable',
    ]);
  });

  it('serves a JWT org from the same function instance', async () => {
    await stack.addOrg('acme-jwt');
    const response = await token('acme-jwt');
    expect(response.statusCode).toBe(200);
  });
});
