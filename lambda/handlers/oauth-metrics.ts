/** The approval metrics (`ApprovalsCompleted`, `ApprovalsFailed` by `Category`), as EMF. */
import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { ApprovalOutcome } from '../core/approval-outcome';
import { DIMENSION, METRIC } from '../core/metrics';
import { addDimensionedMetric } from './metrics-flush';

export function recordApprovalOutcome(metrics: Metrics, outcome: ApprovalOutcome): void {
  if (outcome.succeeded || !outcome.category) {
    metrics.addMetric(METRIC.approvalsCompleted, MetricUnit.Count, 1);
    return;
  }
  addDimensionedMetric(
    metrics,
    DIMENSION.category,
    outcome.category,
    METRIC.approvalsFailed,
    MetricUnit.Count,
    1,
  );
}
