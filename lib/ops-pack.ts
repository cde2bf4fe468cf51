import { Duration, Stack } from 'aws-cdk-lib';
import type { Stage } from 'aws-cdk-lib/aws-apigateway';
import {
  Alarm,
  AlarmStatusWidget,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  type IMetric,
  MathExpression,
  Metric,
  TextWidget,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { CATEGORY_TRAITS, SALESFORCE_CATEGORIES } from '../lambda/core/categories';
import { DIMENSION, METRIC, METRIC_NAMESPACE, SERVICE_NAME } from '../lambda/core/metrics';

const PERIOD = Duration.minutes(5);
/** Retryable categories alarm only when they persist; one occurrence is routine. */
const RETRYABLE_FAILURES_PER_PERIOD = 5;
const MIN_REQUESTS_FOR_ERROR_RATE = 10;

export interface OpsPackProps {
  readonly stage: Stage;
  readonly functions: Readonly<Record<string, IFunction>>;
  readonly alarmTopic: ITopic;
  readonly latencyThreshold: Duration;
  readonly serverErrorRateThreshold: number;
  /** Alarm when an org uses this share of its 3,600 logins an hour, percent. */
  readonly loginBudgetAlarmPercent: number;
}

/** A broker metric (EMF, namespace {@link METRIC_NAMESPACE}) summed over five minutes. */
export function brokerMetric(
  metricName: string,
  extraDimensions: Record<string, string> = {},
  statistic = 'Sum',
): Metric {
  return new Metric({
    namespace: METRIC_NAMESPACE,
    metricName,
    dimensionsMap: { service: SERVICE_NAME, ...extraDimensions },
    statistic,
    period: PERIOD,
  });
}

/**
 * Alarms wired to the alarm topic (on alarm and on recovery) and a dashboard. Metric names and
 * categories come from the function code's own modules, so a rename breaks the build, not the
 * alarms.
 */
export class OpsPack extends Construct {
  readonly alarms: Alarm[] = [];
  readonly dashboard: Dashboard;
  private readonly action: SnsAction;
  private readonly prefix: string;

  constructor(
    scope: Construct,
    id: string,
    private readonly props: OpsPackProps,
  ) {
    super(scope, id);
    this.action = new SnsAction(props.alarmTopic);
    this.prefix = `${Stack.of(this).stackName}-${props.stage.stageName}`;
    this.addExchangeFailureAlarms();
    this.addApiAlarms();
    this.addCountAlarm(
      'EventDeliveryFailed',
      brokerMetric(METRIC.eventDeliveryFailed),
      'Incident or approval events could not be published to SNS (they were logged instead): subscribers are missing events. Check the topic, its KMS key and the function role.',
    );
    this.addCountAlarm(
      'IncidentLedgerErrors',
      brokerMetric(METRIC.incidentLedgerErrors),
      'The incident ledger (DynamoDB) failed while tokens kept being served: incidents may be missed or duplicated. Check DynamoDB throttling and the function role.',
    );
    this.addCountAlarm(
      'ExchangeBookkeepingAbandoned',
      brokerMetric(METRIC.exchangeBookkeepingAbandoned),
      'Incident or last-outcome writes were still running when a token response had to go: DynamoDB or SNS is slow. Check their latency and throttling.',
    );
    this.addAlarm('LoginBudget', {
      metric: brokerMetric(METRIC.loginBudgetUsed, {}, 'Maximum'),
      threshold: props.loginBudgetAlarmPercent,
      description: `An org used at least ${props.loginBudgetAlarmPercent}% of Salesforce's 3,600 logins per user per hour (all environments). Find it with the "logins by org" saved query or the SalesforceLogins metric; repeated forceRefresh or DELETE, or another client logging in as the integration user, are the usual causes.`,
    });
    for (const [name, fn] of Object.entries(props.functions)) {
      this.addCountAlarm(
        `${name}Errors`,
        fn.metricErrors({ period: PERIOD }),
        `The ${name} function failed invocations (unhandled errors or timeouts). See the "by request id" saved query.`,
      );
      this.addCountAlarm(
        `${name}Throttles`,
        fn.metricThrottles({ period: PERIOD }),
        `The ${name} function was throttled: account concurrency is exhausted. Raise the limit or reserve concurrency.`,
      );
    }
    this.dashboard = this.createDashboard();
  }

  private addExchangeFailureAlarms(): void {
    for (const category of SALESFORCE_CATEGORIES) {
      const { retryable } = CATEGORY_TRAITS[category];
      const threshold = retryable ? RETRYABLE_FAILURES_PER_PERIOD : 1;
      this.addAlarm(`ExchangeFailures-${category}`, {
        metric: brokerMetric(METRIC.exchangeFailures, { [DIMENSION.category]: category }),
        threshold,
        description: `Salesforce token exchanges failed with ${category} (${retryable ? `at least ${threshold} in 5 minutes, retryable` : 'non-retryable: every occurrence needs an operator'}). The incident event carries the remediation; see docs/runbook.md.`,
      });
    }
  }

  private addApiAlarms(): void {
    const { stage } = this.props;
    const errorRate = new MathExpression({
      expression: `IF(requests >= ${MIN_REQUESTS_FOR_ERROR_RATE}, errors / requests, 0)`,
      usingMetrics: {
        errors: stage.metricServerError({ period: PERIOD, statistic: 'Sum' }),
        requests: stage.metricCount({ period: PERIOD, statistic: 'SampleCount' }),
      },
      label: '5XX rate',
      period: PERIOD,
    });
    this.addAlarm('Api5xxRate', {
      metric: errorRate,
      threshold: this.props.serverErrorRateThreshold,
      description: `More than ${this.props.serverErrorRateThreshold * 100}% of API requests ended in 5XX over 5 minutes (with at least ${MIN_REQUESTS_FOR_ERROR_RATE} requests). 502/503 mean Salesforce-side failures: check the ExchangeFailures alarms first.`,
    });
    this.addAlarm('ApiLatencyP99', {
      metric: stage.metricLatency({ period: PERIOD, statistic: 'p99' }),
      threshold: this.props.latencyThreshold.toMilliseconds(),
      evaluationPeriods: 3,
      datapointsToAlarm: 2,
      description: `p99 API latency above ${this.props.latencyThreshold.toMilliseconds()} ms in 2 of 3 five-minute periods. Cache misses wait for Salesforce: see the "slowest exchanges" saved query.`,
    });
  }

  private addCountAlarm(id: string, metric: IMetric, description: string): void {
    this.addAlarm(id, { metric, threshold: 1, description });
  }

  private addAlarm(
    id: string,
    options: {
      metric: IMetric;
      threshold: number;
      description: string;
      evaluationPeriods?: number;
      datapointsToAlarm?: number;
    },
  ): void {
    const alarm = new Alarm(this, id, {
      alarmName: `${this.prefix}-${id}`,
      alarmDescription: options.description,
      metric: options.metric,
      threshold: options.threshold,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: options.evaluationPeriods ?? 1,
      datapointsToAlarm: options.datapointsToAlarm ?? 1,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    alarm.addAlarmAction(this.action);
    alarm.addOkAction(this.action);
    this.alarms.push(alarm);
  }

  private createDashboard(): Dashboard {
    const { stage, functions } = this.props;
    const byCategory = (metricName: string, label: string) =>
      new MathExpression({
        expression: `SEARCH('{${METRIC_NAMESPACE},${DIMENSION.category},service} MetricName="${metricName}"', 'Sum', 300)`,
        label,
        period: PERIOD,
      });
    const fns = Object.entries(functions);
    const dashboard = new Dashboard(this, 'Dashboard', {
      dashboardName: this.prefix,
      defaultInterval: Duration.hours(24),
    });
    dashboard.addWidgets(
      new TextWidget({
        markdown:
          '# salesforce-token-broker\nFailures carry a category; its remediation is in docs/runbook.md. Saved Logs Insights queries: failures by org and category, slowest exchanges, approvals, by request id.',
        width: 24,
        height: 2,
      }),
    );
    dashboard.addWidgets(
      new AlarmStatusWidget({ title: 'Alarms', alarms: this.alarms, width: 24, height: 4 }),
    );
    dashboard.addWidgets(
      new GraphWidget({
        title: 'API requests and errors',
        left: [
          stage.metricCount({ period: PERIOD, statistic: 'SampleCount', label: 'requests' }),
          stage.metricClientError({ period: PERIOD, statistic: 'Sum', label: '4XX' }),
          stage.metricServerError({ period: PERIOD, statistic: 'Sum', label: '5XX' }),
        ],
        width: 12,
      }),
      new GraphWidget({
        title: 'API latency (ms)',
        left: ['p50', 'p99'].map((statistic) =>
          stage.metricLatency({ period: PERIOD, statistic, label: statistic }),
        ),
        width: 12,
      }),
    );
    dashboard.addWidgets(
      new GraphWidget({
        title: 'Token exchanges and cache',
        left: [
          brokerMetric(METRIC.tokenExchanges),
          brokerMetric(METRIC.cacheHits),
          brokerMetric(METRIC.cacheMisses),
        ],
        width: 8,
      }),
      new GraphWidget({
        title: 'Exchange failures by category',
        left: [byCategory(METRIC.exchangeFailures, 'failures')],
        width: 8,
      }),
      new GraphWidget({
        title: 'Salesforce exchange latency (ms)',
        left: ['p50', 'p99'].map((statistic) =>
          brokerMetric(METRIC.exchangeLatency, {}, statistic).with({ label: statistic }),
        ),
        width: 8,
      }),
    );
    dashboard.addWidgets(
      new GraphWidget({
        title: 'Approvals',
        left: [
          brokerMetric(METRIC.approvalsCompleted),
          byCategory(METRIC.approvalsFailed, 'failed'),
        ],
        width: 8,
      }),
      new GraphWidget({
        title: 'Survived faults',
        left: [
          brokerMetric(METRIC.eventDeliveryFailed),
          brokerMetric(METRIC.incidentLedgerErrors),
          brokerMetric(METRIC.exchangeBookkeepingAbandoned),
        ],
        width: 8,
      }),
      new GraphWidget({
        title: 'Lambda errors and throttles',
        left: fns.flatMap(([name, fn]) => [
          fn.metricErrors({ period: PERIOD, label: `${name} errors` }),
          fn.metricThrottles({ period: PERIOD, label: `${name} throttles` }),
        ]),
        right: fns.map(([name, fn]) =>
          fn.metricDuration({ period: PERIOD, statistic: 'p99', label: `${name} p99 ms` }),
        ),
        width: 8,
      }),
    );
    dashboard.addWidgets(
      new GraphWidget({
        title: 'Fleet: logins avoided',
        left: [
          brokerMetric(METRIC.fleetCacheHits),
          brokerMetric(METRIC.tokenRefreshSuppressed),
          byCategory(METRIC.rememberedFailures, 'remembered failures'),
        ],
        width: 12,
      }),
      new GraphWidget({
        title: 'Salesforce logins by org (3,600 per user per hour)',
        left: [
          new MathExpression({
            expression: `SEARCH('{${METRIC_NAMESPACE},${DIMENSION.orgId},service} MetricName="${METRIC.salesforceLogins}"', 'Sum', 300)`,
            label: 'logins',
            period: PERIOD,
          }),
        ],
        right: [brokerMetric(METRIC.loginBudgetUsed, {}, 'Maximum')],
        width: 12,
      }),
      new GraphWidget({
        title: 'Signing certificates: days to expiry (lowest per org)',
        left: [
          new MathExpression({
            expression: `SEARCH('{${METRIC_NAMESPACE},${DIMENSION.orgId},service} MetricName="${METRIC.certificateDaysToExpiry}"', 'Minimum', 86400)`,
            label: 'days',
            period: Duration.days(1),
          }),
        ],
        width: 24,
      }),
    );
    return dashboard;
  }
}
