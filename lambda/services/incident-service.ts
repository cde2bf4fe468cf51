/**
 * The {@link IncidentService} (docs/contracts.md#events): counts failures in the incident
 * store, decides what to publish, publishes it. Storage failures are logged and counted, never
 * thrown (as `incident_ledger_error`, the name alarms and saved queries use): a broken store must not
 * break token requests.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import {
  buildIncidentOpened,
  buildIncidentReminder,
  buildIncidentResolved,
  type EventContext,
} from '../core/events';
import {
  decideAfterFailure,
  isIncidentCategory,
  resolveIncident,
  toIncidentSnapshot,
  toOpenIncident,
} from '../core/incidents';
import { METRIC } from '../core/metrics';
import type { EventPublisher, IncidentService, IncidentStore } from '../core/ports';

export interface IncidentServiceDeps {
  readonly store: IncidentStore;
  readonly publisher: EventPublisher;
  /** Event `source`, clock and id generator; the clock also times the incidents. */
  readonly events: EventContext;
  /** Minimum time between two notifications (opened or reminder) of one incident. @default 3_600_000 */
  readonly reminderIntervalMs?: number;
  /**
   * How long this instance trusts that an org has nothing open after it found it so. Within that
   * time a fresh token success costs no DynamoDB call; an incident another instance opened
   * meanwhile is resolved by the first success after the trust expires. @default 300_000
   */
  readonly knownCleanMaxAgeMs?: number;
  readonly logger: Logger;
  readonly metrics: Metrics;
}

export function createIncidentService(options: IncidentServiceDeps): IncidentService {
  const { store, publisher, events, logger, metrics } = options;
  const reminderIntervalMs = options.reminderIntervalMs ?? 3_600_000;
  const knownCleanMaxAgeMs = options.knownCleanMaxAgeMs ?? 300_000;
  /** orgId -> when it was last found with nothing open. */
  const knownClean = new Map<string, number>();
  /** orgId -> failures recorded by this instance, so a clean verdict racing a failure is dropped. */
  const failureGenerations = new Map<string, number>();

  function reportLedgerError(operation: string, context: Record<string, unknown>, error: unknown) {
    logger.error('Incident ledger unavailable', {
      incident_ledger_error: true,
      operation,
      ...context,
      error: error as Error,
    });
    metrics.singleMetric().addMetric(METRIC.incidentLedgerErrors, MetricUnit.Count, 1);
  }

  function isKnownClean(orgId: string, now: number): boolean {
    const since = knownClean.get(orgId);
    return since !== undefined && now - since < knownCleanMaxAgeMs;
  }

  return {
    async recordFailure({ org, error, requestId }) {
      const { category } = error;
      if (!isIncidentCategory(category)) return;
      const { orgId } = org;
      knownClean.delete(orgId);
      failureGenerations.set(orgId, (failureGenerations.get(orgId) ?? 0) + 1);
      const now = events.clock();
      try {
        const incident = await store.recordFailure({
          orgId,
          category,
          salesforce: error.salesforce,
          remediation: error.remediation,
          at: now,
        });
        const decision = decideAfterFailure(incident, now, reminderIntervalMs);
        const fields = { org_id: orgId, category, count: incident.count, request_id: requestId };
        if (decision === 'open') {
          logger.info('Incident opened', fields);
          await publisher.publish(
            buildIncidentOpened(events, toIncidentSnapshot(incident), requestId),
          );
        } else if (decision === 'remind' && (await store.claimReminder(incident, now))) {
          logger.info('Incident reminder', fields);
          await publisher.publish(
            buildIncidentReminder(events, toIncidentSnapshot(incident), requestId),
          );
        }
      } catch (cause) {
        reportLedgerError(
          'recordFailure',
          { org_id: orgId, category, request_id: requestId },
          cause,
        );
      }
    },

    async recordSuccess({ org, requestId, cause }) {
      const { orgId } = org;
      const now = events.clock();
      // The approval callback always looks: it is rare, and it is how an operator closes the loop.
      if (cause === 'token_exchange' && isKnownClean(orgId, now)) return;
      const generation = failureGenerations.get(orgId) ?? 0;
      try {
        const open = await store.listOpen(orgId);
        await Promise.all(
          open.map(async ({ category }) => {
            const closed = await store.close(orgId, category);
            if (!closed) return;
            const resolution = resolveIncident(closed, cause, now);
            logger.info('Incident resolved', {
              org_id: orgId,
              category,
              count: closed.count,
              resolution_cause: cause,
              duration_seconds: resolution.durationSeconds,
              request_id: requestId,
            });
            await publisher.publish(
              buildIncidentResolved(events, toIncidentSnapshot(closed), resolution, requestId),
            );
          }),
        );
        if ((failureGenerations.get(orgId) ?? 0) === generation) knownClean.set(orgId, now);
      } catch (error) {
        reportLedgerError('recordSuccess', { org_id: orgId, request_id: requestId }, error);
      }
    },

    async listOpen(orgId) {
      try {
        return (await store.listOpen(orgId)).map(toOpenIncident);
      } catch (error) {
        reportLedgerError('listOpen', { org_id: orgId }, error);
        return [];
      }
    },
  };
}
