/**
 * What follows every fresh exchange: it is reported (metrics, log line), the outcome is recorded for
 * the status route when it changed (or at most once per `outcomeRefreshMs`), and the org's
 * incidents are updated: a failure counted, or, when the outcome it replaced was a failure, a
 * success resolving what is open, with its cause. Bookkeeping never decides the answer: it waits at most until
 * the answer is due, and each part reports its own failure instead of throwing.
 */
import { type RequestDeadline, SYSTEM_TIME, settleBy, type TimeSource } from '../core/deadline';
import { isIncidentCategory } from '../core/incidents';
import type {
  ExchangeOutcome,
  ExchangeOutcomeStore,
  ExchangeReporter,
  ExchangeResult,
  IncidentService,
  ResolutionCause,
  ServiceLogger,
} from '../core/ports';
import type { OrgRecord } from '../core/types';

export interface ExchangeBookkeepingDeps {
  readonly incidents: IncidentService;
  readonly outcomes: Pick<ExchangeOutcomeStore, 'recordExchangeOutcome'>;
  readonly reporter: ExchangeReporter;
  readonly logger: ServiceLogger;
  /** @default real time */
  readonly time?: TimeSource;
  /**
   * How long an unchanged outcome goes without being written again, ms: the status route's
   * `lastExchange` may be this much older than the latest exchange that ended the same way.
   * @default 300000 (5 minutes)
   */
  readonly outcomeRefreshMs?: number;
}

export interface ExchangeContext {
  readonly requestId: string;
  readonly deadline: RequestDeadline;
  /** What a success resolves incidents as. */
  readonly cause: ResolutionCause;
}

export type ExchangeBookkeeping = (
  org: OrgRecord,
  result: ExchangeResult,
  context: ExchangeContext,
) => Promise<void>;

/**
 * Runs `action`, logging instead of throwing when it fails: the answer never depends on it.
 * @returns its value, or `fallback` when it failed or gave nothing
 */
export async function recoverWith<T, F>(
  logger: ServiceLogger,
  what: string,
  orgId: string,
  fallback: F,
  action: () => Promise<T> | undefined,
): Promise<T | F> {
  try {
    return (await action()) ?? fallback;
  } catch (error) {
    logger.warn(`${what} failed; the response is unaffected`, {
      org_id: orgId,
      error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
    });
    return fallback;
  }
}

export function createExchangeBookkeeping(deps: ExchangeBookkeepingDeps): ExchangeBookkeeping {
  const { incidents, logger, reporter } = deps;
  const time = deps.time ?? SYSTEM_TIME;
  const refreshAfterMs = deps.outcomeRefreshMs ?? 300_000;
  const safely = (what: string, orgId: string, action: () => Promise<void>) =>
    recoverWith(logger, what, orgId, undefined, action);

  async function record(org: OrgRecord, result: ExchangeResult, context: ExchangeContext) {
    const { report } = result;
    const { requestId } = context;
    const outcome: ExchangeOutcome = {
      at: new Date(time.now()).toISOString(),
      ok: report.ok,
      category: report.category,
      salesforce: report.salesforce,
      requestId,
      latencyMs: report.latencyMs,
    };
    const written = await recoverWith(
      logger,
      'Recording the exchange outcome',
      org.orgId,
      undefined,
      () => deps.outcomes.recordExchangeOutcome(org.orgId, outcome, { refreshAfterMs }),
    );
    if (result.ok) {
      // An incident can be open only after a failure was recorded, and a failure is always written
      // (it changes the outcome): a success replacing a success has nothing to resolve. The
      // approval callback always looks: it is rare, and it is how an operator closes the loop.
      const mayBeOpen = written === undefined || (written.written && written.previous?.ok !== true);
      if (mayBeOpen || context.cause === 'approval_callback') {
        await safely('Incident tracking', org.orgId, () =>
          incidents.recordSuccess({ org, requestId, cause: context.cause }),
        );
      }
    } else if (isIncidentCategory(result.error.category)) {
      const { error } = result;
      await safely('Incident tracking', org.orgId, () =>
        incidents.recordFailure({ org, error, requestId }),
      );
    }
  }

  return async (org, result, context) => {
    reporter.reportExchange(result.report);
    const done = await settleBy(record(org, result, context), context.deadline.respondBy, time);
    if (done.settled) return;
    logger.warn('Exchange bookkeeping abandoned to answer before the function times out', {
      org_id: org.orgId,
      request_id: context.requestId,
      exchange_ok: result.report.ok,
      category: result.report.category,
    });
    reporter.reportBookkeepingAbandoned(result.report);
  };
}
