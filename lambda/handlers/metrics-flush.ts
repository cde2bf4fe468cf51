/**
 * One EMF document per invocation. Powertools Metrics emits a metric with a dimension of its own
 * (`SalesforceLogins` by `OrgId`, `ExchangeFailures` by `Category`) through `singleMetric()`, one
 * document and one stdout write each, at the moment it is added. Here such metrics are kept with
 * the invocation's other metrics and written with them: EMF allows several directives, each with
 * its own dimension set, in one document, the dimension values being keys of the document itself.
 * A document can hold one value per key, so metrics that would collide (two orgs in the daily
 * certificate check) go to a further document.
 *
 * Two alarm metrics stay immediate `singleMetric()` writes: `EventDeliveryFailed` and
 * `IncidentLedgerErrors` mark an event or an incident update that may be lost, and must reach the
 * logs even when the invocation never gets to its flush.
 */
import type { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';

type Unit = (typeof MetricUnit)[keyof typeof MetricUnit];

interface DimensionedMetric {
  readonly dimension: string;
  readonly value: string;
  readonly name: string;
  readonly unit: Unit;
  readonly amount: number;
}

const pending = new WeakMap<Metrics, DimensionedMetric[]>();

/**
 * Adds metric `name` with dimension `dimension` = `value` (plus the default dimensions), written
 * by the invocation's {@link flushStoredMetrics}.
 */
export function addDimensionedMetric(
  metrics: Metrics,
  dimension: string,
  value: string,
  name: string,
  unit: Unit,
  amount: number,
): void {
  const list = pending.get(metrics) ?? [];
  list.push({ dimension, value, name, unit, amount });
  pending.set(metrics, list);
}

type EmfDocument = Record<string, unknown> & {
  _aws: {
    Timestamp: number;
    CloudWatchMetrics: {
      Namespace: string;
      Dimensions: string[][];
      Metrics: { Name: string; Unit: string }[];
    }[];
  };
};

/** Sets `key` to `value` in `document`, or reports that it holds another value there already. */
function place(document: Record<string, unknown>, key: string, value: unknown): boolean {
  if (!(key in document)) {
    document[key] = value;
    return true;
  }
  return document[key] === value;
}

/**
 * Writes the invocation's metrics, those with a dimension of their own included, and clears them.
 * Nothing is written when nothing was recorded (no empty-metrics warning per request).
 */
export function flushStoredMetrics(metrics: Metrics): void {
  const dimensioned = pending.get(metrics) ?? [];
  pending.delete(metrics);
  if (!metrics.hasStoredMetrics() && dimensioned.length === 0) return;
  let base: EmfDocument;
  try {
    base = metrics.serializeMetrics() as unknown as EmfDocument;
  } finally {
    metrics.clearMetrics();
    metrics.clearDimensions();
    metrics.clearMetadata();
  }
  const [defaults] = base._aws.CloudWatchMetrics;
  const namespace = defaults?.Namespace ?? '';
  const defaultDimensions = defaults?.Dimensions[0] ?? [];
  base._aws.CloudWatchMetrics = base._aws.CloudWatchMetrics.filter(
    (directive) => directive.Metrics.length > 0,
  );
  const baseKeys = Object.fromEntries(defaultDimensions.map((key) => [key, base[key]] as const));
  const documents: EmfDocument[] = [base];
  for (const metric of dimensioned) {
    const fits = (document: EmfDocument) => {
      const trial = { ...document };
      return (
        place(trial, metric.dimension, metric.value) && place(trial, metric.name, metric.amount)
      );
    };
    let target = documents.find(fits);
    if (!target) {
      target = {
        _aws: { Timestamp: base._aws.Timestamp, CloudWatchMetrics: [] },
        ...baseKeys,
      };
      documents.push(target);
    }
    target[metric.dimension] = metric.value;
    target[metric.name] = metric.amount;
    const dimensions = [...defaultDimensions, metric.dimension];
    const directive = target._aws.CloudWatchMetrics.find(
      (candidate) => candidate.Dimensions[0]?.join() === dimensions.join(),
    );
    if (directive) directive.Metrics.push({ Name: metric.name, Unit: metric.unit });
    else {
      target._aws.CloudWatchMetrics.push({
        Namespace: namespace,
        Dimensions: [dimensions],
        Metrics: [{ Name: metric.name, Unit: metric.unit }],
      });
    }
  }
  // As Powertools' own flush: nothing is written while metrics are disabled
  // (POWERTOOLS_METRICS_DISABLED, as `npm start` sets it, or POWERTOOLS_DEV), but all is cleared.
  // `isDisabled` is protected in the typings only.
  if ((metrics as unknown as { isDisabled(): boolean }).isDisabled()) return;
  for (const document of documents) {
    if (document._aws.CloudWatchMetrics.length > 0) {
      process.stdout.write(`${JSON.stringify(document)}\n`);
    }
  }
}
