/**
 * The demo org the local stack and `npm run emulator` seed: a production org, one self-authorize
 * app holding the broker's certificate, an integration user who has NOT approved the app yet,
 * and an admin: the walkthrough of docs/local.md starts from `consumer_not_approved`.
 */
import type { EmulatorClient, OrgView } from './client';
import type { App } from './model';

export const DEMO_INTEGRATION_USERNAME = 'integration@demo.example';
export const DEMO_ADMIN_USERNAME = 'admin@demo.example';

export interface DemoOptions {
  /** X.509 PEM of the broker's demo signing key, uploaded to the app. */
  readonly certificatePem: string;
  /** The broker's OAuth callback, registered exactly as given. */
  readonly callbackUrl: string;
  /** e.g. `demo.my.salesforce.com`; without it the org answers on login.salesforce.com only. */
  readonly myDomainHost?: string;
}

export interface DemoOrg {
  readonly org: OrgView;
  readonly app: App;
  /** The broker's `loginUrl`: the My Domain when there is one, else login.salesforce.com. */
  readonly loginUrl: string;
  readonly audience: string;
  readonly integrationUsername: string;
  readonly adminUsername: string;
}

export async function seedDemoOrg(control: EmulatorClient, options: DemoOptions): Promise<DemoOrg> {
  const org = await control.createOrg({
    name: 'Demo',
    environment: 'production',
    ...(options.myDomainHost ? { myDomainHost: options.myDomainHost } : {}),
  });
  const app = await control.createApp(org.id, {
    name: 'Salesforce Token Broker (demo)',
    certificates: [options.certificatePem],
    callbackUrls: [options.callbackUrl],
    permittedUsers: 'self_authorize',
  });
  await control.createUser(org.id, {
    username: DEMO_INTEGRATION_USERNAME,
    name: 'Integration User',
    profile: 'Integration User',
  });
  await control.createUser(org.id, {
    username: DEMO_ADMIN_USERNAME,
    name: 'Demo Admin',
    profile: 'System Administrator',
  });
  return {
    org,
    app,
    loginUrl: org.loginUrls.myDomain ?? org.loginUrls.shared,
    audience: 'https://login.salesforce.com',
    integrationUsername: DEMO_INTEGRATION_USERNAME,
    adminUsername: DEMO_ADMIN_USERNAME,
  };
}
