/**
 * The stack's public surface: the web ACL on the stage, the OAuth function's reserved
 * concurrency, the approval-link HMAC key and its grants, the optional organization resource
 * policy, and the API Gateway account role left alone by default; cdk-nag stays clean either way.
 */
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { resolveBrokerConfig } from '../../lib/resolve-config';
import { roleStatements, synthBroker } from './synth';

let template: Template;

beforeAll(() => {
  ({ template } = synthBroker());
});

type Json = Record<string, unknown>;

function onlyResource(from: Template, type: string): Json {
  const found = Object.values(from.findResources(type));
  expect(found, type).toHaveLength(1);
  return (found[0] as { Properties: Json }).Properties;
}

function functionWithMemory(from: Template, memorySize: number): Json {
  const [fn] = Object.values(
    from.findResources('AWS::Lambda::Function', { Properties: { MemorySize: memorySize } }),
  );
  return (fn as { Properties: Json }).Properties;
}

describe('web ACL', () => {
  it('guards the stage with a per-IP rate rule on /oauth/* and the AWS managed rule groups', () => {
    const acl = onlyResource(template, 'AWS::WAFv2::WebACL');
    expect(acl).toMatchObject({
      Scope: 'REGIONAL',
      DefaultAction: { Allow: {} },
      VisibilityConfig: { CloudWatchMetricsEnabled: true, SampledRequestsEnabled: false },
    });
    const rules = acl.Rules as Json[];
    expect(rules.map((rule) => rule.Name)).toEqual([
      'OAuthRequestsPerIp',
      'AWSManagedRulesAmazonIpReputationList',
      'AWSManagedRulesKnownBadInputsRuleSet',
      'AWSManagedRulesCommonRuleSet',
    ]);
    expect(rules[0]).toEqual({
      Name: 'OAuthRequestsPerIp',
      Priority: 0,
      Statement: {
        RateBasedStatement: {
          Limit: 100,
          EvaluationWindowSec: 300,
          AggregateKeyType: 'IP',
          ScopeDownStatement: {
            ByteMatchStatement: {
              FieldToMatch: { UriPath: {} },
              PositionalConstraint: 'CONTAINS',
              SearchString: '/oauth/',
              TextTransformations: [{ Priority: 0, Type: 'LOWERCASE' }],
            },
          },
        },
      },
      Action: { Block: { CustomResponse: { ResponseCode: 429 } } },
      VisibilityConfig: {
        CloudWatchMetricsEnabled: true,
        MetricName: 'OAuthRequestsPerIp',
        SampledRequestsEnabled: false,
      },
    });
    for (const rule of rules.slice(1)) {
      expect(rule).toMatchObject({
        Statement: { ManagedRuleGroupStatement: { VendorName: 'AWS', Name: rule.Name } },
        OverrideAction: { None: {} },
        // Samples would hold SigV4 headers and callback codes.
        VisibilityConfig: { SampledRequestsEnabled: false },
      });
    }
    const stage = Object.keys(template.findResources('AWS::ApiGateway::Stage'))[0];
    const association = onlyResource(template, 'AWS::WAFv2::WebACLAssociation');
    expect(association.WebACLArn).toEqual({
      'Fn::GetAtt': [expect.stringMatching(/^BrokerApiFirewallWebAcl/), 'Arn'],
    });
    expect(JSON.stringify(association.ResourceArn)).toContain(`"Ref":"${stage}"`);
  });

  it('takes the per-IP limit from context, and can be turned off with APIG3 acknowledged', () => {
    const tuned = synthBroker({ oauthRequestsPerIp: '20' }).template;
    const [rule] = onlyResource(tuned, 'AWS::WAFv2::WebACL').Rules as Json[];
    expect(rule).toMatchObject({ Statement: { RateBasedStatement: { Limit: 20 } } });

    const { stack, template: off } = synthBroker({ webAcl: 'false' });
    off.resourceCountIs('AWS::WAFv2::WebACL', 0);
    off.resourceCountIs('AWS::WAFv2::WebACLAssociation', 0);
    expect(new AwsSolutionsChecks(stack).validateScope(stack).violations).toEqual([]);
  });

  it('refuses a per-IP limit WAF cannot take', () => {
    expect(() => resolveBrokerConfig({ oauthRequestsPerIp: 5 })).toThrow(
      'TokenBroker: oauthRequestsPerIp is 5; give an integer from 10 to 2000000000',
    );
  });
});

