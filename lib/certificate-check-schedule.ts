import { Aws } from 'aws-cdk-lib';
import { PolicyDocument, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { CfnSchedule } from 'aws-cdk-lib/aws-scheduler';
import type { Construct } from 'constructs';
import { type CheckCertificatesEvent, INTERNAL_EVENT_FIELD } from '../lambda/core/internal-events';
import { invokeTokenFunctionStatement } from './custody-policies';

/** What the schedule sends: the token function's `check_certificates` internal event. */
export const CHECK_CERTIFICATES_INPUT: CheckCertificatesEvent = {
  [INTERNAL_EVENT_FIELD]: 'check_certificates',
};

/**
 * The daily certificate check (docs/runbook.md#certificate-expiry): EventBridge Scheduler invokes
 * the token function once a day with `{"brokerInternal":"check_certificates"}`, so an org nobody
 * exchanges for still reports `CertificateDaysToExpiry` and its `certificate.expiring` events.
 * The schedule's role may invoke the token function and nothing else; only this account's
 * scheduler may assume it.
 */
export function createCertificateCheckSchedule(
  scope: Construct,
  props: { readonly tokenFunction: IFunction; readonly stageName: string },
): CfnSchedule {
  const role = new Role(scope, 'CertificateCheckRole', {
    description: 'salesforce-token-broker: the daily certificate check invokes the token function',
    assumedBy: new ServicePrincipal('scheduler.amazonaws.com', {
      conditions: { StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID } },
    }),
    inlinePolicies: {
      InvokeTokenFunction: new PolicyDocument({
        statements: [invokeTokenFunctionStatement(props.tokenFunction)],
      }),
    },
  });
  return new CfnSchedule(scope, 'CertificateCheckSchedule', {
    description: `salesforce-token-broker ${props.stageName}: daily certificate expiry check of every JWT org`,
    scheduleExpression: 'rate(1 day)',
    flexibleTimeWindow: { mode: 'FLEXIBLE', maximumWindowInMinutes: 60 },
    state: 'ENABLED',
    target: {
      arn: props.tokenFunction.functionArn,
      roleArn: role.roleArn,
      input: JSON.stringify(CHECK_CERTIFICATES_INPUT),
      // A failed run (the registry unreadable) is retried; the next day's run comes regardless.
      retryPolicy: { maximumRetryAttempts: 2, maximumEventAgeInSeconds: 3600 },
    },
  });
}
