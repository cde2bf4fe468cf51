import { describe, expect, it } from 'vitest';
import { deadlineIn } from '../../lambda/core/deadline';
import { BrokerError } from '../../lambda/core/errors';
import { computeS256Challenge, type OAuthStateRecord } from '../../lambda/core/oauth-state';
import type {
  ApprovalIdentity,
  AuthorizationCodeClient,
  OAuthStateStore,
} from '../../lambda/core/ports';
import type { OrgRecord, TokenGrant } from '../../lambda/core/types';
import { createApprovalService } from '../../lambda/services/approval-service';
import { RecordingPublisher } from '../support/events';
import { createMemoryApprovalLinks } from '../support/in-memory-ports';

const org: OrgRecord = {
  orgId: 'acme',
  loginUrl: 'https://acme.my.salesforce.com',
  environment: 'production',
  audience: 'https://login.salesforce.com',
  consumerKey: '3MVG9consumer',
  username: 'integration@acme.example',
  signingKeySecretId: 'acme-key',
  tokenTtlSeconds: 1800,
  callers: [],
};
const grant: TokenGrant = {
  access_token: '00Dxx!fake-access-token',
  instance_url: 'https://acme.my.salesforce.com',
  id: 'https://login.salesforce.com/id/00D/005',
  token_type: 'Bearer',
  expires_at: '2026-11-28T13:00:00.000Z',
  org_id: 'acme',
};

/** An in-memory state store with the same consume-once semantics as the DynamoDB adapter. */
function memoryStates(): OAuthStateStore & { size(): number } {
  const items = new Map<string, OAuthStateRecord>();
  return {
    async save(record) {
      items.set(record.stateHash, record);
    },
    async consume(hash) {
      const record = items.get(hash);
      items.delete(hash);
      return record;
    },
    size: () => items.size,
  };
}

function setup(
  options: { identity?: ApprovalIdentity | BrokerError; jwt?: 'ok' | BrokerError } = {},
) {
  let now = Date.UTC(2026, 10, 28, 12, 0, 0);
  const states = memoryStates();
  const events = new RecordingPublisher();
  const redeemed: Parameters<AuthorizationCodeClient['redeemCode']>[0][] = [];
  const resolved: unknown[] = [];
  const logs: [string, Record<string, unknown>][] = [];
  let registered = true;
  const orgReads: string[] = [];
  const links = createMemoryApprovalLinks({
    publicBaseUrl: 'https://broker.example.com/prod',
    time: { now: () => now, after: () => () => undefined },
  });
  const service = createApprovalService({
    orgs: {
      getOrg: async (id) => {
        orgReads.push(id);
        return registered && id === org.orgId ? org : undefined;
      },
    },
    states,
    codes: {
      async redeemCode(input) {
        redeemed.push(input);
        const identity = options.identity ?? {
          username: 'Integration@Acme.example',
          grantedScopes: ['api', 'refresh_token'],
          revokeApproval: async () => {
            throw new Error("the integration user's approval must never be revoked");
          },
        };
        if (identity instanceof BrokerError) throw identity;
        return identity;
      },
    },
    tokens: {
      // The token service resolves the org's incidents with the exchange's cause on success.
      async exchangeFresh(exchanged, { requestId, cause }) {
        const jwt = options.jwt ?? 'ok';
        if (jwt !== 'ok') throw jwt;
        resolved.push({ org: exchanged, requestId, cause });
        return grant;
      },
    },
    events,
    eventContext: { source: 'urn:test', clock: () => now, newId: () => `id-${now}` },
    clock: () => now,
    logger: { info: (...args) => void logs.push(args), warn: (...args) => void logs.push(args) },
    publicBaseUrl: 'https://broker.example.com/prod',
    links,
    stateTtlSeconds: 600,
  });
  /** The query of a link as API Gateway hands it over. */
  const queryOf = (link: string) => {
    const query: Record<string, string[]> = {};
    for (const [name, value] of new URL(link).searchParams) query[name] = [value];
    return query;
  };

  async function start(cookieValue?: string) {
    const query = queryOf(await links.mint('acme'));
    const started = await service.start({ query, cookieValue });
    if (started.kind !== 'redirect') throw new Error('expected a redirect');
    const url = new URL(started.location);
    return { started, url, state: url.searchParams.get('state') as string };
  }
  const complete = (query: Record<string, string[]>, cookieValue: string | undefined) =>
    service.complete({
      query,
      cookieValue,
      requestId: 'req-1',
      deadline: deadlineIn(5000, now),
    });

  return {
    service,
    links,
    queryOf,
    orgReads,
    states,
    events,
    redeemed,
    resolved,
    logs,
    start,
    complete,
    advance: (ms: number) => {
      now += ms;
    },
    removeOrg: () => {
      registered = false;
    },
  };
}

