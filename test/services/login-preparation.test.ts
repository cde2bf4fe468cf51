import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSalesforceTokenClient } from '../../lambda/adapters/salesforce-token-client';
import { deadlineIn } from '../../lambda/core/deadline';
import { validateOrgRecord } from '../../lambda/core/org-record';
import type { SharedTokenStore } from '../../lambda/core/ports';
import { createTokenService } from '../../lambda/services/token-service';
import {
  createMemoryFleet,
  createMemoryKeys,
  createMemoryRegistry,
  createMemorySharedTokenStore,
  createRecordingIncidents,
  createRecordingReporter,
  withJwtExchange,
} from '../support/in-memory-ports';
import { signingMaterial } from '../support/keys';
import {
  json,
  type ScriptedSalesforce,
  SUCCESS_BODY,
  startScriptedSalesforce,
} from '../support/scripted-salesforce';

const CALLER = 'arn:aws:sts::123456789012:assumed-role/Fulfilment/i-0abc';
let salesforce: ScriptedSalesforce;

beforeAll(async () => {
  salesforce = await startScriptedSalesforce();
  salesforce.answerWith(json(200, SUCCESS_BODY));
});
afterAll(() => salesforce.close());

describe('login preparation', () => {
  it("starts reading the signing key while the fleet's lease is being taken", async () => {
    const org = validateOrgRecord({
      orgId: 'acme',
      loginUrl: `${salesforce.url}/hosts/test.salesforce.com`,
      consumerKey: '3MVG9consumer.key',
      username: 'integration@acme.example',
      signingKeySecretId: 'keys/acme',
      callers: [CALLER],
    });
    const keys = createMemoryKeys({ 'keys/acme': (await signingMaterial('prepare')).secretString });
    const events: string[] = [];
    const inner = createMemorySharedTokenStore();
    let openLease: () => void = () => undefined;
    const leaseGate = new Promise<void>((resolve) => {
      openLease = resolve;
    });
    // The lease's round trip is held until the test has seen the key read start.
    const store: SharedTokenStore = Object.assign(Object.create(inner), {
      async acquireLease(...args: Parameters<SharedTokenStore['acquireLease']>) {
        events.push('lease asked');
        await leaseGate;
        return inner.acquireLease(...args);
      },
    });
    const countingKeys = {
      ...keys,
      getSigningKey: (...args: Parameters<typeof keys.getSigningKey>) => {
        events.push('key read');
        return keys.getSigningKey(...args);
      },
    };
    const service = createTokenService({
      fleet: createMemoryFleet({ store }),
      registry: createMemoryRegistry([org]),
      ...withJwtExchange({
        signingKeys: countingKeys,
        tokenEndpoint: createSalesforceTokenClient({ timeoutMs: 2000 }),
        publicBaseUrl: 'https://broker.example.com/prod',
      }),
      incidents: createRecordingIncidents(),
      reporter: createRecordingReporter(),
      logger: { info: () => undefined, warn: () => undefined },
    });
    const served = service.getToken('acme', {
      caller: CALLER,
      requestId: 'r1',
      deadline: deadlineIn(5000, Date.now()),
    });
    await expect.poll(() => events.includes('key read')).toBe(true);
    // Both are under way before the lease has answered: the key read overlaps the round trip.
    expect([...events].sort()).toEqual(['key read', 'lease asked']);
    openLease();
    expect((await served).grant.access_token).toBe(SUCCESS_BODY.access_token);
    expect(salesforce.requests).toHaveLength(1);
  });
});
