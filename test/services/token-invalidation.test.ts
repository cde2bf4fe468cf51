/**
 * Token invalidation across function instances: two token services (two warm Lambda instances)
 * over one DynamoDB table (dynalite) and one scripted Salesforce. A DELETE or forceRefresh on one
 * reaches the other when it next reloads the org record, and never costs a cache hit a DynamoDB
 * call.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { DynamoDocuments } from '../../lambda/adapters/dynamo-documents';
import { createDynamoOrgRegistry } from '../../lambda/adapters/org-registry';
import { createSalesforceTokenClient } from '../../lambda/adapters/salesforce-token-client';
import { deadlineIn, SYSTEM_TIME } from '../../lambda/core/deadline';
import { validateOrgRecord } from '../../lambda/core/org-record';
import type { SharedTokenStore } from '../../lambda/core/ports';
import { createTokenService, type TokenService } from '../../lambda/services/token-service';
import { createLocalDocuments } from '../../local/aws-clients';
import { type LocalDynamo, startDynalite } from '../support/dynalite';
import {
  createMemoryFleet,
  createMemoryKeys,
  createMemorySharedTokenStore,
  createRecordingLogger,
  createRecordingReporter,
  NO_INCIDENTS,
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
const ORG_CACHE_TTL_MS = 30_000;

let salesforce: ScriptedSalesforce;
let dynamo: LocalDynamo;
let documents: DynamoDocuments;
let secretString: string;
let now: number;
let issued: number;

beforeAll(async () => {
  [salesforce, dynamo] = await Promise.all([startScriptedSalesforce(), startDynalite()]);
  documents = dynamo.documents;
  secretString = (await signingMaterial('invalidation')).secretString;
});
afterAll(() => Promise.all([salesforce.close(), dynamo.close()]));

beforeEach(() => {
  now = Date.UTC(2026, 0, 1);
  issued = 0;
  salesforce.requests.length = 0;
  // Each exchange gets a token of its own, so a test can tell which one is served.
  salesforce.answerWith(() =>
    json(200, { ...SUCCESS_BODY, access_token: `00D!token-${++issued}` }),
  );
});

/** One function instance: its own token service, its own SDK-call count, the shared table. */
function startInstance(
  tableName: string,
  sharedStore: SharedTokenStore,
  minTokenAgeMs = 0,
): { service: TokenService; dynamoCalls: () => number } {
  let calls = 0;
  // Counted at the transport: every DynamoDB request this instance sends.
  const client = createLocalDocuments(dynamo.endpoint, {
    fetch: (input, init) => {
      calls += 1;
      return fetch(input, init);
    },
  });
  const service = createTokenService({
    fleet: createMemoryFleet({
      store: sharedStore,
      time: { now: () => now, after: SYSTEM_TIME.after },
      minTokenAgeMs,
    }),
    registry: createDynamoOrgRegistry({ client, tableName }),
    ...withJwtExchange({
      signingKeys: createMemoryKeys({ 'keys/acme': secretString }),
      tokenEndpoint: createSalesforceTokenClient({ timeoutMs: 2000, sleep: async () => undefined }),
      publicBaseUrl: 'https://broker.example.com/prod',
      time: { now: () => now, after: SYSTEM_TIME.after },
    }),
    incidents: NO_INCIDENTS,
    reporter: createRecordingReporter(),
    logger: createRecordingLogger(),
    time: { now: () => now, after: SYSTEM_TIME.after },
    orgCacheTtlMs: ORG_CACHE_TTL_MS,
  });
  return { service, dynamoCalls: () => calls };
}

async function twoInstances(options: { minTokenAgeMs?: number } = {}) {
  const tableName = await dynamo.createTable();
  await createDynamoOrgRegistry({ client: documents, tableName }).putOrg(
    validateOrgRecord({
      orgId: 'acme',
      loginUrl: salesforce.url,
      consumerKey: '3MVG9consumer.key',
      username: 'integration@acme.example',
      signingKeySecretId: 'keys/acme',
      callers: [CALLER],
    }),
  );
  // One fleet: both instances share the org's token item.
  const sharedStore = createMemorySharedTokenStore();
  return [
    startInstance(tableName, sharedStore, options.minTokenAgeMs),
    startInstance(tableName, sharedStore, options.minTokenAgeMs),
  ] as const;
}

const context = (extra: { forceRefresh?: boolean } = {}) => ({
  caller: CALLER,
  requestId: 'req',
  deadline: deadlineIn(5000, Date.now()),
  ...extra,
});

async function tokenOf(instance: { service: TokenService }, extra = {}) {
  const result = await instance.service.getToken('acme', context(extra));
  return `${result.grant.access_token} ${result.cacheHit ? 'hit' : 'miss'}`;
}

describe('token invalidation across instances (two services, one table, one fleet)', () => {
  it('DELETE on one instance reaches the other within the org-record cache time', async () => {
    const [a, b] = await twoInstances();
    expect(await tokenOf(a)).toBe('00D!token-1 miss');
    // B's memory is cold, the fleet's is not: no second login.
    expect(await tokenOf(b)).toBe('00D!token-1 miss');
    expect(salesforce.requests).toHaveLength(1);
    now += 1000;
    expect(await a.service.invalidate('acme', { caller: CALLER })).toBe(true);
    expect(await tokenOf(a)).toBe('00D!token-2 miss');

    // B trusts its org record for 30 s: until then it may still serve its token, from memory.
    const before = b.dynamoCalls();
    now += ORG_CACHE_TTL_MS - 1001;
    expect(await tokenOf(b)).toBe('00D!token-1 hit');
    expect(b.dynamoCalls() - before).toBe(0);

    // Reloading the record, B sees the invalidation, drops its copy and takes A's new token.
    now += 1;
    expect(await tokenOf(b)).toBe('00D!token-2 miss');
    now += ORG_CACHE_TTL_MS;
    expect(await tokenOf(a)).toBe('00D!token-2 hit');
    expect(await tokenOf(b)).toBe('00D!token-2 hit');
    expect(salesforce.requests).toHaveLength(2);
  });

  it('forceRefresh on one instance reaches the other the same way', async () => {
    const [a, b] = await twoInstances();
    await tokenOf(a);
    await tokenOf(b);
    now += 1000;
    expect(await tokenOf(a, { forceRefresh: true })).toBe('00D!token-2 miss');
    now += ORG_CACHE_TTL_MS;
    expect(await tokenOf(b)).toBe('00D!token-2 miss');
    expect(await tokenOf(a)).toBe('00D!token-2 hit');
    expect(salesforce.requests).toHaveLength(2);
  });

  it('forceRefresh and DELETE inside the minimum token age make no login', async () => {
    const [a, b] = await twoInstances({ minTokenAgeMs: 30_000 });
    expect(await tokenOf(a)).toBe('00D!token-1 miss');
    now += 29_000;
    expect(await tokenOf(b, { forceRefresh: true })).toBe('00D!token-1 miss');
    expect(await a.service.invalidate('acme', { caller: CALLER })).toBe(false);
    expect(await tokenOf(a)).toBe('00D!token-1 hit');
    expect(salesforce.requests).toHaveLength(1);
    // Old enough: the next forceRefresh logs in.
    now += 1000;
    expect(await tokenOf(b, { forceRefresh: true })).toBe('00D!token-2 miss');
    expect(salesforce.requests).toHaveLength(2);
  });
});
