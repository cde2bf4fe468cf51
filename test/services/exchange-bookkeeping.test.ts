import { describe, expect, it } from 'vitest';
import { planRequestDeadline } from '../../lambda/core/deadline';
import { BrokerError } from '../../lambda/core/errors';
import type { ExchangeResult, IncidentService, ResolutionCause } from '../../lambda/core/ports';
import type { OrgRecord } from '../../lambda/core/types';
import { createExchangeBookkeeping } from '../../lambda/services/exchange-bookkeeping';
import {
  createMemoryRegistry,
  createRecordingLogger,
  createRecordingReporter,
} from '../support/in-memory-ports';
import { createManualTime } from '../support/manual-time';

const ORG = { orgId: 'acme' } as OrgRecord;

function report(ok: boolean, category?: string) {
  return { orgId: 'acme', ok, category, latencyMs: 3, attempts: 1, keyReread: false };
}

const success = { ok: true, entry: {}, report: report(true) } as unknown as ExchangeResult;
const notApproved = {
  ok: false,
  error: new BrokerError('consumer_not_approved', "user hasn't approved this consumer"),
  report: report(false, 'consumer_not_approved'),
} as unknown as ExchangeResult;

function world() {
  const time = createManualTime(Date.UTC(2026, 11, 2, 12));
  const calls: string[] = [];
  const incidents: IncidentService = {
    recordFailure: async () => void calls.push('recordFailure'),
    recordSuccess: async ({ cause }) => void calls.push(`recordSuccess:${cause}`),
    listOpen: async () => [],
  };
  const registry = createMemoryRegistry([]);
  const settle = createExchangeBookkeeping({
    incidents,
    outcomes: registry,
    reporter: createRecordingReporter(),
    logger: createRecordingLogger(),
    time,
    outcomeRefreshMs: 60_000,
  });
  const run = (result: ExchangeResult, cause: ResolutionCause = 'token_exchange') =>
    settle(ORG, result, {
      requestId: 'r',
      deadline: planRequestDeadline(10_000, time.now()),
      cause,
    });
  return { time, calls, registry, run };
}

describe('exchange bookkeeping', () => {
  it('looks for open incidents only when the outcome it replaced was not a success', async () => {
    const { time, calls, registry, run } = world();
    await run(success); // the org's first outcome: anything may be open
    await time.advance(1000);
    await run(success); // unchanged, not written, nothing to resolve
    await time.advance(1000);
    await run(notApproved);
    await time.advance(1000);
    await run(success); // replaces a failure: resolves
    await time.advance(61_000);
    await run(success); // rewritten after the interval, but replaces a success
    expect(calls).toEqual([
      'recordSuccess:token_exchange',
      'recordFailure',
      'recordSuccess:token_exchange',
    ]);
    expect((await registry.getExchangeOutcome('acme'))?.at).toBe(
      new Date(time.now()).toISOString(),
    );
  });

  it('the approval callback always looks', async () => {
    const { calls, run } = world();
    await run(success);
    await run(success, 'approval_callback');
    expect(calls).toEqual(['recordSuccess:token_exchange', 'recordSuccess:approval_callback']);
  });
});
