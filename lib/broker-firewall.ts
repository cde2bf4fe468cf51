import type { Stage } from 'aws-cdk-lib/aws-apigateway';
import { CfnWebACL, CfnWebACLAssociation } from 'aws-cdk-lib/aws-wafv2';
import { Construct } from 'constructs';

export interface BrokerFirewallProps {
  /** The stage the web ACL guards. */
  readonly stage: Stage;
  /** Requests one IP address may send to `/oauth/*` in 5 minutes before it is answered 429. */
  readonly oauthRequestsPerIp: number;
}

/** AWS managed rule groups every request passes, in order: known-bad sources first. */
const MANAGED_RULE_GROUPS = [
  'AWSManagedRulesAmazonIpReputationList',
  'AWSManagedRulesKnownBadInputsRuleSet',
  'AWSManagedRulesCommonRuleSet',
] as const;

/**
 * Metrics only, never sampled requests: a sample holds the whole request, which on the token
 * routes carries SigV4 headers and on the callback the authorization code and state.
 */
function visibility(metricName: string): CfnWebACL.VisibilityConfigProperty {
  return { cloudWatchMetricsEnabled: true, metricName, sampledRequestsEnabled: false };
}

/**
 * A regional WAFv2 web ACL on the API stage. API Gateway's method throttling is one bucket for
 * all clients, so one client could keep the approval routes answering 429 for everybody; the
 * per-IP rate rule confines that to the client. The path match is `CONTAINS /oauth/` so it holds
 * with and without the stage prefix (execute-api URL or custom domain).
 */
export class BrokerFirewall extends Construct {
  readonly webAcl: CfnWebACL;

  constructor(scope: Construct, id: string, props: BrokerFirewallProps) {
    super(scope, id);
    const oauthRate: CfnWebACL.RuleProperty = {
      name: 'OAuthRequestsPerIp',
      priority: 0,
      statement: {
        rateBasedStatement: {
          limit: props.oauthRequestsPerIp,
          evaluationWindowSec: 300,
          aggregateKeyType: 'IP',
          scopeDownStatement: {
            byteMatchStatement: {
              fieldToMatch: { uriPath: {} },
              positionalConstraint: 'CONTAINS',
              searchString: '/oauth/',
              textTransformations: [{ priority: 0, type: 'LOWERCASE' }],
            },
          },
        },
      },
      // 429 like API Gateway's own throttling, so a browser and a client read it the same way.
      action: { block: { customResponse: { responseCode: 429 } } },
      visibilityConfig: visibility('OAuthRequestsPerIp'),
    };
    const managed = MANAGED_RULE_GROUPS.map(
      (name, index): CfnWebACL.RuleProperty => ({
        name,
        priority: index + 1,
        statement: { managedRuleGroupStatement: { vendorName: 'AWS', name } },
        overrideAction: { none: {} },
        visibilityConfig: visibility(name),
      }),
    );
    this.webAcl = new CfnWebACL(this, 'WebAcl', {
      scope: 'REGIONAL',
      description: 'salesforce-token-broker: per-IP rate limit on /oauth/* and AWS managed rules',
      defaultAction: { allow: {} },
      rules: [oauthRate, ...managed],
      visibilityConfig: visibility('TokenBrokerWebAcl'),
    });
    new CfnWebACLAssociation(this, 'StageAssociation', {
      resourceArn: props.stage.stageArn,
      webAclArn: this.webAcl.attrArn,
    });
  }
}
