import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningEmulator, startEmulator } from '../../emulator/server';
import { createDynamoOrgRegistry } from '../../lambda/adapters/org-registry';
import { validateOrgRecord } from '../../lambda/core/org-record';
import type { TokenFunctionHandler } from '../../lambda/handlers/token-function';
import { buildRestEvent, createLambdaContext } from '../../local/rest-event';
import {
  type LocalSecretsManager,
  startSecretsManagerServer,
} from '../../local/secrets-manager-server';
import { type LocalDynamo, startDynalite } from '../support/dynalite';
import { RecordingPublisher } from '../support/events';
import { signingMaterial } from '../support/keys';
import { captureOutput, findSecrets } from '../support/logs';
import { composeExchangingTokenFunction } from '../support/token-function';

const CALLER = 'arn:aws:iam::123456789012:role/Fulfilment';
const USER = 'integration@acme.example';
const CURRENT = 'salesforce-token-broker/acme';
const STAGED = 'salesforce-token-broker/acme-20261202t120000z';
const ENVIRONMENTS = 3;

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

function composeEnvironment(tableName: string, publisher: RecordingPublisher) {
  return composeExchangingTokenFunction({
    tableName,
    dynamo: dynamo.documents,
    secretsEndpoint: secrets.endpoint,
    publisher,
  });
}

async function requestToken(handler: TokenFunctionHandler) {
  const event = buildRestEvent({
    method: 'POST',
    resource: '/orgs/{orgId}/token',
    path: '/orgs/acme/token',
    pathParameters: { orgId: 'acme' },
    callerArn: CALLER,
    // Every request a fresh exchange: the cache would hide the swap.
    body: '{"forceRefresh":true}',
  });
  const response = await handler(event, createLambdaContext({ timeoutMs: 20_000 }));
  return {
    status: response.statusCode,
    body: JSON.parse(response.body) as Record<string, unknown>,
  };
}

describe('staged key rotation', () => {
  it('swaps the certificate under continuous traffic from several environments with no caller-visible failure and one key.rotated event', async () => {
    const [current, next] = await Promise.all([
      signingMaterial('rotation-current'),
      signingMaterial('rotation-next'),
    ]);
    const { control } = emulator;
    await control.reset();
    const sfOrg = await control.createOrg({ myDomainHost: 'acme.my.salesforce.com' });
    const app = await control.createApp(sfOrg.id, { certificates: [current.certificatePem] });
    await control.createUser(sfOrg.id, { username: USER });
    await control.approve(USER, app.consumerKey, ['api', 'refresh_token']);
    await secrets.putSecret(CURRENT, current.secretString);
    const tableName = await dynamo.createTable();
    const registry = createDynamoOrgRegistry({
      client: dynamo.documents,
      tableName,
    });
    await registry.putOrg(
      validateOrgRecord({
        orgId: 'acme',
        loginUrl: emulator.hostUrl('login.salesforce.com'),
        consumerKey: app.consumerKey,
        username: USER,
        signingKeySecretId: CURRENT,
        callers: [CALLER],
      }),
    );

    const publisher = new RecordingPublisher();
    const environments = Array.from({ length: ENVIRONMENTS }, () =>
      composeEnvironment(tableName, publisher),
    );
    const output = captureOutput();
    const answers: { status: number; at: number; token: string }[] = [];
    let running = true;
    const traffic = environments.map(async (handler) => {
      while (running) {
        const { status, body } = await requestToken(handler);
        answers.push({ status, at: Date.now(), token: String(body.access_token) });
      }
    });
    const waitForAnswers = async (count: number) => {
      while (answers.length < count) await new Promise((resolve) => setTimeout(resolve, 5));
    };

    try {
      await waitForAnswers(15);
      // The operator: `keys rotate --org acme` stores and stages the next key...
      await secrets.putSecret(STAGED, next.secretString);
      await registry.stageKey('acme', STAGED, new Date().toISOString());
      await waitForAnswers(answers.length + 10);
      // ...then uploads its certificate, which replaces the only one the app holds.
      const swapStarted = Date.now();
      await control.updateApp(app.consumerKey, { certificates: [next.certificatePem] });
      const swappedAt = Date.now();
      await waitForAnswers(answers.length + 30);
      running = false;
      await Promise.all(traffic);

      expect(answers.filter((answer) => answer.status !== 200)).toEqual([]);
      expect(answers.filter((answer) => answer.at > swappedAt).length).toBeGreaterThanOrEqual(30);
      expect(publisher.types()).toEqual(['token_broker.key.rotated']);
      expect(publisher.events[0]?.data).toMatchObject({
        orgId: 'acme',
        previousKey: CURRENT,
        currentKey: STAGED,
        keyKind: 'secret',
        certificateFingerprintSha256: next.fingerprintSha256,
      });
      expect(await registry.getKeyRotation('acme')).toMatchObject({
        currentSecretId: STAGED,
        previousSecretId: CURRENT,
      });
      // The registry's own fields are untouched: only `keys rotate --finish` folds the promotion in.
      expect((await registry.getOrg('acme'))?.signingKeySecretId).toBe(CURRENT);

      // Salesforce's side: every login was verified by the certificate active at that moment.
      const logins = await control.loginHistory({ username: USER, grant: 'jwt-bearer' });
      expect(logins.length).toBe(answers.length);
      for (const login of logins) {
        const at = Date.parse(login.at);
        // During the control call itself either certificate may be the active one.
        if (at >= swapStarted && at <= swappedAt) continue;
        const expected = at < swapStarted ? current.fingerprintSha256 : next.fingerprintSha256;
        expect(login.certificateSha256, login.at).toBe(expected);
      }
      expect(
        logins.filter((login) => login.certificateSha256 === next.fingerprintSha256).length,
      ).toBeGreaterThanOrEqual(30);
      expect(
        findSecrets(output.text(), [
          current.privateKeyPem,
          next.privateKeyPem,
          ...answers.map((answer) => answer.token),
        ]),
      ).toEqual([]);
    } finally {
      running = false;
      output.stop();
    }
  }, 60_000);
});
