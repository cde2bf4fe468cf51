/** The approval metrics (`ApprovalsCompleted`, `ApprovalsFailed` by `Category`), as EMF. */
import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { ApprovalOutcome } from '../core/approval-outcome';
import { DIMENSION, METRIC } from '../core/metrics';

export function recordApprovalOutcome(metrics: Metrics, outcome: ApprovalOutcome): void {
  const single = metrics.singleMetric();
  if (outcome.succeeded || !outcome.category) {
    single.addMetric(METRIC.approvalsCompleted, MetricUnit.Count, 1);
    return;
  }
  single.addDimension(DIMENSION.category, outcome.category);
  single.addMetric(METRIC.approvalsFailed, MetricUnit.Count, 1);
}
