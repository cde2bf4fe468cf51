import { Aws, Fn, RemovalPolicy, Validations } from 'aws-cdk-lib';
import {
  AccessLogField,
  AccessLogFormat,
  AuthorizationType,
  CfnAccount,
  EndpointType,
  type IResource,
  LambdaIntegration,
  LogGroupLogDestination,
  MethodLoggingLevel,
  RequestValidator,
  ResponseType,
  RestApi,
  SecurityPolicy,
} from 'aws-cdk-lib/aws-apigateway';
import { Certificate } from 'aws-cdk-lib/aws-certificatemanager';
import {
  AnyPrincipal,
  Effect,
  PolicyDocument,
  PolicyStatement,
  Role,
  ServicePrincipal,
} from 'aws-cdk-lib/aws-iam';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { ARecord, HostedZone, RecordTarget } from 'aws-cdk-lib/aws-route53';
import { ApiGatewayDomain } from 'aws-cdk-lib/aws-route53-targets';
import { Construct } from 'constructs';
import { BrokerFirewall } from './broker-firewall';
import {
  GATEWAY_RESPONSES,
  gatewayResponseHeaders,
  gatewayResponseTemplate,
} from './gateway-responses';
import type { CustomDomainProps, ThrottlingProps } from './token-broker-props';

export interface BrokerApiProps {
  readonly stageName: string;
  readonly customDomain: CustomDomainProps | undefined;
  readonly throttling: ThrottlingProps;
  readonly publicRouteThrottling: ThrottlingProps;
  readonly executionLogLevel: 'INFO' | 'ERROR';
  readonly logRetention: RetentionDays;
  readonly removalPolicy: RemovalPolicy;
  readonly manageApiGatewayAccountRole: boolean;
  readonly webAcl: boolean;
  readonly oauthRequestsPerIp: number;
  readonly allowedPrincipalOrgId: string | undefined;
}

/** `ACCESS_DENIED` -> `AccessDenied`: the gateway response's construct id. */
function constructIdOf(type: string): string {
  return type
    .toLowerCase()
    .replace(/(?:^|_)([a-z0-9])/g, (_, letter: string) => letter.toUpperCase());
}

/**
 * Access log fields. No query string and no headers: the OAuth callback's query carries the
 * authorization code, and request headers carry SigV4 signatures.
 */
const ACCESS_LOG_FORMAT = AccessLogFormat.custom(
  JSON.stringify({
    requestId: AccessLogField.contextRequestId(),
    extendedRequestId: AccessLogField.contextExtendedRequestId(),
    requestTime: AccessLogField.contextRequestTime(),
    ip: AccessLogField.contextIdentitySourceIp(),
    userAgent: AccessLogField.contextIdentityUserAgent(),
    caller: AccessLogField.contextIdentityCaller(),
    userArn: AccessLogField.contextIdentityUserArn(),
    httpMethod: AccessLogField.contextHttpMethod(),
    resourcePath: AccessLogField.contextResourcePath(),
    path: AccessLogField.contextPath(),
    status: AccessLogField.contextStatus(),
    protocol: AccessLogField.contextProtocol(),
    responseLength: AccessLogField.contextResponseLength(),
    responseLatency: AccessLogField.contextResponseLatency(),
    integrationLatency: AccessLogField.contextIntegrationLatency(),
    integrationStatus: AccessLogField.contextIntegrationStatus(),
    errorMessage: AccessLogField.contextErrorMessage(),
    errorType: AccessLogField.contextErrorResponseType(),
  }),
);

/**
 * The API's resource policy with `allowedPrincipalOrgId`: everybody may reach the API (the public
 * routes need that once a policy exists; the token routes still require SigV4 and an IAM policy),
 * and the token routes are denied to any principal outside the organization.
 */
function organizationPolicy(organizationId: string): PolicyDocument {
  return new PolicyDocument({
    statements: [
      new PolicyStatement({
        sid: 'InvokeApi',
        principals: [new AnyPrincipal()],
        actions: ['execute-api:Invoke'],
        resources: ['execute-api:/*'],
      }),
      new PolicyStatement({
        sid: 'TokenRoutesOnlyForTheOrganization',
        effect: Effect.DENY,
        principals: [new AnyPrincipal()],
        actions: ['execute-api:Invoke'],
        resources: ['execute-api:/*/*/orgs/*'],
        conditions: { StringNotEquals: { 'aws:PrincipalOrgID': organizationId } },
      }),
    ],
  });
}

/**
 * The REST API: SigV4 (`AWS_IAM`) token routes, public OAuth routes, request validation,
 * throttling, JSON access logs and execution logs, and an optional custom domain.
 *
 * The API exists before the functions (their `PUBLIC_BASE_URL` is derived from its id); routes are
 * added with {@link BrokerApi.addRoutes} once the functions exist.
 */
