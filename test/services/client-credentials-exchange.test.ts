/**
 * The client credentials exchange against the Salesforce emulator over HTTP, with the consumer
 * secret read through the real SDK from the local Secrets Manager, and the per-grant dispatcher.
 */
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { App } from '../../emulator/model';
import { type RunningEmulator, startEmulator } from '../../emulator/server';
import { createSecretsManagerConsumerSecrets } from '../../lambda/adapters/consumer-secrets';
import { createSalesforceTokenClient } from '../../lambda/adapters/salesforce-token-client';
import type { ExchangeResult, GrantExchange } from '../../lambda/core/ports';
import type { OrgRecord } from '../../lambda/core/types';
import { createClientCredentialsExchange } from '../../lambda/services/client-credentials-exchange';
import { createGrantExchange } from '../../lambda/services/grant-exchange';
import {
  type LocalSecretsManager,
  startSecretsManagerServer,
} from '../../local/secrets-manager-server';

const MY_DOMAIN = 'acme.my.salesforce.com';
const RUN_AS = 'runas@acme.example';
const SECRET_ID = 'token-broker/acme-consumer';

let emulator: RunningEmulator;
let secrets: LocalSecretsManager;
let client: SecretsManagerClient;
let app: App;

beforeAll(async () => {
  [emulator, secrets] = await Promise.all([startEmulator(), startSecretsManagerServer()]);
  client = new SecretsManagerClient({
    endpoint: secrets.endpoint,
    region: 'eu-west-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 1,
  });
});
afterAll(async () => {
  client.destroy();
  await Promise.all([emulator.close(), secrets.close()]);
});
beforeEach(async () => {
  await emulator.control.reset();
  const org = await emulator.control.createOrg({ myDomainHost: MY_DOMAIN });
  await emulator.control.createUser(org.id, { username: RUN_AS });
  app = await emulator.control.createApp(org.id, {
    kind: 'external_client_app',
    clientCredentialsEnabled: true,
    clientCredentialsUser: RUN_AS,
  });
  await secrets.putSecret(SECRET_ID, app.consumerSecret);
});

/** A record as stored; built by hand so a test can hold what validation would refuse. */
function recordFor(host: string, extra: Partial<OrgRecord> = {}): OrgRecord {
  return {
    orgId: 'acme',
    loginUrl: emulator.hostUrl(host),
    environment: 'production',
    audience: 'https://login.salesforce.com',
    consumerKey: app.consumerKey,
    username: RUN_AS,
    grant: 'client_credentials',
    consumerSecretId: SECRET_ID,
    tokenTtlSeconds: 1800,
    callers: [],
    ...extra,
  };
}

function exchange(org: OrgRecord): Promise<ExchangeResult> {
  return createClientCredentialsExchange({
    consumerSecrets: createSecretsManagerConsumerSecrets({ client }),
    tokenEndpoint: createSalesforceTokenClient({ timeoutMs: 1000 }),
    publicBaseUrl: 'https://broker.example.com/prod',
    clock: Date.now,
  }).run(org, { requestId: 'req', salesforceBy: Date.now() + 5000 });
}

describe('client credentials exchange', () => {
  it('gets a token as the run-as user from the My Domain', async () => {
    const result = await exchange(recordFor(MY_DOMAIN));
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.entry.grant).toMatchObject({
      org_id: 'acme',
      instance_url: emulator.hostUrl(MY_DOMAIN),
      token_type: 'Bearer',
    });
    expect(result.report).toMatchObject({ ok: true, attempts: 1, keyReread: false });
  });

  it.each([
    ['my_domain_required', 'login.salesforce.com', {}, 'request not supported on this domain'],
    [
      'unknown_consumer_key',
      MY_DOMAIN,
      { consumerKey: '3MVG9unknown' },
      'client identifier invalid',
    ],
  ] as const)('classifies %s', async (category, host, extra, description) => {
    const result = await exchange(recordFor(host, extra));
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.category).toBe(category);
    expect(result.error.salesforce?.error_description).toBe(description);
    expect(result.error.remediation?.runbook).toBe(`docs/runbook.md#${category}`);
  });

  it('classifies an uninstalled External Client App as app_not_installed', async () => {
    await emulator.control.updateApp(app.consumerKey, { installed: false });
    const result = await exchange(recordFor(MY_DOMAIN));
    expect(result.ok ? undefined : result.error.category).toBe('app_not_installed');
  });

  it('fails with consumer_secret_unavailable and no login when the secret cannot be read', async () => {
    secrets.failNext(SECRET_ID, 'AccessDeniedException');
    const result = await exchange(recordFor(MY_DOMAIN));
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.category).toBe('consumer_secret_unavailable');
    expect(result.error.message).toContain('AccessDeniedException');
    expect(result.report.attempts).toBe(0);
    expect(await emulator.control.loginHistory({ username: RUN_AS })).toEqual([]);
  });
});

describe('grant exchange', () => {
  it('hands each org to the exchange of its grant; no grant means jwt_bearer', async () => {
    const calls: string[] = [];
    const fake = (name: string): GrantExchange => ({
      run: async (org) => {
        calls.push(`${name} ${org.orgId}`);
        throw new Error('not called for a result');
      },
    });
    const dispatch = createGrantExchange({
      jwt_bearer: fake('jwt'),
      client_credentials: fake('cc'),
    });
    const context = { requestId: 'r', salesforceBy: 0 };
    const base = recordFor(MY_DOMAIN);
    const { grant: _omitted, ...legacy } = base;
    for (const org of [
      base,
      { ...legacy, orgId: 'legacy' },
      { ...base, orgId: 'jwt', grant: 'jwt_bearer' as const },
    ])
      await dispatch.run(org, context).catch(() => undefined);
    expect(calls).toEqual(['cc acme', 'jwt legacy', 'jwt jwt']);
  });
});
