/**
 * The token exchange against the Salesforce emulator (emulator/, an independent implementation of
 * Salesforce's documented behaviour): real keys and certificates, the real Salesforce token
 * client and Secrets Manager adapter (through the SDK, against the local endpoint).
 */
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { EmulatorClient } from '../../emulator/client';
import { type RunningEmulator, startEmulator } from '../../emulator/server';
import { createSalesforceTokenClient } from '../../lambda/adapters/salesforce-token-client';
import { createSecretsManagerSigningKeys } from '../../lambda/adapters/signing-keys';
import { deadlineIn } from '../../lambda/core/deadline';
import { BrokerError } from '../../lambda/core/errors';
import { validateOrgRecord } from '../../lambda/core/org-record';
import type { OrgRecord } from '../../lambda/core/types';
import { createTokenService } from '../../lambda/services/token-service';
import {
  type LocalSecretsManager,
  startSecretsManagerServer,
} from '../../local/secrets-manager-server';
import {
  createMemoryFleet,
  createMemoryRegistry,
  createRecordingIncidents,
  createRecordingLogger,
  createRecordingReporter,
  withJwtExchange,
} from '../support/in-memory-ports';
import { type SigningMaterial, signingMaterial } from '../support/keys';

const CALLER = 'arn:aws:iam::123456789012:role/Fulfilment';
const USER = 'integration@acme.example';

let emulator: RunningEmulator;
let control: EmulatorClient;
let secrets: LocalSecretsManager;
let secretsClient: SecretsManagerClient;
let material: SigningMaterial;
let other: SigningMaterial;

beforeAll(async () => {
  [emulator, secrets, material, other] = await Promise.all([
    startEmulator(),
    startSecretsManagerServer(),
    signingMaterial('emulator'),
    signingMaterial('emulator-other'),
  ]);
  control = emulator.control;
  secretsClient = new SecretsManagerClient({
    endpoint: secrets.endpoint,
    region: 'eu-west-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 1,
  });
});
afterAll(async () => {
  secretsClient.destroy();
  await Promise.all([emulator.close(), secrets.close()]);
});
beforeEach(async () => {
  await control.reset();
  await secrets.putSecret('keys/acme', material.secretString);
});

interface Setup {
  readonly environment?: 'production' | 'sandbox';
  readonly app?: Parameters<EmulatorClient['createApp']>[1];
  readonly user?: Omit<Parameters<EmulatorClient['createUser']>[1], 'username'>;
  readonly approve?: readonly string[] | false;
  readonly siteHosts?: string[];
  readonly host?: string;
  readonly record?: Record<string, unknown>;
}

async function setUp(setup: Setup = {}) {
  const environment = setup.environment ?? 'production';
  const org = await control.createOrg({
    environment,
    myDomainHost:
      environment === 'sandbox' ? 'acme--uat.sandbox.my.salesforce.com' : 'acme.my.salesforce.com',
    ...(setup.siteHosts ? { siteHosts: setup.siteHosts } : {}),
  });
  const app = await control.createApp(org.id, {
    certificates: [material.certificatePem],
    ...setup.app,
  });
  await control.createUser(org.id, { username: USER, ...setup.user });
  if (setup.approve !== false)
    await control.approve(USER, app.consumerKey, [...(setup.approve ?? ['api', 'refresh_token'])]);
  const host =
    setup.host ?? (environment === 'sandbox' ? 'test.salesforce.com' : 'login.salesforce.com');
  const record: OrgRecord = validateOrgRecord({
    orgId: 'acme',
    loginUrl: emulator.hostUrl(host),
    consumerKey: app.consumerKey,
    username: USER,
    signingKeySecretId: 'keys/acme',
    callers: [CALLER],
    ...setup.record,
  });
  const reporter = createRecordingReporter();
  const { reports } = reporter;
  const tracker = createRecordingIncidents();
  const service = createTokenService({
    // Each step here changes the org in Salesforce and asks again at once: nothing is remembered.
    fleet: createMemoryFleet({ failureMemoryMs: 0 }),
    registry: createMemoryRegistry([record]),
    ...withJwtExchange({
      signingKeys: createSecretsManagerSigningKeys({ client: secretsClient }),
      tokenEndpoint: createSalesforceTokenClient({
        timeoutMs: 1000,
        backoff: { baseMs: 5, maxMs: 20, maxAttempts: 3 },
      }),
      publicBaseUrl: 'https://broker.example.com/prod',
    }),
    incidents: tracker,
    reporter,
    logger: createRecordingLogger(),
  });
  const getToken = (extra: { forceRefresh?: boolean; deadline?: number } = {}) =>
    service.getToken('acme', {
      caller: CALLER,
      requestId: 'req',
      forceRefresh: extra.forceRefresh === true,
      deadline: deadlineIn((extra.deadline ?? Date.now() + 5000) - Date.now(), Date.now()),
    });
  return { service, record, app, org, reports, tracker, getToken };
}

