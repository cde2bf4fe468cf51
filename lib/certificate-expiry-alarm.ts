import { Duration, Stack } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, Metric, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';
import { METRIC, METRIC_NAMESPACE, SERVICE_NAME } from '../lambda/core/metrics';

/**
 * Alarms when any org's signing certificate expires in fewer than `thresholdDays` (the minimum of
 * `CertificateDaysToExpiry` over a day). Salesforce keeps accepting an expired certificate, so
 * this alarm, not a failing exchange, is what says a rotation is due (docs/runbook.md).
 */
export function createCertificateExpiryAlarm(
  scope: Construct,
  props: {
    readonly alarmTopic: ITopic;
    readonly thresholdDays: number;
    readonly stageName: string;
  },
): Alarm {
  const alarm = new Alarm(scope, 'CertificateExpiry', {
    alarmName: `${Stack.of(scope).stackName}-${props.stageName}-CertificateExpiry`,
    alarmDescription: `An org's signing certificate expires in fewer than ${props.thresholdDays} days (metric CertificateDaysToExpiry, per org with dimension OrgId). Rotate it: token-broker keys rotate --org ID (docs/runbook.md#rotating-a-signing-key).`,
    metric: new Metric({
      namespace: METRIC_NAMESPACE,
      metricName: METRIC.certificateDaysToExpiry,
      dimensionsMap: { service: SERVICE_NAME },
      statistic: 'Minimum',
      period: Duration.days(1),
    }),
    threshold: props.thresholdDays,
    comparisonOperator: ComparisonOperator.LESS_THAN_THRESHOLD,
    evaluationPeriods: 1,
    treatMissingData: TreatMissingData.NOT_BREACHING,
  });
  const action = new SnsAction(props.alarmTopic);
  alarm.addAlarmAction(action);
  alarm.addOkAction(action);
  return alarm;
}