export class BrokerApi extends Construct {
  readonly restApi: RestApi;
  readonly accessLogGroup: LogGroup;
  /** The group API Gateway writes execution logs to, created here so it has a retention. */
  readonly executionLogGroup: LogGroup;
  /** The API's public base URL without trailing slash; known before any deployment. */
  readonly publicBaseUrl: string;
  /** The stage's web ACL; absent with `webAcl: false`. */
  readonly firewall: BrokerFirewall | undefined;
  private readonly validator: RequestValidator;

  constructor(
    scope: Construct,
    id: string,
    private readonly props: BrokerApiProps,
  ) {
    super(scope, id);
    this.accessLogGroup = new LogGroup(this, 'AccessLogs', {
      retention: props.logRetention,
      removalPolicy: props.removalPolicy,
    });
    const domain = props.customDomain;
    this.restApi = new RestApi(this, 'RestApi', {
      description: 'salesforce-token-broker: token API (SigV4) and OAuth approval routes',
      endpointConfiguration: { types: [EndpointType.REGIONAL] },
      cloudWatchRole: false,
      ...(props.allowedPrincipalOrgId && {
        policy: organizationPolicy(props.allowedPrincipalOrgId),
      }),
      deployOptions: {
        stageName: props.stageName,
        throttlingRateLimit: props.throttling.rateLimit,
        throttlingBurstLimit: props.throttling.burstLimit,
        loggingLevel: MethodLoggingLevel[props.executionLogLevel],
        // Full request/response logging would write access tokens and auth codes to CloudWatch.
        dataTraceEnabled: false,
        metricsEnabled: true,
        accessLogDestination: new LogGroupLogDestination(this.accessLogGroup),
        accessLogFormat: ACCESS_LOG_FORMAT,
        methodOptions: Object.fromEntries(
          ['/oauth/authorize/GET', '/oauth/callback/GET'].map((path) => [
            path,
            {
              throttlingRateLimit: props.publicRouteThrottling.rateLimit,
              throttlingBurstLimit: props.publicRouteThrottling.burstLimit,
            },
          ]),
        ),
      },
      domainName: domain && {
        domainName: domain.domainName,
        certificate: Certificate.fromCertificateArn(this, 'Certificate', domain.certificateArn),
        endpointType: EndpointType.REGIONAL,
        securityPolicy: SecurityPolicy.TLS_1_2,
      },
    });
    this.executionLogGroup = new LogGroup(this, 'ExecutionLogs', {
      logGroupName: `API-Gateway-Execution-Logs_${this.restApi.restApiId}/${props.stageName}`,
      retention: props.logRetention,
      removalPolicy: props.removalPolicy,
    });
    this.restApi.deploymentStage.node.addDependency(this.executionLogGroup);
    this.validator = new RequestValidator(this, 'ParameterValidator', {
      restApi: this.restApi,
      validateRequestParameters: true,
      // Applies to methods with a request model; the token body ({"forceRefresh": true}, optional)
      // has none because an absent body must stay valid, so the function validates it.
      validateRequestBody: true,
    });
    this.publicBaseUrl = domain ? `https://${domain.domainName}` : this.executeApiBaseUrl();
    if (domain?.hostedZone) this.addAliasRecord(domain);
    if (props.manageApiGatewayAccountRole) this.addAccountLoggingRole();
    this.addErrorResponses();
    if (props.webAcl) {
      this.firewall = new BrokerFirewall(this, 'Firewall', {
        stage: this.restApi.deploymentStage,
        oauthRequestsPerIp: props.oauthRequestsPerIp,
      });
    } else {
      Validations.of(this.restApi).acknowledge({
        id: 'AwsSolutions-APIG3',
        reason:
          "The stack's web ACL was turned off (webAcl: false) so that the operator associates one of their own with the stage; the token routes still require SigV4 and the public routes are throttled per method.",
      });
    }
    Validations.of(this.restApi).acknowledge({
      id: 'AwsSolutions-COG4',
      reason:
        'Callers are AWS workloads authenticated with SigV4 (AWS_IAM authorization), not Cognito users; the OAuth routes are public by design (see APIG4).',
    });
  }

  /**
   * `https://{Ref RestApi}.execute-api.{region}.{urlSuffix}/{stage}`: references only the
   * RestApi resource, so functions can carry it without depending on the Deployment or Stage
   * (which depend on the methods, which depend on the functions).
   */
  private executeApiBaseUrl(): string {
    return Fn.join('', [
      'https://',
      this.restApi.restApiId,
      '.execute-api.',
      Aws.REGION,
      '.',
      Aws.URL_SUFFIX,
      `/${this.props.stageName}`,
    ]);
  }