describe('reserved concurrency', () => {
  it('caps the OAuth function (5 by default, from context) and leaves the token function unreserved', () => {
    expect(functionWithMemory(template, 256).ReservedConcurrentExecutions).toBe(5);
    expect(functionWithMemory(template, 512).ReservedConcurrentExecutions).toBeUndefined();
    const tuned = synthBroker({ oauthReservedConcurrency: '2' }).template;
    expect(functionWithMemory(tuned, 256).ReservedConcurrentExecutions).toBe(2);
    expect(() => resolveBrokerConfig({ oauthReservedConcurrency: 0 })).toThrow(
      'oauthReservedConcurrency is 0; give an integer from 1 to 1000',
    );
  });
});

describe('approval-link key', () => {
  it('is a KMS HMAC_256 key whose ARN both functions get, with the link lifetime', () => {
    template.hasResourceProperties('AWS::KMS::Key', {
      KeySpec: 'HMAC_256',
      KeyUsage: 'GENERATE_VERIFY_MAC',
    });
    for (const memory of [512, 256]) {
      expect(
        (functionWithMemory(template, memory).Environment as { Variables: Json }).Variables,
      ).toMatchObject({
        APPROVAL_LINK_KEY_ID: {
          'Fn::GetAtt': [expect.stringMatching(/^BrokerApprovalLinkKey/), 'Arn'],
        },
        APPROVAL_LINK_TTL_SECONDS: '604800',
      });
    }
    template.hasOutput('ApprovalLinkKeyArn', {
      Value: { 'Fn::GetAtt': [Match.stringLikeRegexp('^BrokerApprovalLinkKey'), 'Arn'] },
    });
    const days = synthBroker({ approvalLinkTtlSeconds: '86400' }).template;
    expect(
      (functionWithMemory(days, 256).Environment as { Variables: Json }).Variables
        .APPROVAL_LINK_TTL_SECONDS,
    ).toBe('86400');
  });

  it('lets the token function sign and the OAuth function sign and verify, nothing else', () => {
    const macs = Object.values(roleStatements(template))
      .map((statements) => statements.find((statement) => statement.Sid === 'ApprovalLinkMacs'))
      .map((statement) => statement?.Action);
    expect(macs).toEqual(
      expect.arrayContaining(['kms:GenerateMac', ['kms:GenerateMac', 'kms:VerifyMac']]),
    );
  });
});

describe('organization resource policy', () => {
  it('has none by default', () => {
    expect(onlyResource(template, 'AWS::ApiGateway::RestApi').Policy).toBeUndefined();
  });

  it('denies the token routes to principals outside the organization, keeps OAuth public', () => {
    const { stack, template: limited } = synthBroker({ allowedPrincipalOrgId: 'o-a1b2c3d4e5' });
    expect(onlyResource(limited, 'AWS::ApiGateway::RestApi').Policy).toEqual({
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'InvokeApi',
          Effect: 'Allow',
          Principal: { AWS: '*' },
          Action: 'execute-api:Invoke',
          Resource: 'execute-api:/*',
        },
        {
          Sid: 'TokenRoutesOnlyForTheOrganization',
          Effect: 'Deny',
          Principal: { AWS: '*' },
          Action: 'execute-api:Invoke',
          Resource: 'execute-api:/*/*/orgs/*',
          Condition: { StringNotEquals: { 'aws:PrincipalOrgID': 'o-a1b2c3d4e5' } },
        },
      ],
    });
    expect(new AwsSolutionsChecks(stack).validateScope(stack).violations).toEqual([]);
    expect(() => resolveBrokerConfig({ allowedPrincipalOrgId: '123456789012' })).toThrow(
      'allowedPrincipalOrgId "123456789012" must be an AWS Organizations id',
    );
  });
});

describe('API Gateway account role', () => {
  it('is opt-in: by default the account setting is not touched', () => {
    template.resourceCountIs('AWS::ApiGateway::Account', 0);
    template.resourcePropertiesCountIs(
      'AWS::IAM::Role',
      {
        AssumeRolePolicyDocument: Match.objectLike({
          Statement: [Match.objectLike({ Principal: { Service: 'apigateway.amazonaws.com' } })],
        }),
      },
      0,
    );
  });
});
