/**
 * What follows every fresh exchange: it is reported (metrics, log line), the org's incidents are
 * updated (a failure counted, or a success resolving what is open, with its cause) and the outcome
 * is recorded for the status route. Bookkeeping never decides the answer: it waits at most until
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
    const tracked = result.ok
      ? safely('Incident tracking', org.orgId, () =>
          incidents.recordSuccess({ org, requestId, cause: context.cause }),
        )
      : isIncidentCategory(result.error.category)
        ? safely('Incident tracking', org.orgId, () =>
            incidents.recordFailure({ org, error: result.error, requestId }),
          )
        : undefined;
    await Promise.all([
      tracked,
      safely('Recording the exchange outcome', org.orgId, () =>
        deps.outcomes.recordExchangeOutcome(org.orgId, outcome),
      ),
    ]);
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