  /** Wires the token API and OAuth routes (docs/contracts.md) to the two functions. */
  addRoutes(functions: { token: IFunction; oauth: IFunction }): void {
    const token = new LambdaIntegration(functions.token, { allowTestInvoke: false });
    const oauth = new LambdaIntegration(functions.oauth, { allowTestInvoke: false });
    const org = this.restApi.root.addResource('orgs').addResource('{orgId}');
    const tokenResource = org.addResource('token');
    for (const method of ['POST', 'DELETE']) this.addSignedMethod(tokenResource, method, token);
    this.addSignedMethod(org.addResource('status'), 'GET', token);

    const oauthResource = this.restApi.root.addResource('oauth');
    // No required parameter on either: the function answers a link without `org` or a callback
    // without `state` with its own page and headers (docs/contracts.md#page-headers), which API
    // Gateway's JSON error would lack, and a missing link part like any other refused link.
    const authorize = oauthResource.addResource('authorize').addMethod('GET', oauth, {
      authorizationType: AuthorizationType.NONE,
    });
    const callback = oauthResource.addResource('callback').addMethod('GET', oauth, {
      authorizationType: AuthorizationType.NONE,
    });
    for (const method of [authorize, callback]) {
      Validations.of(method).acknowledge({
        id: 'AwsSolutions-APIG4',
        reason:
          'Public by design: an operator browser opens /oauth/authorize and Salesforce redirects the browser to /oauth/callback, neither can sign requests. The function authenticates the flow itself (single-use state bound to a browser cookie, PKCE, identity check).',
      });
    }
  }

  private addSignedMethod(resource: IResource, method: string, integration: LambdaIntegration) {
    resource.addMethod(method, integration, {
      authorizationType: AuthorizationType.IAM,
      requestParameters: { 'method.request.path.orgId': true },
      requestValidator: this.validator,
    });
  }

  /** Errors API Gateway answers itself still use the broker's error body (docs/contracts.md#token-api). */
  private addErrorResponses(): void {
    for (const spec of GATEWAY_RESPONSES) {
      const headers = gatewayResponseHeaders(spec);
      this.restApi.addGatewayResponse(constructIdOf(spec.type), {
        type: ResponseType.of(spec.type),
        // Header values are mapping expressions: static values are single-quoted.
        responseHeaders: Object.fromEntries(
          Object.entries(headers).map(([name, value]) => [name, `'${value}'`]),
        ),
        templates: { 'application/json': gatewayResponseTemplate(spec) },
      });
    }
  }

  private addAliasRecord(domain: CustomDomainProps): void {
    const zone = domain.hostedZone;
    const apiDomain = this.restApi.domainName;
    if (!zone || !apiDomain) return;
    new ARecord(this, 'AliasRecord', {
      zone: HostedZone.fromHostedZoneAttributes(this, 'Zone', zone),
      recordName: domain.domainName,
      target: RecordTarget.fromAlias(new ApiGatewayDomain(apiDomain)),
    });
  }

  /**
   * API Gateway writes execution and access logs with one role per account and region. It serves
   * every REST API there, so it may write to any log group in the account and region; the
   * actions are those of AWS's AmazonAPIGatewayPushToCloudWatchLogs, written inline.
   */
  private addAccountLoggingRole(): void {
    const logGroups = `arn:${Aws.PARTITION}:logs:${Aws.REGION}:${Aws.ACCOUNT_ID}:log-group:*`;
    const role = new Role(this, 'CloudWatchRole', {
      assumedBy: new ServicePrincipal('apigateway.amazonaws.com'),
      description: 'API Gateway account role: writes execution and access logs',
      inlinePolicies: {
        PushLogs: new PolicyDocument({
          statements: [
            new PolicyStatement({
              sid: 'PushLogs',
              actions: [
                'logs:CreateLogGroup',
                'logs:CreateLogStream',
                'logs:DescribeLogGroups',
                'logs:DescribeLogStreams',
                'logs:PutLogEvents',
                'logs:GetLogEvents',
                'logs:FilterLogEvents',
              ],
              resources: [logGroups],
            }),
          ],
        }),
      },
    });
    // Retained: the account setting outlives this stack and other APIs may log through it.
    role.applyRemovalPolicy(RemovalPolicy.RETAIN);
    const account = new CfnAccount(this, 'Account', { cloudWatchRoleArn: role.roleArn });
    // The stage turns logging on, which API Gateway refuses until the account has the role.
    this.restApi.deploymentStage.node.addDependency(account);
    Validations.of(role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:*]`,
      reason:
        'The API Gateway account role is shared by every REST API in the account and region and must write to their execution log groups (API-Gateway-Execution-Logs_{apiId}/{stage}, created by API Gateway) and their access log groups; it is limited to this account and region and to log-group resources.',
    });
  }
}