const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const flipFirst = (mac: string) => `${mac[0] === 'A' ? 'B' : 'A'}${mac.slice(1)}`;
/** The same 32 bytes, non-canonically: the last character's two unused bits set. */
const setUnusedBits = (mac: string) =>
  `${mac.slice(0, -1)}${B64URL[B64URL.indexOf(mac.at(-1) ?? 'A') | 3]}`;

describe('approval service: start', () => {
  it('redirects to the org authorize endpoint with PKCE, scopes, hint and the exact redirect URI', async () => {
    const t = setup();
    const { started, url } = await t.start();
    expect(`${url.origin}${url.pathname}`).toBe(
      'https://acme.my.salesforce.com/services/oauth2/authorize',
    );
    const params = Object.fromEntries(url.searchParams);
    expect(params).toMatchObject({
      response_type: 'code',
      client_id: '3MVG9consumer',
      redirect_uri: 'https://broker.example.com/prod/oauth/callback',
      code_challenge_method: 'S256',
      scope: 'api refresh_token',
      login_hint: 'integration@acme.example',
    });
    expect(params.state).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(started.maxAgeSeconds).toBe(600);
    expect(t.states.size()).toBe(1);
  });

  it('refuses missing, malformed, expired, altered and unknown-org links with one page, reading no org for a bad link', async () => {
    const t = setup();
    const valid = t.queryOf(await t.links.mint('acme'));
    const exp = Number(valid.exp?.[0]);
    const altered = (name: string, value: string) => ({ ...valid, [name]: [value] });
    const cases: Record<string, Record<string, string[]> | null> = {
      none: null,
      'org only': { org: ['acme'] },
      repeated: { ...valid, org: ['acme', 'acme'] },
      'other org': altered('org', 'other'),
      'later expiry': altered('exp', String(exp + 60)),
      'other MAC': altered('sig', flipFirst(valid.sig?.[0] ?? '')),
      'MAC with its unused bits set': altered('sig', setUnusedBits(valid.sig?.[0] ?? '')),
      'unknown org, valid MAC': t.queryOf(await t.links.mint('ghost')),
    };
    const outcomes = [];
    for (const query of Object.values(cases)) {
      const started = await t.service.start({ query, cookieValue: undefined });
      if (started.kind !== 'page') throw new Error('expected a page');
      outcomes.push(started.outcome);
    }
    t.advance(7 * 86_400_000);
    const expired = await t.service.start({ query: valid, cookieValue: undefined });
    if (expired.kind !== 'page') throw new Error('expected a page');
    outcomes.push(expired.outcome);

    for (const outcome of outcomes) expect(outcome).toEqual(outcomes[0]);
    expect(outcomes[0]).toMatchObject({ kind: 'link_invalid', httpStatus: 400, orgId: undefined });
    expect(JSON.stringify(outcomes[0])).not.toMatch(/acme|ghost/);
    // Only the validly signed link for an unregistered org reaches the registry.
    expect(t.orgReads).toEqual(['ghost']);
    expect(t.states.size()).toBe(0);
  });
});

