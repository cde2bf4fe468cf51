import { Aws, type RemovalPolicy } from 'aws-cdk-lib';
import { PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import type { Construct } from 'constructs';

export interface BrokerTopics {
  /** Encrypts both topics; its rotation is on. */
  readonly key: Key;
  /** Incident and approval events (CloudEvents envelopes), for subscribers to filter. */
  readonly eventsTopic: Topic;
  /** CloudWatch alarm notifications, kept apart from the events so each has its own audience. */
  readonly alarmTopic: Topic;
}

/**
 * Both topics are encrypted with one customer managed key (SNS's AWS managed key cannot be
 * used by CloudWatch alarms) and refuse non-TLS publishing.
 */
export function createBrokerTopics(
  scope: Construct,
  options: { removalPolicy: RemovalPolicy; alarmEmail: string | undefined },
): BrokerTopics {
  const key = new Key(scope, 'TopicKey', {
    description: 'salesforce-token-broker: encrypts the events and alarm topics',
    enableKeyRotation: true,
    removalPolicy: options.removalPolicy,
  });
  // CloudWatch publishes alarm notifications into the encrypted alarm topic, from this account only.
  key.addToResourcePolicy(
    new PolicyStatement({
      sid: 'AllowCloudWatchAlarmsToUseTheKey',
      principals: [new ServicePrincipal('cloudwatch.amazonaws.com')],
      actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
      resources: ['*'],
      conditions: { StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID } },
    }),
  );
  const eventsTopic = new Topic(scope, 'EventsTopic', {
    displayName: 'salesforce-token-broker events',
    masterKey: key,
    enforceSSL: true,
  });
  const alarmTopic = new Topic(scope, 'AlarmTopic', {
    displayName: 'salesforce-token-broker alarms',
    masterKey: key,
    enforceSSL: true,
  });
  alarmTopic.addToResourcePolicy(
    new PolicyStatement({
      sid: 'AllowCloudWatchAlarmsToPublish',
      principals: [new ServicePrincipal('cloudwatch.amazonaws.com')],
      actions: ['sns:Publish'],
      resources: [alarmTopic.topicArn],
      conditions: {
        StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID },
        ArnLike: {
          'aws:SourceArn': `arn:${Aws.PARTITION}:cloudwatch:${Aws.REGION}:${Aws.ACCOUNT_ID}:alarm:*`,
        },
      },
    }),
  );
  if (options.alarmEmail) alarmTopic.addSubscription(new EmailSubscription(options.alarmEmail));
  return { key, eventsTopic, alarmTopic };
}
