import { Match, type Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import type { TokenBrokerStack } from '../../lib/token-broker-stack';
import { roleStatements, synthBroker } from './synth';

const CERTIFICATE =
  'arn:aws:acm:eu-west-1:123456789012:certificate/0a1b2c3d-1111-2222-3333-444455556666';

let template: Template;
let stack: TokenBrokerStack;

// Every non-default setting at once, given as `cdk deploy -c key=value` would give it (strings).
beforeAll(() => {
  ({ template, stack } = synthBroker({
    stageName: 'v1',
    customDomain: JSON.stringify({
      domainName: 'broker.example.com',
      certificateArn: CERTIFICATE,
      hostedZone: { hostedZoneId: 'Z0123456789ABC', zoneName: 'example.com' },
    }),
    alarmEmail: 'ops@example.com',
    removalPolicy: 'destroy',
    logRetentionDays: '30',
    signingKeySecretPrefix: 'brokers/acme/',
    sourceMapStackTraces: 'true',
    manageApiGatewayAccountRole: 'false',
    logLevel: 'DEBUG',
  }));
});

describe('with a custom domain and non-default context', () => {
  it('fixes PUBLIC_BASE_URL and the redirect URI to the custom domain', () => {
    const functions = Object.values(template.findResources('AWS::Lambda::Function'));
    expect(functions).toHaveLength(2);
    for (const fn of functions) {
      expect(fn.Properties.Environment.Variables).toMatchObject({
        PUBLIC_BASE_URL: 'https://broker.example.com',
        POWERTOOLS_LOG_LEVEL: 'DEBUG',
        NODE_OPTIONS: '--enable-source-maps',
      });
    }
    template.hasOutput('RedirectUri', { Value: 'https://broker.example.com/oauth/callback' });
    template.hasOutput('ApiUrl', { Value: 'https://broker.example.com' });
  });

  it('creates the regional domain, the base path mapping to the stage and the alias record', () => {
    template.hasResourceProperties('AWS::ApiGateway::DomainName', {
      DomainName: 'broker.example.com',
      RegionalCertificateArn: CERTIFICATE,
      EndpointConfiguration: { Types: ['REGIONAL'] },
      SecurityPolicy: 'TLS_1_2',
    });
    template.hasResourceProperties('AWS::ApiGateway::BasePathMapping', {
      Stage: { Ref: Match.stringLikeRegexp('Stagev1') },
    });
    template.hasResourceProperties('AWS::Route53::RecordSet', {
      Name: 'broker.example.com.',
      Type: 'A',
      HostedZoneId: 'Z0123456789ABC',
      AliasTarget: Match.objectLike({ DNSName: Match.anyValue() }),
    });
    template.hasResourceProperties('AWS::ApiGateway::Stage', { StageName: 'v1' });
  });

  it('subscribes the alarm e-mail', () => {
    template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'ops@example.com',
    });
  });

  it('applies the removal policy and retention from context', () => {
    template.hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Delete',
      Properties: Match.objectLike({ DeletionProtectionEnabled: false }),
    });
    for (const group of Object.values(template.findResources('AWS::Logs::LogGroup'))) {
      expect(group.Properties.RetentionInDays).toBe(30);
      expect(group.DeletionPolicy).toBe('Delete');
    }
  });

  it('reads signing keys under the configured prefix only, consumer secrets under the default one', () => {
    const resourcesOf = (sid: string) =>
      Object.values(roleStatements(template))
        .flat()
        .filter((s) => s.Sid === sid)
        .map((s) => JSON.stringify(s.Resource));
    expect(resourcesOf('ReadSigningKeys')).toEqual([
      expect.stringContaining(':secret:brokers/acme/*'),
    ]);
    expect(resourcesOf('ReadConsumerSecrets')).toEqual([
      expect.stringContaining(':secret:salesforce-token-broker-consumer/*'),
    ]);
  });

  it('leaves the API Gateway account role alone when told to', () => {
    template.resourceCountIs('AWS::ApiGateway::Account', 0);
    // The two functions' roles and the daily certificate check's; no account role.
    template.resourceCountIs('AWS::IAM::Role', 3);
  });

  it('stays free of unacknowledged cdk-nag findings', () => {
    expect(new AwsSolutionsChecks(stack).validateScope(stack).violations).toEqual([]);
  });
});
