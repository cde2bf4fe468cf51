import { createPublicKey } from 'node:crypto';
import { decodeProtectedHeader, jwtVerify } from 'jose';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createSalesforceTokenClient } from '../../lambda/adapters/salesforce-token-client';
import { type Category, SALESFORCE_CATEGORIES } from '../../lambda/core/categories';
import { deadlineIn, SYSTEM_TIME } from '../../lambda/core/deadline';
import { BrokerError } from '../../lambda/core/errors';
import { validateOrgRecord } from '../../lambda/core/org-record';
import { isRememberedCategory } from '../../lambda/core/shared-token';
import type { OrgRecord } from '../../lambda/core/types';
import { createTokenService, type TokenService } from '../../lambda/services/token-service';
import {
  createMemoryFleet,
  createMemoryKeys,
  createMemoryRegistry,
  createRecordingIncidents,
  createRecordingReporter,
  withJwtExchange,
} from '../support/in-memory-ports';
import { type SigningMaterial, signingMaterial } from '../support/keys';
import {
  json,
  MAINTENANCE_PAGE,
  type ScriptedSalesforce,
  SUCCESS_BODY,
  sfError,
  startScriptedSalesforce,
} from '../support/scripted-salesforce';

const CALLER = 'arn:aws:sts::123456789012:assumed-role/Fulfilment/i-0abc';
const PUBLIC_BASE_URL = 'https://broker.example.com/prod';

let salesforce: ScriptedSalesforce;
let material: SigningMaterial;
let org: OrgRecord;

beforeAll(async () => {
  salesforce = await startScriptedSalesforce();
  material = await signingMaterial('service');
  org = validateOrgRecord({
    orgId: 'acme',
    loginUrl: `${salesforce.url}/hosts/test.salesforce.com`,
    consumerKey: '3MVG9consumer.key',
    username: 'integration@acme.example',
    signingKeySecretId: 'keys/acme',
    callers: [CALLER],
    tokenTtlSeconds: 900,
  });
});
afterAll(() => salesforce.close());
beforeEach(() => {
  salesforce.requests.length = 0;
  salesforce.answerWith(json(200, SUCCESS_BODY));
});

function build(
  options: {
    tracker?: ReturnType<typeof createRecordingIncidents>;
    now?: () => number;
    /** The fleet's failure memory, ms. @default 60000 */
    failureMemoryMs?: number;
  } = {},
) {
  const warnings: string[] = [];
  const registry = createMemoryRegistry([org]);
  const keys = createMemoryKeys({ 'keys/acme': material.secretString });
  const time = options.now && { now: options.now, after: SYSTEM_TIME.after };
  const reporter = createRecordingReporter();
  const { reports } = reporter;
  const tracker = options.tracker ?? createRecordingIncidents();
  const service: TokenService = createTokenService({
    fleet: createMemoryFleet({
      ...(time ? { time } : {}),
      ...(options.failureMemoryMs === undefined
        ? {}
        : { failureMemoryMs: options.failureMemoryMs }),
    }),
    registry,
    ...withJwtExchange({
      signingKeys: keys,
      tokenEndpoint: createSalesforceTokenClient({ timeoutMs: 2000, sleep: async () => undefined }),
      publicBaseUrl: PUBLIC_BASE_URL,
      ...(time ? { time } : {}),
    }),
    incidents: tracker,
    reporter,
    logger: {
      info: () => undefined,
      warn: (message, extra) => warnings.push(`${message} ${JSON.stringify(extra)}`),
    },
    ...(time ? { time } : {}),
  });
  return { service, registry, keys, reports, tracker, warnings };
}

const ctx = (extra: Record<string, unknown> = {}) => ({
  caller: CALLER,
  requestId: 'req-1',
  deadline: deadlineIn(5000, Date.now()),
  ...extra,
});

async function failureOf(promise: Promise<unknown>): Promise<BrokerError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(BrokerError);
    return error as BrokerError;
  }
  throw new Error('expected a BrokerError');
}

