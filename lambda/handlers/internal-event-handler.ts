/**
 * The token function's handler for internal events (lambda/core/internal-events.ts): a direct
 * invoke by the OAuth function asking for a fresh exchange, or the scheduler's daily certificate
 * check. The exchange's answer carries success or the failure's category and fix, never the
 * token: the OAuth function needs the proof, not the credential.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import type { Context } from 'aws-lambda';
import { planRequestDeadline, SYSTEM_TIME, type TimeSource } from '../core/deadline';
import { type BrokerError, isBrokerError } from '../core/errors';
import {
  type InternalEventResult,
  type InternalFailure,
  parseInternalEvent,
} from '../core/internal-events';
import type { CertificateCheck } from '../services/certificate-watch';
import type { TokenService } from '../services/token-service';
import { flushStoredMetrics } from './metrics-flush';

export interface InternalEventHandlerDeps {
  /** The token service the REST routes use too (one per function instance). */
  readonly service: () => Promise<TokenService>;
  /** The daily certificate check (one per function instance). */
  readonly certificateCheck: () => Promise<CertificateCheck>;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** @default real time */
  readonly time?: TimeSource;
}

export type InternalEventHandler = (
  event: unknown,
  context: Context,
) => Promise<InternalEventResult>;

function toInternalFailure(error: BrokerError): InternalFailure {
  return {
    category: error.category,
    message: error.message,
    ...(error.salesforce ? { salesforce: error.salesforce } : {}),
    ...(error.remediation ? { remediation: error.remediation } : {}),
  };
}

export function createInternalEventHandler(deps: InternalEventHandlerDeps): InternalEventHandler {
  const { logger, metrics } = deps;
  const time = deps.time ?? SYSTEM_TIME;
  /** Every JWT org's days to expiry, within the invocation's time; one line says what was done. */
  async function checkCertificates(context: Context): Promise<InternalEventResult> {
    const deadline = planRequestDeadline(context.getRemainingTimeInMillis(), time.now());
    try {
      const check = await deps.certificateCheck();
      const counts = await check.run(deadline);
      logger.info('Certificate check done', {
        orgs: counts.orgs,
        checked: counts.checked,
        failed: counts.failed,
        skipped: counts.skipped,
        announced: counts.announced,
      });
      return { ok: true, certificates: counts };
    } finally {
      flushStoredMetrics(metrics);
    }
  }

  return async (event, context) => {
    // As injectLambdaContext does for the REST routes: every line names this invocation.
    logger.resetKeys();
    logger.addContext(context);
    const parsed = parseInternalEvent(event);
    if (!parsed.ok) {
      logger.warn('Internal event refused', { reason: parsed.message });
      return { ok: false, error: { category: 'invalid_request', message: parsed.message } };
    }
    if (parsed.event.brokerInternal === 'check_certificates') {
      return checkCertificates(context);
    }
    const { orgId, requestId, salesforceBy } = parsed.event;
    // The OAuth request's id: its callback and this exchange are found together in the logs.
    logger.appendKeys({ request_id: requestId, org_id: orgId });
    const own = planRequestDeadline(context.getRemainingTimeInMillis(), time.now());
    // The OAuth function is waiting with its own deadline: no Salesforce call may outlive it.
    const deadline = { ...own, salesforceBy: Math.min(own.salesforceBy, salesforceBy) };
    try {
      const service = await deps.service();
      await service.exchangeFreshFor(orgId, { requestId, deadline, cause: 'approval_callback' });
      logger.info('Fresh exchange for the approval callback succeeded');
      return { ok: true };
    } catch (error) {
      if (!isBrokerError(error)) throw error;
      logger.warn('Fresh exchange for the approval callback failed', {
        category: error.category,
      });
      return { ok: false, error: toInternalFailure(error) };
    } finally {
      flushStoredMetrics(metrics);
    }
  };
}
