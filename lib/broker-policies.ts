import { Aws } from 'aws-cdk-lib';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import type { ILogGroup } from 'aws-cdk-lib/aws-logs';
import type { ITopic } from 'aws-cdk-lib/aws-sns';

/**
 * Explicit least-privilege statements for the function roles. Each one names its actions; none
 * uses a `*` action or a `*` resource.
 */

/** The function writes to its own, pre-created log group (so it needs no CreateLogGroup). */
export function writeLogsStatement(logGroup: ILogGroup): PolicyStatement {
  return new PolicyStatement({
    sid: 'WriteOwnLogGroup',
    actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
    resources: [logGroup.logGroupArn],
  });
}

/**
 * Pseudo parameters rather than the stack's region and account, so the ARN (and the cdk-nag
 * finding id acknowledging it) is the same whether or not the stack is bound to an environment.
 */
export function secretPrefixArn(prefix: string): string {
  return `arn:${Aws.PARTITION}:secretsmanager:${Aws.REGION}:${Aws.ACCOUNT_ID}:secret:${prefix}*`;
}

/**
 * Publishing to a KMS-encrypted topic needs the data key actions on the topic's key, and only
 * through SNS (kms:ViaService), written out instead of `grantPublish`'s `kms:GenerateDataKey*`.
 */
export function publishStatements(topic: ITopic, key: IKey): PolicyStatement[] {
  return [
    new PolicyStatement({
      sid: 'PublishEvents',
      actions: ['sns:Publish'],
      resources: [topic.topicArn],
    }),
    new PolicyStatement({
      sid: 'EncryptEventsForSns',
      actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
      resources: [key.keyArn],
      conditions: { StringEquals: { 'kms:ViaService': `sns.${Aws.REGION}.${Aws.URL_SUFFIX}` } },
    }),
  ];
}
