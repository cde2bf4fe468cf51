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
import { SALESFORCE_LOGINS_PER_HOUR } from '../core/shared-token';
import { addDimensionedMetric, flushStoredMetrics } from './metrics-flush';

export function createExchangeReporter(logger: Logger, metrics: Metrics): ExchangeReporter {
  function reportCertificateDaysToExpiry(orgId: string, days: number): void {
    metrics.addMetric(METRIC.certificateDaysToExpiry, MetricUnit.Count, days);
    addDimensionedMetric(
      metrics,
      DIMENSION.orgId,
      orgId,
      METRIC.certificateDaysToExpiry,
      MetricUnit.Count,
      days,
    );
  }
  return {
    reportCertificateDaysToExpiry,
    reportExchange(report) {
      // Each attempt is a Salesforce login; none was made when the key could not be loaded.
      if (report.attempts > 0) {
        metrics.addMetric(METRIC.tokenExchanges, MetricUnit.Count, report.attempts);
        metrics.addMetric(METRIC.exchangeLatency, MetricUnit.Milliseconds, report.latencyMs);
        addDimensionedMetric(
          metrics,
          DIMENSION.orgId,
          report.orgId,
          METRIC.salesforceLogins,
          MetricUnit.Count,
          report.attempts,
        );
      }
      if (report.certificateDaysToExpiry !== undefined) {
        reportCertificateDaysToExpiry(report.orgId, report.certificateDaysToExpiry);
      }
      if (!report.ok && report.category) {
        addDimensionedMetric(
          metrics,
          DIMENSION.category,
          report.category,
          METRIC.exchangeFailures,
          MetricUnit.Count,
          1,
        );
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
    reportFleetHit() {
      metrics.addMetric(METRIC.fleetCacheHits, MetricUnit.Count, 1);
    },
    reportRememberedFailure(orgId, category) {
      addDimensionedMetric(
        metrics,
        DIMENSION.category,
        category,
        METRIC.rememberedFailures,
        MetricUnit.Count,
        1,
      );
      logger.info('Failure answered from the fleet memory', { org_id: orgId, category });
    },
    reportRefreshSuppressed(orgId) {
      metrics.addMetric(METRIC.tokenRefreshSuppressed, MetricUnit.Count, 1);
      logger.info('Refresh suppressed: the token is younger than the minimum age', {
        org_id: orgId,
      });
    },
    reportLoginBudget(orgId, loginsLastHour) {
      metrics.addMetric(
        METRIC.loginBudgetUsed,
        MetricUnit.Percent,
        (100 * loginsLastHour) / SALESFORCE_LOGINS_PER_HOUR,
      );
      logger.info('Salesforce logins in the last hour', {
        org_id: orgId,
        logins_last_hour: loginsLastHour,
      });
    },
  };
}

/** {@link flushStoredMetrics} when the handler returns or throws. */
export function publishStoredMetrics(metrics: Metrics): middy.MiddlewareObj {
  const flush = () => flushStoredMetrics(metrics);
  return { after: flush, onError: flush };
}
