/** The client credentials grant and the sandbox refresh, with Salesforce's exact answers. */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { OrgView } from './client';
import type { App } from './model';
import { type RunningEmulator, startEmulator } from './server';
import { postTokenForm } from './testing/assertion';

const MY_DOMAIN = 'acme--uat.sandbox.my.salesforce.com';
const RUN_AS = 'runas@acme.example';
let emulator: RunningEmulator;
let org: OrgView;
let app: App;

function credentials(host: string, secret = app.consumerSecret) {
  return postTokenForm(emulator.hostUrl(host), {
    grant_type: 'client_credentials',
    client_id: app.consumerKey,
    client_secret: secret,
  });
}

const refusal = (error: string, description: string) => ({
  status: 400,
  body: { error, error_description: description },
});

beforeAll(async () => {
  emulator = await startEmulator();
});
afterAll(() => emulator.close());

beforeEach(async () => {
  await emulator.control.reset();
  org = await emulator.control.createOrg({ environment: 'sandbox', myDomainHost: MY_DOMAIN });
  await emulator.control.createUser(org.id, { username: RUN_AS });
  app = await emulator.control.createApp(org.id, {
    kind: 'external_client_app',
    clientCredentialsEnabled: true,
    clientCredentialsUser: RUN_AS,
  });
});

describe('client credentials grant', () => {
  it('issues a token as the run-as user on the My Domain, with the secret in the body or Basic', async () => {
    const result = await credentials(MY_DOMAIN);
    expect(result.status).toBe(200);
    expect(result.body).toMatchObject({
      token_type: 'Bearer',
      scope: expect.stringContaining('api'),
    });
    const basic = await fetch(`${emulator.hostUrl(MY_DOMAIN)}/services/oauth2/token`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${app.consumerKey}:${app.consumerSecret}`).toString('base64')}`,
      },
      body: 'grant_type=client_credentials',
    });
    expect(basic.status).toBe(200);
  });

  it('answers each failure as Salesforce does', async () => {
    expect(await credentials('test.salesforce.com')).toEqual(
      refusal('invalid_grant', 'request not supported on this domain'),
    );
    expect(await credentials(MY_DOMAIN, 'wrong')).toEqual(
      refusal('invalid_client', 'invalid client credentials'),
    );
    await emulator.control.updateApp(app.consumerKey, { clientCredentialsEnabled: false });
    expect(await credentials(MY_DOMAIN)).toEqual(
      refusal('invalid_grant', 'no client credentials user enabled'),
    );
  });

  it('after a sandbox refresh: the app is not installed and the old My Domain is gone', async () => {
    const refreshed = await emulator.control.refreshSandbox(org.id);
    expect(refreshed.myDomainHost).toBe('acme--uat2.sandbox.my.salesforce.com');
    expect((await credentials(MY_DOMAIN)).status).toBe(404);
    expect(await credentials(refreshed.myDomainHost as string)).toEqual(
      refusal('invalid_grant', 'External client app is not installed in this org'),
    );
  });
});