async function categoryOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof BrokerError) return error.category;
    throw error;
  }
  return 'success';
}

describe('token exchange against the Salesforce emulator', () => {
  it('succeeds for an approved user; the emulator accepted the assertion and counted one login', async () => {
    const { getToken, org } = await setUp();
    const { grant, cacheHit } = await getToken();
    expect(cacheHit).toBe(false);
    expect(grant).toMatchObject({
      token_type: 'Bearer',
      org_id: 'acme',
      instance_url: org.instanceUrl,
    });
    expect(grant.access_token.length).toBeGreaterThan(10);
    expect((await getToken()).cacheHit).toBe(true);
    expect(await control.countTokenExchanges(USER)).toBe(1);
  });

  it('consumer_not_approved until the integration user approves with refresh_token, then succeeds', async () => {
    const { getToken, app, tracker } = await setUp({ approve: false });
    const error = (await getToken().catch((e: unknown) => e)) as BrokerError;
    expect(error.category).toBe('consumer_not_approved');
    expect(error.salesforce).toEqual({
      status: 400,
      error: 'invalid_grant',
      error_description: "user hasn't approved this consumer",
    });
    expect(error.remediation?.approvalLink).toMatch(
      /^https:\/\/broker\.example\.com\/prod\/oauth\/authorize\?org=acme&exp=\d+&sig=[\w-]{43}$/,
    );

    await control.approve(USER, app.consumerKey, ['api']);
    expect(await categoryOf(getToken())).toBe('consumer_not_approved');

    await control.approve(USER, app.consumerKey, ['api', 'refresh_token']);
    expect(await categoryOf(getToken())).toBe('success');
    expect(tracker.calls).toEqual([
      'failure acme consumer_not_approved req',
      'failure acme consumer_not_approved req',
      'success acme token_exchange req',
    ]);
  });

  it('an admin approving for themselves does not approve the integration user', async () => {
    const { getToken, app, org } = await setUp({ approve: false });
    await control.createUser(org.id, {
      username: 'admin@acme.example',
      profile: 'System Administrator',
    });
    await control.approve('admin@acme.example', app.consumerKey, ['api', 'refresh_token']);
    expect(await categoryOf(getToken())).toBe('consumer_not_approved');
  });

  it('admin pre-authorization by profile works without a user approval', async () => {
    const { getToken } = await setUp({
      approve: false,
      app: { permittedUsers: 'admin_approved', profiles: ['Integration'] },
      user: { profile: 'Integration' },
    });
    expect(await categoryOf(getToken())).toBe('success');
  });

  it.each([
    [
      'user_not_admin_approved',
      { approve: false, app: { permittedUsers: 'admin_approved', kind: 'external_client_app' } },
    ],
    ['app_not_installed', { app: { kind: 'external_client_app', installed: false } }],
    ['audience_invalid', { record: { audience: 'https://acme.my.salesforce.com' } }],
    ['unknown_consumer_key', { record: { consumerKey: '3MVG9doesnotexist' } }],
    [
      'unknown_consumer_key',
      { host: 'test.salesforce.com', record: { environment: 'production' } },
    ],
    ['user_inactive', { user: { active: false } }],
    ['ip_restricted', { user: { loginIpRanges: [{ start: '10.0.0.1', end: '10.0.0.9' }] } }],
  ] as [string, Setup][])('%s', async (category, setup) => {
    const fixedSetup =
      category === 'invalid_assertion'
        ? { ...setup, app: { certificates: [other.certificatePem] } }
        : setup;
    const { getToken, reports } = await setUp(fixedSetup);
    const error = (await getToken().catch((e: unknown) => e)) as BrokerError;
    expect(error).toBeInstanceOf(BrokerError);
    expect(error.category).toBe(category);
    expect(error.remediation?.summary.length).toBeGreaterThan(10);
    expect(reports[0]?.attempts).toBe(1);
  });

  it('invalid_assertion when the app holds another certificate (the key is re-read once)', async () => {
    const { getToken, reports } = await setUp({ app: { certificates: [other.certificatePem] } });
    expect(await categoryOf(getToken())).toBe('invalid_assertion');
    expect(reports[0]).toMatchObject({ keyReread: true, attempts: 1 });
  });

  it('org_inactive', async () => {
    const { getToken, org } = await setUp();
    await control.updateOrg(org.id, { active: false });
    expect(await categoryOf(getToken())).toBe('org_inactive');
  });

  it('assertion_expired when Salesforce clock is ahead of the broker', async () => {
    const { getToken } = await setUp();
    await control.advanceClock(3600);
    expect(await categoryOf(getToken())).toBe('assertion_expired');
  });

  it('login_rate_exceeded once the hourly login limit is used up', async () => {
    const { getToken } = await setUp();
    await control.updateSettings({ loginsPerHour: 1 });
    expect(await categoryOf(getToken())).toBe('success');
    expect(await categoryOf(getToken({ forceRefresh: true }))).toBe('login_rate_exceeded');
  });

  it('re-reads a rotated key once after invalid_assertion and succeeds', async () => {
    const { getToken, reports } = await setUp({ app: { certificates: [other.certificatePem] } });
    expect(await categoryOf(getToken())).toBe('invalid_assertion');
    await secrets.putSecret('keys/acme', other.secretString);
    // The cached key is still fresh (max age), so only the invalid_assertion re-read picks it up.
    expect(await categoryOf(getToken())).toBe('success');
    expect(reports[1]).toMatchObject({ ok: true, keyReread: true, attempts: 2 });
  });

  it('retries unknown_error and the maintenance page, then succeeds', async () => {
    const { getToken, reports } = await setUp();
    await control.addFault({ host: 'login.salesforce.com', kind: 'unknown_error', count: 1 });
    await control.addFault({ host: 'login.salesforce.com', kind: 'maintenance', count: 1 });
    expect(await categoryOf(getToken())).toBe('success');
    expect(reports[0]).toMatchObject({ ok: true, attempts: 3 });
  });

  it('salesforce_unavailable when the maintenance page persists, and on a slow server', async () => {
    const { getToken, reports } = await setUp();
    await control.addFault({ host: 'login.salesforce.com', kind: 'maintenance' });
    expect(await categoryOf(getToken())).toBe('salesforce_unavailable');
    expect(reports[0]?.salesforce?.error_description).toMatch(/^HTML page: /);
    // Every environment now backs off for Retry-After: the next request is answered from memory.
    const remembered = await getToken().catch((error: unknown) => error);
    expect(remembered).toMatchObject({ category: 'salesforce_unavailable', remembered: true });
    expect(reports).toHaveLength(1);
    // A fresh fleet: a deadline with room for one attempt only, no retry may start after the timeout.
    await control.reset();
    await control.addFault({ host: 'login.salesforce.com', kind: 'latency', latencyMs: 1500 });
    const slow = await setUp();
    expect(await categoryOf(slow.getToken({ deadline: Date.now() + 1200 }))).toBe(
      'salesforce_unavailable',
    );
    expect(slow.reports[0]?.attempts).toBe(1);
    expect(slow.reports[0]?.salesforce).toEqual({
      status: 0,
      error_description: 'no answer within 1000 ms',
    });
  });

  it('works for a sandbox on test.salesforce.com and for an Experience Cloud site', async () => {
    const sandbox = await setUp({ environment: 'sandbox' });
    expect(sandbox.record.audience).toBe('https://test.salesforce.com');
    expect(await categoryOf(sandbox.getToken())).toBe('success');
    await control.reset();
    const site = await setUp({ siteHosts: ['acme.my.site.com'], host: 'acme.my.site.com' });
    expect(site.record).toMatchObject({
      environment: 'site',
      audience: 'https://acme.my.site.com',
    });
    expect(await categoryOf(site.getToken())).toBe('success');
  });

  it('1,000 concurrent requests on a cold cache make exactly one Salesforce login', async () => {
    const { getToken } = await setUp();
    const results = await Promise.all(Array.from({ length: 1000 }, () => getToken()));
    expect(new Set(results.map((r) => r.grant.access_token)).size).toBe(1);
    expect(await control.countTokenExchanges(USER)).toBe(1);
  });
});
