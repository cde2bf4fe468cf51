/**
 * External Client Apps deployed from their metadata files: pre-authorization by profile or
 * permission set, self-authorization, one certificate, and the files a deploy would refuse.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type SigningMaterial, signingMaterial } from '../test/support/keys';
import type { OrgView } from './client';
import { type RunningEmulator, startEmulator } from './server';
import { JWT_BEARER, postTokenForm, signAssertion } from './testing/assertion';

const USER = 'integration@acme.example';
let emulator: RunningEmulator;
let key: SigningMaterial;
let org: OrgView;

const xml = (root: string, body: string) =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<${root} xmlns="http://soap.sforce.com/2006/04/metadata">\n${body}\n</${root}>\n`;

function files(policies: string): Record<string, string> {
  return {
    'force-app/main/default/externalClientApps/Acme.eca-meta.xml': xml(
      'ExternalClientApplication',
      '<label>Acme</label><distributionState>Local</distributionState>',
    ),
    'force-app/main/default/extlClntAppOauthSettings/Acme_oauth.ecaOauth-meta.xml': xml(
      'ExtlClntAppOauthSettings',
      '<commaSeparatedOauthScopes>Api,RefreshToken</commaSeparatedOauthScopes><externalClientApplication>Acme</externalClientApplication>',
    ),
    'force-app/main/default/extlClntAppGlobalOauthSets/Acme_glbloauth.ecaGlblOauth-meta.xml': xml(
      'ExtlClntAppGlobalOauthSettings',
      `<callbackUrl>https://broker.example.com/oauth/callback</callbackUrl><certificate>${key.certificatePem}</certificate><externalClientApplication>Acme</externalClientApplication>`,
    ),
    'force-app/main/default/extlClntAppOauthPolicies/Acme_oauthPlcy.ecaOauthPlcy-meta.xml': xml(
      'ExtlClntAppOauthConfigurablePolicies',
      `<externalClientApplication>Acme</externalClientApplication>${policies}`,
    ),
  };
}

async function jwtExchange(consumerKey: string) {
  return postTokenForm(emulator.hostUrl('login.salesforce.com'), {
    grant_type: JWT_BEARER,
    assertion: signAssertion(key.privateKeyPem, {
      iss: consumerKey,
      sub: USER,
      aud: 'https://login.salesforce.com',
    }),
  });
}

beforeAll(async () => {
  [emulator, key] = await Promise.all([startEmulator(), signingMaterial('eca-metadata')]);
});
afterAll(() => emulator.close());
beforeEach(async () => {
  await emulator.control.reset();
  org = await emulator.control.createOrg({ myDomainHost: 'acme.my.salesforce.com' });
  await emulator.control.createUser(org.id, { username: USER, profile: 'Integration' });
});

describe('an External Client App from its metadata', () => {
  it('pre-authorizes by profile: a token with no approval step', async () => {
    const app = await emulator.control.deployAppMetadata(
      org.id,
      files(
        '<permittedUsersPolicyType>AdminApprovedPreAuthorized</permittedUsersPolicyType><commaSeparatedProfile>Integration</commaSeparatedProfile>',
      ),
    );
    expect(app).toMatchObject({
      kind: 'external_client_app',
      installed: true,
      scopes: ['api', 'refresh_token'],
      profiles: ['Integration'],
    });
    expect((await jwtExchange(app.consumerKey)).status).toBe(200);
  });

  it('pre-authorizes by permission set only the users who hold it', async () => {
    const app = await emulator.control.deployAppMetadata(
      org.id,
      files(
        '<permittedUsersPolicyType>AdminApprovedPreAuthorized</permittedUsersPolicyType><commaSeparatedPermissionSet>Broker_Users</commaSeparatedPermissionSet>',
      ),
    );
    expect(await jwtExchange(app.consumerKey)).toEqual({
      status: 400,
      body: {
        error: 'invalid_app_access',
        error_description: 'user is not admin approved to access this app',
      },
    });
    await emulator.control.updateUser(USER, { permissionSets: ['Broker_Users'] });
    expect((await jwtExchange(app.consumerKey)).status).toBe(200);
  });

  it("self-authorization needs the user's own approval with a refresh scope", async () => {
    const app = await emulator.control.deployAppMetadata(
      org.id,
      files('<permittedUsersPolicyType>AllSelfAuthorized</permittedUsersPolicyType>'),
    );
    expect((await jwtExchange(app.consumerKey)).body).toEqual({
      error: 'invalid_grant',
      error_description: "user hasn't approved this consumer",
    });
    await emulator.control.approve(USER, app.consumerKey, ['api', 'refresh_token']);
    expect((await jwtExchange(app.consumerKey)).status).toBe(200);
  });

  it('refuses what a deploy would refuse', async () => {
    const complete = files('');
    const { 'force-app/main/default/externalClientApps/Acme.eca-meta.xml': _app, ...noApp } =
      complete;
    await expect(emulator.control.deployAppMetadata(org.id, noApp)).rejects.toThrow(
      /no \*\.eca-meta\.xml file/,
    );
    const badScope = {
      ...complete,
      'force-app/main/default/extlClntAppOauthSettings/Acme_oauth.ecaOauth-meta.xml': xml(
        'ExtlClntAppOauthSettings',
        '<commaSeparatedOauthScopes>Api,Everything</commaSeparatedOauthScopes>',
      ),
    };
    await expect(emulator.control.deployAppMetadata(org.id, badScope)).rejects.toThrow(
      /unknown scope Everything/,
    );
  });
});