/** A link the service signed for acme, under the test's public base URL. */
const SIGNED_LINK = expect.stringMatching(
  /^https:\/\/broker\.example\.com\/prod\/oauth\/authorize\?org=acme&exp=\d+&sig=[\w-]{43}$/,
);

describe('token service against a loopback token endpoint with real RS256 keys', () => {
  it('exchanges a correctly signed assertion and serves the token with expires_at', async () => {
    const before = Math.floor(Date.now() / 1000);
    const { service, reports, tracker, registry } = build();
    const result = await service.getToken('acme', ctx());
    const after = Math.floor(Date.now() / 1000);

    expect(result.cacheHit).toBe(false);
    expect(result.grant).toMatchObject({ ...SUCCESS_BODY, org_id: 'acme' });
    const expiresAt = Date.parse(result.grant.expires_at);
    expect(expiresAt).toBeGreaterThanOrEqual(before * 1000 + 900_000);
    expect(expiresAt).toBeLessThanOrEqual((after + 1) * 1000 + 900_000);

    const [request] = salesforce.requests;
    expect(request?.path).toBe('/hosts/test.salesforce.com/services/oauth2/token');
    expect(request?.contentType).toBe('application/x-www-form-urlencoded');
    expect(Object.keys(request?.form ?? {}).sort()).toEqual(['assertion', 'grant_type']);
    expect(request?.form.grant_type).toBe('urn:ietf:params:oauth:grant-type:jwt-bearer');
    const assertion = request?.form.assertion ?? '';
    expect(decodeProtectedHeader(assertion)).toEqual({ alg: 'RS256', typ: 'JWT' });
    const { payload } = await jwtVerify(assertion, createPublicKey(material.certificatePem), {
      algorithms: ['RS256'],
    });
    expect(Object.keys(payload).sort()).toEqual(['aud', 'exp', 'iat', 'iss', 'jti', 'sub']);
    expect(payload).toMatchObject({
      iss: '3MVG9consumer.key',
      sub: 'integration@acme.example',
      aud: 'https://test.salesforce.com',
    });
    expect(Number.isInteger(payload.exp)).toBe(true);
    expect(payload.iat).toBeGreaterThanOrEqual(before);
    expect(payload.iat).toBeLessThanOrEqual(after);
    expect((payload.exp ?? 0) - (payload.iat ?? 0)).toBeLessThanOrEqual(180);
    expect((payload.exp ?? 0) - (payload.iat ?? 0)).toBeGreaterThan(0);
    expect(payload.jti).toMatch(/^[0-9a-f-]{36}$/);

    expect(reports).toMatchObject([{ orgId: 'acme', ok: true, attempts: 1, keyReread: false }]);
    expect(tracker.calls).toEqual(['success acme token_exchange req-1']);
    expect(registry.outcomes.get('acme')).toMatchObject({ ok: true, requestId: 'req-1' });
  });

  it('serves the cache afterwards without touching Salesforce or the incident tracker', async () => {
    const { service, tracker, reports } = build();
    await service.getToken('acme', ctx());
    const second = await service.getToken('acme', ctx({ requestId: 'req-2' }));
    expect(second.cacheHit).toBe(true);
    expect(salesforce.requests).toHaveLength(1);
    expect(tracker.calls).toHaveLength(1);
    expect(reports).toHaveLength(1);
  });

  it('makes exactly one exchange for 1,000 concurrent requests on a cold cache', async () => {
    salesforce.answerWith({ ...json(200, SUCCESS_BODY), delayMs: 50 });
    const { service } = build();
    const results = await Promise.all(
      Array.from({ length: 1000 }, (_, i) => service.getToken('acme', ctx({ requestId: `r${i}` }))),
    );
    expect(salesforce.requests).toHaveLength(1);
    expect(results.filter((r) => !r.cacheHit)).toHaveLength(1000);
    expect(new Set(results.map((r) => r.grant.access_token)).size).toBe(1);
  });

  it('re-exchanges on forceRefresh and after invalidate', async () => {
    const { service } = build();
    await service.getToken('acme', ctx());
    await service.getToken('acme', ctx({ forceRefresh: true }));
    expect(await service.invalidate('acme', { caller: CALLER })).toBe(true);
    expect((await service.getToken('acme', ctx())).cacheHit).toBe(false);
    expect(salesforce.requests).toHaveLength(3);
  });

  it('refreshes after expires_at', async () => {
    let now = Date.now();
    const { service } = build({ now: () => now });
    await service.getToken('acme', ctx());
    now += 899_999;
    expect((await service.getToken('acme', ctx())).cacheHit).toBe(true);
    now += 1;
    expect(
      (await service.getToken('acme', ctx({ deadline: deadlineIn(5000, now) }))).cacheHit,
    ).toBe(false);
  });

  const failures: [string, Parameters<ScriptedSalesforce['answerWith']>[0]][] = [
    ['consumer_not_approved', sfError('invalid_grant', "user hasn't approved this consumer")],
    [
      'user_not_admin_approved',
      sfError('invalid_app_access', 'user is not admin approved to access this app'),
    ],
    [
      'app_not_installed',
      sfError('invalid_grant', 'External client app is not installed in this org'),
    ],
    ['audience_invalid', sfError('invalid_grant', 'audience is invalid')],
    ['assertion_expired', sfError('invalid_grant', 'expired authorization code')],
    ['unknown_consumer_key', sfError('invalid_client_id', 'client identifier invalid')],
    ['user_inactive', sfError('invalid_grant', 'inactive user')],
    ['ip_restricted', sfError('invalid_grant', 'ip restricted')],
    ['org_inactive', sfError('inactive_org', 'organization is locked, closed, or suspended')],
    ['login_rate_exceeded', sfError('rate_limit_exceeded', 'number of logins exceeded')],
    ['salesforce_unavailable', MAINTENANCE_PAGE],
    ['unexpected_response', sfError('brand_new_error', 'never seen before')],
    [
      'client_credentials_user_missing',
      sfError('invalid_grant', 'no client credentials user enabled'),
    ],
    ['my_domain_required', sfError('invalid_grant', 'request not supported on this domain')],
    ['invalid_client_credentials', sfError('invalid_client', 'invalid client credentials')],
  ];

  it.each(failures)(
    'turns %s into a BrokerError with remediation and Salesforce detail',
    async (category, answer) => {
      salesforce.answerWith(answer);
      const { service, tracker, reports, registry } = build();
      const error = await failureOf(service.getToken('acme', ctx()));
      expect(error.category).toBe(category);
      expect(error.remediation?.runbook).toBe(`docs/runbook.md#${category}`);
      expect(error.message).toBe(error.remediation?.summary);
      expect(error.salesforce?.status).toBe(
        answer && 'status' in answer ? answer.status : undefined,
      );
      expect(tracker.calls).toEqual([`failure acme ${category} req-1`]);
      expect(reports[0]).toMatchObject({ ok: false, category });
      expect(registry.outcomes.get('acme')).toMatchObject({ ok: false, category });
      if (category === 'salesforce_unavailable') {
        expect(error.retryAfterSeconds).toBe(5);
        expect(reports[0]?.attempts).toBe(3);
      }
      if (category === 'login_rate_exceeded') expect(error.retryAfterSeconds).toBe(300);
      if (category === 'consumer_not_approved') {
        expect(error.remediation?.approvalLink).toEqual(SIGNED_LINK);
        expect(error.remediation?.salesforceAuthorizeUrl).toContain(
          `${org.loginUrl}/services/oauth2/authorize?client_id=3MVG9consumer.key`,
        );
      }
      // A failure that will not change by itself is remembered fleet-wide: the next request gets
      // the same answer, marked remembered, without another login; any other goes to Salesforce.
      salesforce.answerWith(json(200, SUCCESS_BODY));
      const logins = salesforce.requests.length;
      if (isRememberedCategory(category as Category)) {
        const again = await failureOf(service.getToken('acme', ctx()));
        expect(again).toMatchObject({ category, message: error.message, remembered: true });
        expect(again.remediation).toEqual(error.remediation);
        expect(salesforce.requests).toHaveLength(logins);
      } else {
        expect((await service.getToken('acme', ctx())).cacheHit).toBe(false);
        expect(salesforce.requests).toHaveLength(logins + 1);
      }
    },
  );

  it('covers every Salesforce category except invalid_assertion above (tested on its own)', () => {
    const covered = new Set(failures.map(([category]) => category));
    expect(SALESFORCE_CATEGORIES.filter((c) => !covered.has(c))).toEqual(['invalid_assertion']);
  });

  it('retries a 5xx then succeeds', async () => {
    salesforce.answerWith(
      sfError('unknown_error', 'retry your request', 500),
      json(200, SUCCESS_BODY),
    );
    const { service, reports } = build();
    expect((await service.getToken('acme', ctx())).grant.access_token).toBe(
      SUCCESS_BODY.access_token,
    );
    expect(reports[0]).toMatchObject({ ok: true, attempts: 2 });
  });

  it('on invalid_assertion re-reads the key once and retries only if it changed', async () => {
    salesforce.answerWith(sfError('invalid_grant', 'invalid assertion'));
    const unchanged = build();
    expect((await failureOf(unchanged.service.getToken('acme', ctx()))).category).toBe(
      'invalid_assertion',
    );
    expect(unchanged.keys.reads).toEqual(['keys/acme', 'keys/acme (forced)']);
    expect(salesforce.requests).toHaveLength(1);

    salesforce.requests.length = 0;
    const rotatedTo = await signingMaterial('service-rotated');
    const rotated = build();
    salesforce.answerWith(async (request) => {
      try {
        await jwtVerify(request.form.assertion ?? '', createPublicKey(rotatedTo.certificatePem));
        return json(200, SUCCESS_BODY);
      } catch {
        rotated.keys.rotate('keys/acme', rotatedTo.secretString);
        return sfError('invalid_grant', 'invalid assertion');
      }
    });
    const result = await rotated.service.getToken('acme', ctx());
    expect(result.grant.access_token).toBe(SUCCESS_BODY.access_token);
    expect(salesforce.requests).toHaveLength(2);
    expect(rotated.reports[0]).toMatchObject({ ok: true, keyReread: true, attempts: 2 });
  });

  it('reports an unreadable key as signing_key_unavailable and opens an incident for it', async () => {
    const { service, tracker, registry } = build();
    await registry.putOrg({ ...org, signingKeySecretId: 'keys/missing' });
    const error = await failureOf(service.getToken('acme', ctx()));
    expect(error.category).toBe('signing_key_unavailable');
    expect(tracker.calls).toEqual([
      expect.stringMatching(/^failure acme signing_key_unavailable /),
    ]);
    expect(salesforce.requests).toHaveLength(0);
  });

  it('refuses an unknown org as an unlisted caller: same error, and the same registry reads', async () => {
    const { service, registry } = build();
    const stranger = 'arn:aws:sts::123456789012:assumed-role/Stranger/s';
    const reads = async (orgId: string, caller: string) => {
      const before = registry.gets;
      const error = await failureOf(service.getToken(orgId, ctx({ caller })));
      return { category: error.category, message: error.message, reads: registry.gets - before };
    };
    // First sight: one registry read each; within the cache time: none for either.
    for (const expectedReads of [1, 0]) {
      const unknown = await reads('nobody', CALLER);
      const unlisted = await reads('acme', stranger);
      expect(unknown).toEqual({
        category: 'caller_not_authorized',
        message: 'The caller is not allowed to use org nobody',
        reads: expectedReads,
      });
      expect(unlisted).toEqual({
        ...unknown,
        message: 'The caller is not allowed to use org acme',
      });
    }
  });

  it('denies unknown orgs and callers not on the list', async () => {
    const { service } = build();
    expect((await failureOf(service.getToken('nobody', ctx()))).category).toBe(
      'caller_not_authorized',
    );
    const other = 'arn:aws:sts::123456789012:assumed-role/Other/s';
    expect((await failureOf(service.getToken('acme', ctx({ caller: other })))).category).toBe(
      'caller_not_authorized',
    );
    expect((await failureOf(service.getToken('acme', ctx({ caller: null })))).category).toBe(
      'caller_not_authorized',
    );
    expect((await failureOf(service.invalidate('acme', { caller: other }))).category).toBe(
      'caller_not_authorized',
    );
    expect((await failureOf(service.status('acme', { caller: other }))).category).toBe(
      'caller_not_authorized',
    );
    expect(salesforce.requests).toHaveLength(0);
  });

  it('survives a throwing incident tracker', async () => {
    salesforce.answerWith(
      sfError('invalid_grant', "user hasn't approved this consumer"),
      json(200, SUCCESS_BODY),
    );
    const { service, tracker, warnings } = build({
      tracker: createRecordingIncidents({ failWith: new Error('ledger down') }),
      failureMemoryMs: 0,
    });
    expect((await failureOf(service.getToken('acme', ctx()))).category).toBe(
      'consumer_not_approved',
    );
    expect((await service.getToken('acme', ctx())).cacheHit).toBe(false);
    expect(tracker.calls).toHaveLength(2);
    const status = await service.status('acme', { caller: CALLER });
    expect(status.openIncidents).toEqual([]);
    const warning = (what: string) =>
      `${what} failed; the response is unaffected {"org_id":"acme","error":"Error: ledger down"}`;
    expect(warnings).toEqual([
      warning('Incident tracking'),
      warning('Incident tracking'),
      warning('Listing open incidents'),
    ]);
  });

  it('exchangeFresh bypasses the cache, refreshes it, and records the success with its cause', async () => {
    const { service, tracker } = build();
    await service.getToken('acme', ctx());
    const fresh = await service.exchangeFresh(org, {
      requestId: 'cb-1',
      deadline: deadlineIn(5000, Date.now()),
      cause: 'approval_callback',
    });
    expect(fresh.org_id).toBe('acme');
    expect(salesforce.requests).toHaveLength(2);
    expect(tracker.calls).toEqual([
      'success acme token_exchange req-1',
      'success acme approval_callback cb-1',
    ]);
    expect((await service.getToken('acme', ctx())).cacheHit).toBe(true);
    salesforce.answerWith(sfError('invalid_grant', "user hasn't approved this consumer"));
    expect(
      (
        await failureOf(
          service.exchangeFresh(org, {
            requestId: 'cb-2',
            deadline: deadlineIn(5000, Date.now()),
            cause: 'approval_callback',
          }),
        )
      ).category,
    ).toBe('consumer_not_approved');
  });

  it('reports status: record, links, last outcome, open incidents and the certificate', async () => {
    const open = [
      { category: 'consumer_not_approved', count: 2, firstSeenAt: 'a', lastSeenAt: 'b' },
    ];
    const { service } = build({ tracker: createRecordingIncidents({ open }) });
    await service.getToken('acme', ctx());
    const status = await service.status('acme', { caller: CALLER });
    expect(status).toMatchObject({
      org,
      approvalLink: SIGNED_LINK,
      redirectUri: `${PUBLIC_BASE_URL}/oauth/callback`,
      lastExchange: { ok: true, requestId: 'req-1' },
      openIncidents: open,
      signingKey: {
        available: true,
        certificate: { fingerprintSha256: material.fingerprintSha256, matchesPrivateKey: true },
      },
    });
    expect(JSON.stringify(status)).not.toContain(SUCCESS_BODY.access_token);
  });
});
