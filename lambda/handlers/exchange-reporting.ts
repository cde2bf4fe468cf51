/**
 * How a function counts its fresh JWT exchanges (`TokenExchanges`, `ExchangeLatency`,
 * `ExchangeFailures`, `ExchangeBookkeepingAbandoned` and one log line each) and flushes the metrics
 * an invocation stored. Shared by the token function and the OAuth function, whose callback
 * re-runs the exchange.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type middy from '@middy/core';
import { DIMENSION, METRIC } from '../core/metrics';
import type { ExchangeReporter } from '../core/ports';

export function createExchangeReporter(logger: Logger, metrics: Metrics): ExchangeReporter {
  return {
    reportExchange(report) {
      // Each attempt is a Salesforce login; none was made when the key could not be loaded.
      if (report.attempts > 0) {
        metrics.addMetric(METRIC.tokenExchanges, MetricUnit.Count, report.attempts);
        metrics.addMetric(METRIC.exchangeLatency, MetricUnit.Milliseconds, report.latencyMs);
      }
      if (report.certificateDaysToExpiry !== undefined) {
        metrics.addMetric(
          METRIC.certificateDaysToExpiry,
          MetricUnit.Count,
          report.certificateDaysToExpiry,
        );
        const perOrg = metrics.singleMetric();
        perOrg.addDimension(DIMENSION.orgId, report.orgId);
        perOrg.addMetric(
          METRIC.certificateDaysToExpiry,
          MetricUnit.Count,
          report.certificateDaysToExpiry,
        );
      }
      if (!report.ok && report.category) {
        const single = metrics.singleMetric();
        single.addDimension(DIMENSION.category, report.category);
        single.addMetric(METRIC.exchangeFailures, MetricUnit.Count, 1);
      }
      logger.info(report.ok ? 'Token exchange succeeded' : 'Token exchange failed', {
        org_id: report.orgId,
        category: report.category,
        salesforce: report.salesforce,
        upstream_latency_ms: report.latencyMs,
        attempts: report.attempts,
        key_reread: report.keyReread,
      });
    },
    reportBookkeepingAbandoned() {
      metrics.addMetric(METRIC.exchangeBookkeepingAbandoned, MetricUnit.Count, 1);
    },
  };
}

/** Flushes EMF only when the invocation recorded a metric (no empty-metrics warning per request). */
export function publishStoredMetrics(metrics: Metrics): middy.MiddlewareObj {
  const flush = () => {
    if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
  };
  return { after: flush, onError: flush };
}
