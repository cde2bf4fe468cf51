import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningEmulator, startEmulator } from '../../emulator/server';
import { generateSigningMaterial } from '../../keys/signing-material';
import { createDynamoOrgRegistry } from '../../lambda/adapters/org-registry';
import { countDaysToExpiry, selectCrossedThreshold } from '../../lambda/core/certificate-expiry';
import { validateOrgRecord } from '../../lambda/core/org-record';
import { buildRestEvent, createLambdaContext } from '../../local/rest-event';
import {
  type LocalSecretsManager,
  startSecretsManagerServer,
} from '../../local/secrets-manager-server';
import { type LocalDynamo, startDynalite } from '../support/dynalite';
import { RecordingPublisher } from '../support/events';
import { captureOutput } from '../support/logs';
import { composeExchangingTokenFunction } from '../support/token-function';

const CALLER = 'arn:aws:iam::123456789012:role/Fulfilment';
const DAY_MS = 86_400_000;

let emulator: RunningEmulator;
let secrets: LocalSecretsManager;
let dynamo: LocalDynamo;

beforeAll(async () => {
  [emulator, secrets, dynamo] = await Promise.all([
    startEmulator(),
    startSecretsManagerServer(),
    startDynalite(),
  ]);
});
afterAll(() => Promise.all([emulator.close(), secrets.close(), dynamo.close()]));

describe('certificate expiry, decided', () => {
  it('counts whole days and picks the lowest threshold crossed', () => {
    const now = Date.parse('2026-12-01T00:00:00Z');
    expect(countDaysToExpiry('2026-12-31T12:00:00Z', now)).toBe(30);
    expect(countDaysToExpiry('2026-11-30T00:00:00Z', now)).toBe(-1);
    expect([31, 30, 20, 14, 8, 7, 2, 1, 0, -5].map(selectCrossedThreshold)).toEqual([
      undefined,
      30,
      30,
      14,
      14,
      7,
      7,
      1,
      1,
      1,
    ]);
  });
});

describe('certificate expiry on exchanges', () => {
  it('emits days to expiry per org and announces each threshold once per certificate', async () => {
    const { control } = emulator;
    await control.reset();
    const tableName = await dynamo.createTable();
    const registry = createDynamoOrgRegistry({
      client: dynamo.documents,
      tableName,
    });
    const sfOrg = await control.createOrg({ myDomainHost: 'acme.my.salesforce.com' });
    const orgs = [
      { orgId: 'soon', days: 5 },
      { orgId: 'later', days: 20 },
      { orgId: 'fine', days: 200 },
    ];
    for (const org of orgs) {
      const material = await generateSigningMaterial({
        commonName: org.orgId,
        notAfter: new Date(Date.now() + org.days * DAY_MS + 3_600_000),
      });
      const app = await control.createApp(sfOrg.id, { certificates: [material.certificatePem] });
      const username = `${org.orgId}@acme.example`;
      await control.createUser(sfOrg.id, { username });
      await control.approve(username, app.consumerKey, ['api', 'refresh_token']);
      await secrets.putSecret(`keys/${org.orgId}`, material.secretString);
      await registry.putOrg(
        validateOrgRecord({
          orgId: org.orgId,
          loginUrl: emulator.hostUrl('login.salesforce.com'),
          consumerKey: app.consumerKey,
          username,
          signingKeySecretId: `keys/${org.orgId}`,
          callers: [CALLER],
        }),
      );
    }
    const publisher = new RecordingPublisher();
    const handler = composeExchangingTokenFunction({
      tableName,
      dynamo: dynamo.documents,
      secretsEndpoint: secrets.endpoint,
      publisher,
    });
    const output = captureOutput();
    try {
      for (let round = 0; round < 2; round += 1) {
        for (const { orgId } of orgs) {
          const response = await handler(
            buildRestEvent({
              method: 'POST',
              resource: '/orgs/{orgId}/token',
              path: `/orgs/${orgId}/token`,
              pathParameters: { orgId },
              callerArn: CALLER,
              body: '{"forceRefresh":true}',
            }),
            createLambdaContext({ timeoutMs: 20_000 }),
          );
          expect(response.statusCode).toBe(200);
        }
      }
      const perOrg = output
        .entries()
        .filter((entry) => typeof entry.CertificateDaysToExpiry === 'number')
        .map((entry) => [entry.OrgId ?? '(all)', entry.CertificateDaysToExpiry]);
      expect(perOrg).toEqual(
        expect.arrayContaining([
          ['soon', 5],
          ['later', 20],
          ['fine', 200],
        ]),
      );
      // One document per request carries the figure twice: for all orgs, and for this org.
      const soon = output.entries().find((entry) => entry.OrgId === 'soon');
      type Emf = { CloudWatchMetrics: { Dimensions: string[][]; Metrics: { Name: string }[] }[] };
      const emf = soon?._aws as Emf | undefined;
      const directives = (emf?.CloudWatchMetrics ?? []).filter((directive) =>
        directive.Metrics.some((metric) => metric.Name === 'CertificateDaysToExpiry'),
      );
      expect(directives.map((directive) => directive.Dimensions[0])).toEqual([
        ['service'],
        ['service', 'OrgId'],
      ]);
    } finally {
      output.stop();
    }
    expect(publisher.types()).toEqual([
      'token_broker.certificate.expiring',
      'token_broker.certificate.expiring',
    ]);
    expect(publisher.events.map((event) => event.data)).toEqual([
      expect.objectContaining({
        orgId: 'soon',
        threshold: 7,
        daysToExpiry: 5,
        severity: 'critical',
      }),
      expect.objectContaining({
        orgId: 'later',
        threshold: 30,
        daysToExpiry: 20,
        severity: 'warning',
      }),
    ]);
  });
});
