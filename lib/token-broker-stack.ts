import { Annotations, CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { buildRedirectUri } from '../lambda/core/approval-links';
import { TokenBroker, type TokenBrokerProps } from './token-broker';

export interface TokenBrokerStackProps extends StackProps {
  /** @default - all TokenBroker defaults */
  readonly broker?: TokenBrokerProps;
}

/** One broker per stack, with the values an operator needs next printed as outputs. */
export class TokenBrokerStack extends Stack {
  readonly broker: TokenBroker;

  constructor(scope: Construct, id: string, props: TokenBrokerStackProps = {}) {
    super(scope, id, {
      description: 'salesforce-token-broker: Salesforce JWT bearer token broker with approval loop',
      ...props,
    });
    const broker = new TokenBroker(this, 'Broker', props.broker);
    this.broker = broker;
    const outputs: Record<string, { value: string; description: string }> = {
      ApiUrl: {
        value: broker.publicBaseUrl,
        description: 'Base URL of the token API (sign requests with SigV4, service execute-api)',
      },
      RedirectUri: {
        value: broker.redirectUri,
        description:
          'Register exactly this as the Connected App / External Client App callback URL',
      },
      EventsTopicArn: {
        value: broker.eventsTopic.topicArn,
        description: 'Incident and approval events (CloudEvents JSON); subscribe here',
      },
      AlarmTopicArn: {
        value: broker.alarmTopic.topicArn,
        description: 'CloudWatch alarm notifications',
      },
      TableName: {
        value: broker.table.tableName,
        description: 'Org registry, OAuth state and incident ledger (the CLI writes orgs here)',
      },
      SigningKeySecretPrefix: {
        value: broker.config.signingKeySecretPrefix,
        description: 'Name prefix of the signing key secrets (only the token function reads them)',
      },
      ConsumerSecretPrefix: {
        value: broker.config.consumerSecretPrefix,
        description: 'Name prefix of the consumer secrets (only the OAuth function reads them)',
      },
      SecretsKeyArn: {
        value: broker.secretsKey.keyArn,
        description: 'KMS key for the secrets: token-broker keys create --kms-key-id',
      },
      TokenRoleArn: {
        value: broker.tokenFunction.role.roleArn,
        description: 'The only reader of signing keys: token-broker keys create --reader-role',
      },
      ApprovalLinkKeyArn: {
        value: broker.approvalLinkKey.keyArn,
        description:
          'KMS HMAC key of the approval links (token-broker approval-url --approval-link-key)',
      },
    };
    if (broker.config.breakGlassRoleArn) {
      outputs.BreakGlassRoleArn = {
        value: broker.config.breakGlassRoleArn,
        description:
          'Emergency reader of signing keys: token-broker keys create --break-glass-role',
      };
    }
    const domain = broker.api.domainName;
    if (domain && !broker.config.customDomain?.hostedZone) {
      outputs.ApiDomainTarget = {
        value: domain.domainNameAliasDomainName,
        description: 'Point a CNAME or alias record for the custom domain at this target',
      };
    }
    for (const [id, output] of Object.entries(outputs)) new CfnOutput(this, id, output);
    // `cdk synth --quiet` prints annotations, so an offline synth shows what deploy will print.
    Annotations.of(this).addInfo(describeOutputs(broker, Object.keys(outputs)));
  }
}

/** The outputs' shape, with placeholders for what only a deployment resolves. */
function describeOutputs(broker: TokenBroker, names: readonly string[]): string {
  const { customDomain, stageName, signingKeySecretPrefix, consumerSecretPrefix } = broker.config;
  const baseUrl = customDomain
    ? `https://${customDomain.domainName}`
    : `https://{restApiId}.execute-api.{region}.amazonaws.com/${stageName}`;
  const shapes: Record<string, string> = {
    ApiUrl: baseUrl,
    RedirectUri: buildRedirectUri(baseUrl),
    EventsTopicArn: 'arn:aws:sns:{region}:{account}:{stack}-BrokerEventsTopic...',
    AlarmTopicArn: 'arn:aws:sns:{region}:{account}:{stack}-BrokerAlarmTopic...',
    TableName: '{stack}-BrokerTable...',
    SigningKeySecretPrefix: signingKeySecretPrefix,
    ApprovalLinkKeyArn: 'arn:aws:kms:{region}:{account}:key/{id}',
    ConsumerSecretPrefix: consumerSecretPrefix,
    SecretsKeyArn: 'arn:aws:kms:{region}:{account}:key/{id}',
    TokenRoleArn: 'arn:aws:iam::{account}:role/{stack}-BrokerTokenFunctionRole...',
    BreakGlassRoleArn: broker.config.breakGlassRoleArn ?? '',
    ApiDomainTarget: 'd-{id}.execute-api.{region}.amazonaws.com',
  };
  return `Outputs after deploy: ${names.map((name) => `${name} = ${shapes[name]}`).join('; ')}`;
}