describe('approval service: complete', () => {
  it('tells the operator to revoke a stray approval by hand when Salesforce does not confirm the revocation', async () => {
    const t = setup({
      identity: {
        username: 'admin@acme.example',
        grantedScopes: ['api', 'refresh_token'],
        revokeApproval: async () => false,
      },
      jwt: new BrokerError('consumer_not_approved', "user hasn't approved this consumer"),
    });
    const { started, state } = await t.start();
    const outcome = await t.complete({ code: ['c'], state: [state] }, started.cookieValue);
    expect(outcome.kind).toBe('approver_mismatch');
    expect(outcome.steps[0]).toMatch(/^Revoke admin@acme\.example's approval of the app/);
    expect(outcome.facts).toContainEqual({
      label: 'Approval by admin@acme.example',
      value: 'NOT revoked',
    });
  });

  it('verifies, resolves the incident and publishes approval.completed', async () => {
    const t = setup();
    const { started, state } = await t.start();
    const outcome = await t.complete({ code: ['the-code'], state: [state] }, started.cookieValue);
    expect(outcome).toMatchObject({ kind: 'verified', httpStatus: 200 });
    const [redeemed] = t.redeemed;
    expect(redeemed).toMatchObject({
      code: 'the-code',
      redirectUri: 'https://broker.example.com/prod/oauth/callback',
    });
    expect(t.resolved).toEqual([{ org, requestId: 'req-1', cause: 'approval_callback' }]);
    expect(t.events.types()).toEqual(['token_broker.approval.completed']);
    expect(t.events.events[0]?.data).toMatchObject({
      orgId: 'acme',
      approverUsername: 'Integration@Acme.example',
      integrationUsername: 'integration@acme.example',
      grantedScopes: ['api', 'refresh_token'],
      jwtExchangeWorks: true,
    });
  });

  it('sends the verifier matching the challenge of the same attempt', async () => {
    const t = setup();
    const { started, url, state } = await t.start();
    await t.complete({ code: ['c'], state: [state] }, started.cookieValue);
    expect(computeS256Challenge(t.redeemed[0]?.codeVerifier ?? '')).toBe(
      url.searchParams.get('code_challenge'),
    );
  });

  it('refuses a replayed callback without exchanging again', async () => {
    const t = setup();
    const { started, state } = await t.start();
    await t.complete({ code: ['c'], state: [state] }, started.cookieValue);
    const replay = await t.complete({ code: ['c'], state: [state] }, started.cookieValue);
    expect(replay).toMatchObject({ kind: 'state_invalid', facts: [{ value: 'unknown_or_used' }] });
    expect(t.redeemed).toHaveLength(1);
  });

  it('refuses an expired attempt, and a foreign browser, and burns the attempt', async () => {
    const t = setup();
    const first = await t.start();
    t.advance(600_000);
    expect(
      await t.complete({ code: ['c'], state: [first.state] }, first.started.cookieValue),
    ).toMatchObject({ kind: 'state_invalid', facts: [{ value: 'expired' }], orgId: 'acme' });
    const second = await t.start();
    expect(await t.complete({ code: ['c'], state: [second.state] }, 'A'.repeat(43))).toMatchObject({
      facts: [{ value: 'cookie_mismatch' }],
    });
    expect(
      await t.complete({ code: ['c'], state: [second.state] }, second.started.cookieValue),
    ).toMatchObject({ facts: [{ value: 'unknown_or_used' }] });
    expect(t.redeemed).toHaveLength(0);
    expect(t.events.types()).toEqual([
      'token_broker.approval.failed',
      'token_broker.approval.failed',
    ]);
  });

  it('publishes nothing for a callback that cannot be tied to an org', async () => {
    const t = setup();
    expect(await t.complete({ code: ['c'] }, undefined)).toMatchObject({
      kind: 'state_invalid',
      facts: [{ value: 'missing' }],
    });
    expect(await t.complete({ code: ['c'], state: ['<script>'] }, undefined)).toMatchObject({
      facts: [{ value: 'malformed' }],
    });
    expect(t.events.types()).toEqual([]);
  });

  it('maps a denial after checking the state, without exchanging', async () => {
    const t = setup();
    const { started, state } = await t.start();
    const outcome = await t.complete(
      {
        error: ['access_denied'],
        error_description: ['end-user denied authorization'],
        state: [state],
      },
      started.cookieValue,
    );
    expect(outcome).toMatchObject({ kind: 'approval_denied', httpStatus: 400 });
    expect(t.redeemed).toHaveLength(0);
    expect(t.events.events[0]?.data).toMatchObject({
      category: 'approval_denied',
      jwtExchangeWorks: false,
      salesforce: { error: 'access_denied' },
    });
  });

  it('reports approver_mismatch with both fixes when JWT still fails, and revokes the stray approval', async () => {
    let revocations = 0;
    const t = setup({
      identity: {
        username: 'admin@acme.example',
        grantedScopes: ['api', 'refresh_token'],
        revokeApproval: async () => {
          revocations += 1;
          return true;
        },
      },
      jwt: new BrokerError('consumer_not_approved', "user hasn't approved this consumer"),
    });
    const { started, state } = await t.start();
    const outcome = await t.complete({ code: ['c'], state: [state] }, started.cookieValue);
    expect(outcome.kind).toBe('approver_mismatch');
    expect(revocations).toBe(1);
    expect(outcome.summary).toContain("revoked admin@acme.example's approval of the app");
    expect(outcome.facts).toContainEqual({
      label: 'Approval by admin@acme.example',
      value: 'revoked',
    });
    expect(t.resolved).toEqual([]);
    expect(t.events.events[0]?.data).toMatchObject({
      category: 'approver_mismatch',
      approverUsername: 'admin@acme.example',
      jwtExchangeWorks: false,
    });
  });

  it('reports a code exchange failure with what Salesforce said', async () => {
    const t = setup({
      identity: new BrokerError(
        'code_exchange_failed',
        'Salesforce did not accept the authorization code.',
        {
          salesforce: {
            status: 400,
            error: 'invalid_grant',
            error_description: 'expired authorization code',
          },
        },
      ),
    });
    const { started, state } = await t.start();
    const outcome = await t.complete({ code: ['c'], state: [state] }, started.cookieValue);
    expect(outcome).toMatchObject({ kind: 'code_exchange_failed', httpStatus: 502 });
    expect(t.events.events[0]?.data).toMatchObject({
      category: 'code_exchange_failed',
      salesforce: { error_description: 'expired authorization code' },
    });
  });

  it('never logs or publishes the code', async () => {
    const t = setup();
    const { started, state } = await t.start();
    await t.complete({ code: ['secret-code-value-123'], state: [state] }, started.cookieValue);
    expect(JSON.stringify(t.logs)).not.toContain('secret-code-value-123');
    expect(JSON.stringify(t.events.events)).not.toContain('secret-code-value-123');
    expect(JSON.stringify(t.events.events)).not.toContain(grant.access_token);
  });

  it('reports an org removed after the attempt started as not found, not as changed', async () => {
    const t = setup();
    const { started, state } = await t.start();
    t.removeOrg();
    const outcome = await t.complete({ code: ['c'], state: [state] }, started.cookieValue);
    expect(outcome).toMatchObject({
      kind: 'state_invalid',
      category: 'state_invalid',
      httpStatus: 400,
      orgId: 'acme',
      facts: [{ value: 'org_not_found' }],
    });
    expect(outcome.summary).toContain('no longer registered');
    expect(outcome.steps.join(' ')).toContain('Register the org again');
    expect(t.redeemed).toHaveLength(0);
    expect(t.events.types()).toEqual([]);
  });

  it('logs in snake_case like the rest of the broker', async () => {
    const t = setup({
      identity: new BrokerError('code_exchange_failed', 'Salesforce did not accept the code.'),
    });
    const first = await t.start();
    await t.complete({ code: ['c'], state: [first.state] }, first.started.cookieValue);
    expect(t.logs.map(([message]) => message)).toEqual([
      'approval started',
      'approval code exchange failed',
      'approval outcome',
    ]);
    expect(t.logs[0]?.[1]).toEqual({ org_id: 'acme' });
    expect(t.logs[1]?.[1]).toMatchObject({ org_id: 'acme', request_id: 'req-1' });
    expect(t.logs[2]?.[1]).toMatchObject({
      outcome: 'code_exchange_failed',
      org_id: 'acme',
      request_id: 'req-1',
    });
    const verified = setup();
    const second = await verified.start();
    await verified.complete({ code: ['c'], state: [second.state] }, second.started.cookieValue);
    expect(verified.logs.at(-1)?.[1]).toMatchObject({
      outcome: 'verified',
      granted_scopes: ['api', 'refresh_token'],
    });
    const keys = [...t.logs, ...verified.logs].flatMap(([, extra]) => Object.keys(extra));
    expect(keys.filter((key) => /[A-Z]/.test(key))).toEqual([]);
  });
});
