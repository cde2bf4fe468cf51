import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { describe, expect, it } from 'vitest';
import { addDimensionedMetric, flushStoredMetrics } from '../../lambda/handlers/metrics-flush';
import { captureOutput } from '../support/logs';

function flushed(record: (metrics: Metrics) => void) {
  const metrics = new Metrics({ namespace: 'Test', serviceName: 'broker' });
  record(metrics);
  const output = captureOutput();
  try {
    flushStoredMetrics(metrics);
  } finally {
    output.stop();
  }
  return { documents: output.entries(), metrics };
}

describe('flushStoredMetrics', () => {
  it('writes the default metrics and those with a dimension of their own as one EMF document', () => {
    const { documents, metrics } = flushed((metrics) => {
      metrics.addMetric('TokenExchanges', MetricUnit.Count, 1);
      addDimensionedMetric(metrics, 'OrgId', 'acme', 'SalesforceLogins', MetricUnit.Count, 1);
      addDimensionedMetric(
        metrics,
        'Category',
        'consumer_not_approved',
        'ExchangeFailures',
        MetricUnit.Count,
        1,
      );
    });
    expect(documents).toHaveLength(1);
    const [document] = documents;
    expect(document).toMatchObject({
      service: 'broker',
      OrgId: 'acme',
      Category: 'consumer_not_approved',
      TokenExchanges: 1,
      SalesforceLogins: 1,
      ExchangeFailures: 1,
    });
    const directives = (document?._aws as { CloudWatchMetrics: unknown[] } | undefined)
      ?.CloudWatchMetrics;
    expect(directives).toEqual([
      {
        Namespace: 'Test',
        Dimensions: [['service']],
        Metrics: [{ Name: 'TokenExchanges', Unit: 'Count' }],
      },
      {
        Namespace: 'Test',
        Dimensions: [['service', 'OrgId']],
        Metrics: [{ Name: 'SalesforceLogins', Unit: 'Count' }],
      },
      {
        Namespace: 'Test',
        Dimensions: [['service', 'Category']],
        Metrics: [{ Name: 'ExchangeFailures', Unit: 'Count' }],
      },
    ]);
    expect(metrics.hasStoredMetrics()).toBe(false);
  });

  it('puts a colliding value (a second org) in a further document, and writes nothing when nothing was recorded', () => {
    const { documents, metrics } = flushed((metrics) => {
      addDimensionedMetric(
        metrics,
        'OrgId',
        'acme',
        'CertificateDaysToExpiry',
        MetricUnit.Count,
        20,
      );
      addDimensionedMetric(
        metrics,
        'OrgId',
        'globex',
        'CertificateDaysToExpiry',
        MetricUnit.Count,
        200,
      );
    });
    expect(documents.map((document) => [document.OrgId, document.CertificateDaysToExpiry])).toEqual(
      [
        ['acme', 20],
        ['globex', 200],
      ],
    );
    const output = captureOutput();
    flushStoredMetrics(metrics);
    output.stop();
    expect(output.text()).toBe('');
  });

  it('writes nothing while metrics are disabled (as npm start runs), and still clears them', () => {
    const saved = process.env.POWERTOOLS_METRICS_DISABLED;
    process.env.POWERTOOLS_METRICS_DISABLED = 'true';
    try {
      const { documents, metrics } = flushed((metrics) => {
        metrics.addMetric('TokenExchanges', MetricUnit.Count, 1);
        addDimensionedMetric(metrics, 'OrgId', 'acme', 'SalesforceLogins', MetricUnit.Count, 1);
      });
      expect(documents).toEqual([]);
      expect(metrics.hasStoredMetrics()).toBe(false);
    } finally {
      if (saved === undefined) delete process.env.POWERTOOLS_METRICS_DISABLED;
      else process.env.POWERTOOLS_METRICS_DISABLED = saved;
    }
  });
});
