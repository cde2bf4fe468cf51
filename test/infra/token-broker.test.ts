import { Capture, Match, type Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { TABLE_SCHEMA } from '../../lambda/adapters/table-schema';
import { SALESFORCE_CATEGORIES } from '../../lambda/core/categories';
import { METRIC, METRIC_NAMESPACE } from '../../lambda/core/metrics';
import type { TokenBrokerStack } from '../../lib/token-broker-stack';
import { asList, roleStatements, synthBroker } from './synth';

let template: Template;
let stack: TokenBrokerStack;

beforeAll(() => {
  ({ template, stack } = synthBroker());
});

type Json = Record<string, unknown>;
const logicalId = (value: unknown) => (value as { Ref: string }).Ref;

/** `METHOD /path` -> the method's properties, with paths rebuilt from the Resource tree. */
function methodsByRoute(): Record<string, Json> {
  const resources = template.findResources('AWS::ApiGateway::Resource');
  const pathOf = (id: string | undefined): string => {
    const resource = id ? resources[id] : undefined;
    if (!resource) return '';
    const parent = resource.Properties.ParentId as { Ref?: string };
    return `${pathOf(parent.Ref)}/${resource.Properties.PathPart}`;
  };
  const methods = template.findResources('AWS::ApiGateway::Method');
  return Object.fromEntries(
    Object.values(methods).map((m) => [
      `${m.Properties.HttpMethod} ${pathOf(logicalId(m.Properties.ResourceId))}`,
      m.Properties as Json,
    ]),
  );
}

function functionByEntry(memorySize: number): { id: string; props: Json } {
  const functions = template.findResources('AWS::Lambda::Function', {
    Properties: { MemorySize: memorySize },
  });
  const [entry] = Object.entries(functions);
  if (!entry) throw new Error(`no function with ${memorySize} MB`);
  return { id: entry[0], props: entry[1].Properties };
}

/** Logical id of the role of the function with this memory size. */
const roleOf = (memory: number) =>
  ((functionByEntry(memory).props.Role as Json)['Fn::GetAtt'] as string[])[0] ?? '';

describe('API routes', () => {
  it('exposes exactly the five routes, signed token routes and public OAuth routes', () => {
    const routes = methodsByRoute();
    expect(
      Object.fromEntries(Object.entries(routes).map(([r, m]) => [r, m.AuthorizationType])),
    ).toEqual({
      'POST /orgs/{orgId}/token': 'AWS_IAM',
      'DELETE /orgs/{orgId}/token': 'AWS_IAM',
      'GET /orgs/{orgId}/status': 'AWS_IAM',
      'GET /oauth/authorize': 'NONE',
      'GET /oauth/callback': 'NONE',
    });
  });

  it('validates the required path and query parameters with a request validator', () => {
    const routes = methodsByRoute();
    const validators = template.findResources('AWS::ApiGateway::RequestValidator', {
      Properties: { ValidateRequestParameters: true },
    });
    const validatorId = Object.keys(validators)[0];
    expect(validatorId).toBeDefined();
    for (const [route, method] of Object.entries(routes)) {
      const validated = !route.includes(' /oauth/');
      expect(method.RequestValidatorId && logicalId(method.RequestValidatorId), route).toBe(
        validated ? validatorId : undefined,
      );
    }
    expect(routes['POST /orgs/{orgId}/token']?.RequestParameters).toEqual({
      'method.request.path.orgId': true,
    });
    // The function answers a missing link part or state with its own page and headers
    // (docs/contracts.md#page-headers): a link without `org` is refused like any other.
    expect(routes['GET /oauth/authorize']?.RequestParameters).toBeUndefined();
    expect(routes['GET /oauth/callback']?.RequestParameters).toBeUndefined();
  });

  it('proxies token routes to the token function and OAuth routes to the OAuth function', () => {
    const token = functionByEntry(512).id;
    const oauth = functionByEntry(256).id;
    for (const [route, method] of Object.entries(methodsByRoute())) {
      const integration = method.Integration as Json;
      expect(integration.Type).toBe('AWS_PROXY');
      expect(JSON.stringify(integration.Uri), route).toContain(
        route.includes('/oauth/') ? oauth : token,
      );
    }
  });

  it('throttles the stage, tighter on the public routes, and never logs bodies', () => {
    template.hasResourceProperties('AWS::ApiGateway::Stage', {
      StageName: 'prod',
      MethodSettings: Match.arrayWith([
        Match.objectLike({
          HttpMethod: '*',
          ResourcePath: '/*',
          LoggingLevel: 'ERROR',
          DataTraceEnabled: false,
          MetricsEnabled: true,
          ThrottlingRateLimit: 50,
          ThrottlingBurstLimit: 100,
        }),
        Match.objectLike({
          HttpMethod: 'GET',
          ResourcePath: '/~1oauth~1callback',
          ThrottlingRateLimit: 5,
          ThrottlingBurstLimit: 10,
        }),
      ]),
    });
  });

  it('writes JSON access logs without query strings', () => {
    const format = new Capture();
    template.hasResourceProperties('AWS::ApiGateway::Stage', {
      AccessLogSetting: { DestinationArn: Match.anyValue(), Format: format },
    });
    const fields = JSON.parse(format.asString()) as Record<string, string>;
    expect(fields).toMatchObject({
      requestId: '$context.requestId',
      status: '$context.status',
      userArn: '$context.identity.userArn',
    });
    expect(format.asString()).not.toMatch(/querystring|header/i);
  });

  it('answers every gateway-side error with the broker error body, never cached', () => {
    const responses = template.findResources('AWS::ApiGateway::GatewayResponse');
    const byType = Object.fromEntries(
      Object.values(responses).map((r) => [r.Properties.ResponseType, r.Properties as Json]),
    );
    const expected = {
      ACCESS_DENIED: ['caller_not_authorized', false],
      INVALID_SIGNATURE: ['caller_not_authorized', false],
      EXPIRED_TOKEN: ['caller_not_authorized', false],
      MISSING_AUTHENTICATION_TOKEN: ['caller_not_authorized', false],
      BAD_REQUEST_PARAMETERS: ['invalid_request', false],
      THROTTLED: ['invalid_request', true],
      DEFAULT_4XX: ['invalid_request', false],
      DEFAULT_5XX: ['internal_error', true],
    } as const;
    expect(Object.keys(byType).sort()).toEqual(Object.keys(expected).sort());
    for (const [type, [error, retryable]] of Object.entries(expected)) {
      const props = byType[type] as Json;
      const template = (props.ResponseTemplates as Record<string, string>)['application/json'];
      // Rendered as API Gateway would: the message comes JSON-quoted.
      const rendered = (template ?? '')
        .replace('$context.error.messageString', JSON.stringify('Too "Many" Requests'))
        .replace('$context.requestId', 'req-1');
      expect(JSON.parse(rendered), type).toEqual({
        error,
        message: 'Too "Many" Requests',
        retryable,
        request_id: 'req-1',
      });
      const headers = props.ResponseParameters as Record<string, string>;
      expect(headers['gatewayresponse.header.Cache-Control'], type).toBe("'no-store'");
      expect(headers['gatewayresponse.header.Retry-After'], type).toBe(
        type === 'THROTTLED' ? "'1'" : undefined,
      );
    }
  });

  it('leaves the account-wide API Gateway role alone unless asked, and then creates it retained', () => {
    template.resourceCountIs('AWS::ApiGateway::Account', 0);
    const opted = synthBroker({ manageApiGatewayAccountRole: 'true' }).template;
    opted.hasResourceProperties('AWS::ApiGateway::Account', {
      CloudWatchRoleArn: Match.anyValue(),
    });
    opted.hasResource('AWS::IAM::Role', {
      DeletionPolicy: 'Retain',
      Properties: Match.objectLike({
        AssumeRolePolicyDocument: Match.objectLike({
          Statement: [Match.objectLike({ Principal: { Service: 'apigateway.amazonaws.com' } })],
        }),
      }),
    });
  });

  it("owns the stage's execution log group, so it has a retention", () => {
    template.hasResourceProperties('AWS::Logs::LogGroup', {
      LogGroupName: {
        'Fn::Join': ['', ['API-Gateway-Execution-Logs_', { Ref: Match.anyValue() }, '/prod']],
      },
    });
  });
});

describe('functions', () => {
  it.each([
    [512, 'SIGNING_KEY_MAX_AGE_SECONDS', 'OAUTH_STATE_TTL_SECONDS'],
    [256, 'OAUTH_STATE_TTL_SECONDS', 'SIGNING_KEY_MAX_AGE_SECONDS'],
  ])('%i MB function: Node 24 arm64, JSON logs, its env', (memory, own, other) => {
    const { props } = functionByEntry(memory);
    expect(props).toMatchObject({
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      Handler: 'index.handler',
      Timeout: 20,
      LoggingConfig: {
        LogFormat: 'JSON',
        ApplicationLogLevel: 'INFO',
        LogGroup: { Ref: expect.stringMatching(/FunctionLogGroup/) },
      },
    });
    const env = (props.Environment as { Variables: Record<string, unknown> }).Variables;
    expect(env).toMatchObject({
      TABLE_NAME: { Ref: expect.stringMatching(/^BrokerTable/) },
      EVENTS_TOPIC_ARN: { Ref: expect.stringMatching(/^BrokerEventsTopic/) },
      POWERTOOLS_SERVICE_NAME: 'salesforce-token-broker',
      POWERTOOLS_METRICS_NAMESPACE: METRIC_NAMESPACE,
      POWERTOOLS_LOG_LEVEL: 'INFO',
      SALESFORCE_TIMEOUT_MS: '5000',
      INCIDENT_REMINDER_INTERVAL_SECONDS: '3600',
    });
    expect(env[own]).toMatch(/^\d+$/);
    expect(env).not.toHaveProperty(other);
    expect(env).not.toHaveProperty('NODE_OPTIONS');
  });

  it('derives PUBLIC_BASE_URL from the RestApi id alone (no Stage/Deployment dependency)', () => {
    const { props } = functionByEntry(512);
    const url = (props.Environment as { Variables: Record<string, unknown> }).Variables
      .PUBLIC_BASE_URL;
    expect(url).toEqual({
      'Fn::Join': [
        '',
        [
          'https://',
          { Ref: expect.stringMatching(/^BrokerApiRestApi[0-9A-F]{8}$/) },
          '.execute-api.',
          { Ref: 'AWS::Region' },
          '.',
          { Ref: 'AWS::URLSuffix' },
          '/prod',
        ],
      ],
    });
  });

  it('gives each function its own role', () => {
    expect(functionByEntry(512).props.Role).not.toEqual(functionByEntry(256).props.Role);
  });

  it('keeps function, access and execution logs for the configured retention', () => {
    const groups = template.findResources('AWS::Logs::LogGroup');
    expect(Object.keys(groups)).toHaveLength(4);
    for (const group of Object.values(groups)) {
      expect(group.Properties.RetentionInDays).toBe(90);
      expect(group.DeletionPolicy).toBe('Retain');
    }
  });
});

describe('IAM', () => {
  it('uses no wildcard action, no "*" resource and no managed policy in any role', () => {
    const roles = template.findResources('AWS::IAM::Role');
    // The two functions' roles and the daily certificate check's.
    expect(Object.keys(roles)).toHaveLength(3);
    for (const [id, statements] of Object.entries(roleStatements(template))) {
      expect(roles[id]?.Properties.ManagedPolicyArns, id).toBeUndefined();
      for (const statement of statements) {
        for (const action of asList(statement.Action)) {
          expect(action, `${id} ${statement.Sid}`).not.toContain('*');
        }
        for (const resource of asList(statement.Resource)) {
          expect(resource, `${id} ${statement.Sid}`).not.toBe('*');
        }
        expect(statement.NotAction ?? statement.NotResource).toBeUndefined();
      }
    }
  });

  const secretArn = (prefix: string) => ({
    'Fn::Join': [
      '',
      [
        'arn:',
        { Ref: 'AWS::Partition' },
        ':secretsmanager:',
        { Ref: 'AWS::Region' },
        ':',
        { Ref: 'AWS::AccountId' },
        `:secret:${prefix}*`,
      ],
    ],
  });
  const table = { 'Fn::GetAtt': [expect.stringMatching(/^BrokerTable/), 'Arn'] };
  const secretsKey = { 'Fn::GetAtt': [expect.stringMatching(/^BrokerSecretsKey/), 'Arn'] };
  const leadingKeys = (prefix: string) => ({
    'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [`${prefix}*`] },
  });
  const viaSecretsManager = (prefix: string) => ({
    StringEquals: {
      'kms:ViaService': {
        'Fn::Join': [
          '',
          ['secretsmanager.', { Ref: 'AWS::Region' }, '.', { Ref: 'AWS::URLSuffix' }],
        ],
      },
    },
    StringLike: { 'kms:EncryptionContext:SecretARN': secretArn(prefix) },
  });
  const publishing = [
    {
      Sid: 'PublishEvents',
      Effect: 'Allow',
      Action: 'sns:Publish',
      Resource: { Ref: expect.stringMatching(/^BrokerEventsTopic/) },
    },
    {
      Sid: 'EncryptEventsForSns',
      Effect: 'Allow',
      Action: ['kms:GenerateDataKey', 'kms:Decrypt'],
      Resource: { 'Fn::GetAtt': [expect.stringMatching(/^BrokerTopicKey/), 'Arn'] },
      Condition: { StringEquals: { 'kms:ViaService': expect.anything() } },
    },
  ];

  it('grants the token function exactly its statements: org reads, its own org state, incidents, signing keys', () => {
    expect(roleStatements(template)[roleOf(512)]).toEqual([
      {
        Sid: 'WriteOwnLogGroup',
        Effect: 'Allow',
        Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        Resource: { 'Fn::GetAtt': [expect.stringMatching(/^BrokerTokenFunctionLogGroup/), 'Arn'] },
      },
      {
        Sid: 'ReadOrgItems',
        Effect: 'Allow',
        Action: 'dynamodb:GetItem',
        Resource: table,
        Condition: leadingKeys('ORG#'),
      },
      {
        Sid: 'ListOrgs',
        Effect: 'Allow',
        Action: 'dynamodb:Query',
        Resource: {
          'Fn::Join': ['', [table, `/index/${TABLE_SCHEMA.orgIndex.name}`]],
        },
        Condition: { 'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': ['ORG'] } },
      },
      {
        Sid: 'WriteOrgState',
        Effect: 'Allow',
        Action: 'dynamodb:UpdateItem',
        Resource: table,
        Condition: {
          ...leadingKeys('ORG#'),
          'ForAllValues:StringEquals': {
            'dynamodb:Attributes': [
              'pk',
              'sk',
              'lastExchange',
              'lastExchangeState',
              'tokenInvalidatedAt',
              'keyRotation',
              'certificateAlerts',
            ],
          },
        },
      },
      {
        Sid: 'IncidentItems',
        Effect: 'Allow',
        Action: ['dynamodb:Query', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'],
        Resource: table,
        Condition: leadingKeys('INCIDENT#'),
      },
      {
        Sid: 'ReadSigningKeys',
        Effect: 'Allow',
        Action: 'secretsmanager:GetSecretValue',
        Resource: secretArn('salesforce-token-broker/'),
      },
      {
        Sid: 'DecryptSigningKeys',
        Effect: 'Allow',
        Action: 'kms:Decrypt',
        Resource: secretsKey,
        Condition: viaSecretsManager('salesforce-token-broker/'),
      },
      {
        Sid: 'SignWithBrokerKmsKeys',
        Effect: 'Allow',
        Action: 'kms:Sign',
        Resource: {
          'Fn::Join': [
            '',
            [
              'arn:',
              { Ref: 'AWS::Partition' },
              ':kms:',
              { Ref: 'AWS::Region' },
              ':',
              { Ref: 'AWS::AccountId' },
              ':key/*',
            ],
          ],
        },
        Condition: {
          'ForAnyValue:StringLike': { 'kms:ResourceAliases': 'alias/salesforce-token-broker/*' },
          StringEquals: { 'kms:SigningAlgorithm': 'RSASSA_PKCS1_V1_5_SHA_256' },
        },
      },
      {
        Sid: 'SharedTokenItems',
        Effect: 'Allow',
        Action: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
        Resource: table,
        Condition: leadingKeys('TOKEN#'),
      },
      {
        Sid: 'SealSharedTokens',
        Effect: 'Allow',
        Action: ['kms:GenerateDataKey', 'kms:Decrypt'],
        Resource: { 'Fn::GetAtt': [expect.stringMatching(/^BrokerTokenCacheKey/), 'Arn'] },
        Condition: {
          StringEquals: {
            'kms:EncryptionContext:purpose': 'salesforce-token-broker/token-cache',
            'kms:EncryptionContext:table': { Ref: expect.stringMatching(/^BrokerTable/) },
          },
        },
      },
      {
        Sid: 'ReadClientCredentialsSecrets',
        Effect: 'Allow',
        Action: 'secretsmanager:GetSecretValue',
        Resource: secretArn('salesforce-token-broker-consumer/'),
      },
      {
        Sid: 'DecryptClientCredentialsSecrets',
        Effect: 'Allow',
        Action: 'kms:Decrypt',
        Resource: secretsKey,
        Condition: viaSecretsManager('salesforce-token-broker-consumer/'),
      },
      ...publishing,
      {
        Sid: 'ApprovalLinkMacs',
        Effect: 'Allow',
        Action: 'kms:GenerateMac',
        Resource: { 'Fn::GetAtt': [expect.stringMatching(/^BrokerApprovalLinkKey/), 'Arn'] },
      },
    ]);
  });

  it('grants the OAuth function approval attempts, consumer secrets and the token function invoke, never a signing key', () => {
    const statements = roleStatements(template)[roleOf(256)];
    expect(statements).toEqual([
      {
        Sid: 'WriteOwnLogGroup',
        Effect: 'Allow',
        Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        Resource: { 'Fn::GetAtt': [expect.stringMatching(/^BrokerOAuthFunctionLogGroup/), 'Arn'] },
      },
      {
        Sid: 'ReadOrgItems',
        Effect: 'Allow',
        Action: 'dynamodb:GetItem',
        Resource: table,
        Condition: leadingKeys('ORG#'),
      },
      {
        Sid: 'OAuthStateItems',
        Effect: 'Allow',
        Action: ['dynamodb:PutItem', 'dynamodb:DeleteItem'],
        Resource: table,
        Condition: leadingKeys('STATE#'),
      },
      {
        Sid: 'ReadConsumerSecrets',
        Effect: 'Allow',
        Action: 'secretsmanager:GetSecretValue',
        Resource: secretArn('salesforce-token-broker-consumer/'),
      },
      {
        Sid: 'DecryptConsumerSecrets',
        Effect: 'Allow',
        Action: 'kms:Decrypt',
        Resource: secretsKey,
        Condition: viaSecretsManager('salesforce-token-broker-consumer/'),
      },
      {
        Sid: 'InvokeTokenFunction',
        Effect: 'Allow',
        Action: 'lambda:InvokeFunction',
        Resource: {
          'Fn::GetAtt': [expect.stringMatching(/^BrokerTokenFunction[A-Z0-9]+$/), 'Arn'],
        },
      },
      ...publishing,
      {
        Sid: 'ApprovalLinkMacs',
        Effect: 'Allow',
        Action: ['kms:GenerateMac', 'kms:VerifyMac'],
        Resource: { 'Fn::GetAtt': [expect.stringMatching(/^BrokerApprovalLinkKey/), 'Arn'] },
      },
    ]);
    expect(JSON.stringify(statements)).not.toContain(':secret:salesforce-token-broker/*');
    expect(JSON.stringify(statements)).not.toContain('kms:Sign');
  });

  it('alarms when a signing certificate expires in fewer than 30 days, on the alarm topic', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'CertificateDaysToExpiry',
      Namespace: METRIC_NAMESPACE,
      Dimensions: [{ Name: 'service', Value: 'salesforce-token-broker' }],
      Statistic: 'Minimum',
      Period: 86_400,
      Threshold: 30,
      ComparisonOperator: 'LessThanThreshold',
      TreatMissingData: 'notBreaching',
      AlarmActions: [{ Ref: Match.stringLikeRegexp('^BrokerAlarmTopic') }],
    });
  });

  it('invokes the token function daily with check_certificates, through a role that may do only that', () => {
    const schedules = template.findResources('AWS::Scheduler::Schedule');
    const [schedule] = Object.values(schedules);
    expect(Object.keys(schedules)).toHaveLength(1);
    const props = schedule?.Properties as Json;
    expect(props.ScheduleExpression).toBe('rate(1 day)');
    expect(props.State).toBe('ENABLED');
    const target = props.Target as Json;
    expect(target.Arn).toEqual({
      'Fn::GetAtt': [expect.stringMatching(/^BrokerTokenFunction[A-Z0-9]+$/), 'Arn'],
    });
    expect(JSON.parse(target.Input as string)).toEqual({ brokerInternal: 'check_certificates' });
    const roleId = ((target.RoleArn as Json)['Fn::GetAtt'] as string[])[0] ?? '';
    const role = template.findResources('AWS::IAM::Role')[roleId]?.Properties as Json;
    expect(role.AssumeRolePolicyDocument).toEqual({
      Version: '2012-10-17',
      Statement: [
        {
          Action: 'sts:AssumeRole',
          Effect: 'Allow',
          Principal: { Service: 'scheduler.amazonaws.com' },
          Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
        },
      ],
    });
    expect(role.ManagedPolicyArns).toBeUndefined();
    expect(roleStatements(template)[roleId]).toEqual([
      {
        Sid: 'InvokeTokenFunction',
        Effect: 'Allow',
        Action: 'lambda:InvokeFunction',
        Resource: {
          'Fn::GetAtt': [expect.stringMatching(/^BrokerTokenFunction[A-Z0-9]+$/), 'Arn'],
        },
      },
    ]);
    // No other policy is attached to it.
    for (const policy of Object.values(template.findResources('AWS::IAM::Policy'))) {
      expect(JSON.stringify(policy.Properties.Roles)).not.toContain(roleId);
    }
  });

  it('tells the OAuth function which token function to invoke', () => {
    const { props } = functionByEntry(256);
    expect((props.Environment as Json).Variables).toMatchObject({
      TOKEN_FUNCTION_NAME: { Ref: expect.stringMatching(/^BrokerTokenFunction[A-Z0-9]+$/) },
    });
  });

  it('keeps the secrets under a customer-managed key of the stack with rotation on, and outputs it', () => {
    template.hasResourceProperties('AWS::KMS::Key', {
      Description: 'salesforce-token-broker: encrypts the signing key and consumer secrets',
      EnableKeyRotation: true,
    });
    template.hasOutput('SecretsKeyArn', {
      Value: { 'Fn::GetAtt': [Match.stringLikeRegexp('^BrokerSecretsKey'), 'Arn'] },
    });
    template.hasOutput('TokenRoleArn', {
      Value: { 'Fn::GetAtt': [Match.stringLikeRegexp('^BrokerTokenFunctionRole'), 'Arn'] },
    });
    template.hasOutput('ConsumerSecretPrefix', { Value: 'salesforce-token-broker-consumer/' });
  });

  it('seals the shared token cache under its own rotating key, for the token function only', () => {
    template.hasResourceProperties('AWS::KMS::Key', {
      Description: Match.stringLikeRegexp('shared token cache'),
      EnableKeyRotation: true,
    });
    const keyEnv = new Capture();
    template.hasResourceProperties('AWS::Lambda::Function', {
      MemorySize: 512,
      Environment: {
        Variables: Match.objectLike({
          TOKEN_CACHE_KEY_ID: keyEnv,
          FAILURE_MEMORY_SECONDS: '60',
          MIN_TOKEN_AGE_SECONDS: '30',
        }),
      },
    });
    expect(keyEnv.asObject()).toEqual({
      'Fn::GetAtt': [expect.stringMatching(/^BrokerTokenCacheKey/), 'Arn'],
    });
    // The OAuth function seals nothing: the callback's check runs in the token function.
    template.hasResourceProperties('AWS::Lambda::Function', {
      MemorySize: 256,
      Environment: { Variables: Match.objectLike({ TOKEN_CACHE_KEY_ID: Match.absent() }) },
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'LoginBudgetUsed',
      Statistic: 'Maximum',
      Threshold: 25,
    });
  });
});

describe('data and events', () => {
  it('builds the table from the shared schema: on-demand, PITR, encrypted, TTL, retained', () => {
    template.hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Retain',
      Properties: {
        KeySchema: [
          { AttributeName: TABLE_SCHEMA.partitionKey, KeyType: 'HASH' },
          { AttributeName: TABLE_SCHEMA.sortKey, KeyType: 'RANGE' },
        ],
        BillingMode: 'PAY_PER_REQUEST',
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        SSESpecification: { SSEEnabled: true },
        TimeToLiveSpecification: { AttributeName: 'ttl', Enabled: true },
        DeletionProtectionEnabled: true,
        GlobalSecondaryIndexes: [
          Match.objectLike({
            IndexName: 'gsi1',
            KeySchema: [
              { AttributeName: 'gsi1pk', KeyType: 'HASH' },
              { AttributeName: 'pk', KeyType: 'RANGE' },
            ],
          }),
        ],
      },
    });
  });

  it('encrypts both topics with a rotating KMS key and refuses non-TLS publishing', () => {
    template.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
    const key = Object.keys(template.findResources('AWS::KMS::Key'))[0];
    const topics = template.findResources('AWS::SNS::Topic');
    expect(Object.keys(topics)).toHaveLength(2);
    for (const topic of Object.values(topics)) {
      expect(topic.Properties.KmsMasterKeyId).toEqual({ 'Fn::GetAtt': [key, 'Arn'] });
    }
    const policies = template.findResources('AWS::SNS::TopicPolicy');
    expect(Object.keys(policies)).toHaveLength(2);
    for (const policy of Object.values(policies)) {
      expect(policy.Properties.PolicyDocument.Statement).toContainEqual(
        expect.objectContaining({
          Effect: 'Deny',
          Condition: { Bool: { 'aws:SecureTransport': 'false' } },
        }),
      );
    }
  });
});

describe('ops pack', () => {
  const alarmTopicRef = () => ({
    Ref: Object.keys(template.findResources('AWS::SNS::Topic')).find((id) =>
      id.startsWith('BrokerAlarmTopic'),
    ),
  });

  it.each(SALESFORCE_CATEGORIES)('alarms on ExchangeFailures for %s', (category) => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: METRIC_NAMESPACE,
      MetricName: METRIC.exchangeFailures,
      Dimensions: Match.arrayWith([
        { Name: 'Category', Value: category },
        { Name: 'service', Value: 'salesforce-token-broker' },
      ]),
      AlarmActions: [alarmTopicRef()],
      OKActions: [alarmTopicRef()],
    });
  });

  it.each([
    METRIC.eventDeliveryFailed,
    METRIC.incidentLedgerErrors,
    METRIC.exchangeBookkeepingAbandoned,
  ])('alarms on %s', (metric) => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: METRIC_NAMESPACE,
      MetricName: metric,
      Threshold: 1,
      AlarmActions: [alarmTopicRef()],
    });
  });

  it('alarms on the API 5XX rate (metric math) and p99 latency', () => {
    const expression = new Capture();
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Metrics: Match.arrayWith([Match.objectLike({ Expression: expression })]),
      Threshold: 0.05,
      AlarmActions: [alarmTopicRef()],
    });
    expect(expression.asString()).toBe('IF(requests >= 10, errors / requests, 0)');
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/ApiGateway',
      MetricName: 'Latency',
      ExtendedStatistic: 'p99',
      Threshold: 3000,
    });
  });

  it.each(['Errors', 'Throttles'])('alarms on Lambda %s for both functions', (metric) => {
    const alarms = template.findResources('AWS::CloudWatch::Alarm', {
      Properties: { Namespace: 'AWS/Lambda', MetricName: metric },
    });
    expect(Object.keys(alarms)).toHaveLength(2);
  });

  it('has a dashboard that graphs the broker metrics', () => {
    const body = new Capture();
    template.hasResourceProperties('AWS::CloudWatch::Dashboard', { DashboardBody: body });
    const text = JSON.stringify(body.asObject());
    for (const metric of Object.values(METRIC)) expect(text).toContain(metric);
  });

  it('saves the five Logs Insights queries over both function log groups', () => {
    const queries = template.findResources('AWS::Logs::QueryDefinition');
    const names = Object.values(queries).map((q) => q.Properties.Name);
    expect(names.sort()).toEqual(
      [
        'approvals',
        'by-request-id',
        'failures-by-org-and-category',
        'logins-by-org',
        'slowest-exchanges',
      ].map((n) => `salesforce-token-broker/prod/${n}`),
    );
    template.hasResourceProperties('AWS::Logs::QueryDefinition', {
      Name: 'salesforce-token-broker/prod/logins-by-org',
      QueryString: Match.stringLikeRegexp('stats sum\\(attempts\\) as logins by org'),
    });
    for (const query of Object.values(queries)) {
      const groups = JSON.stringify(query.Properties.LogGroupNames);
      expect(groups).toMatch(/BrokerTokenFunctionLogGroup/);
      expect(groups).toMatch(/BrokerOAuthFunctionLogGroup/);
    }
    template.hasResourceProperties('AWS::Logs::QueryDefinition', {
      Name: 'salesforce-token-broker/prod/failures-by-org-and-category',
      QueryString: Match.stringLikeRegexp(
        'stats count_distinct\\(function_request_id\\) as failures, .* by org, category',
      ),
    });
  });
});

describe('saved queries', () => {
  const queryString = (name: string): string => {
    const queries = template.findResources('AWS::Logs::QueryDefinition', {
      Properties: { Name: `salesforce-token-broker/prod/${name}` },
    });
    const [query] = Object.values(queries);
    return query?.Properties.QueryString as string;
  };
  /** A Logs Insights `/regex/` as JavaScript would run it (`(?i)` is the case-insensitive flag). */
  const regexIn = (query: string, operator: string): RegExp => {
    const source = new RegExp(`${operator} /(.+?)/(?:\\s|$)`, 'm').exec(query)?.[1] ?? '';
    return source.startsWith('(?i)') ? new RegExp(source.slice(4), 'i') : new RegExp(source);
  };

  it('counts failures without the incident and event lines, whatever their case', () => {
    const query = queryString('failures-by-org-and-category');
    const skipped = regexIn(query, 'message not like');
    // The messages the functions log (lambda/services/incident-service.ts, sns-publisher.ts).
    for (const message of ['Incident opened', 'Incident reminder', 'Incident resolved']) {
      expect(skipped.test(message), message).toBe(true);
    }
    for (const message of ['Event published', 'Event delivery failed', 'incident opened']) {
      expect(skipped.test(message), message).toBe(true);
    }
    for (const message of ['Token exchange failed', 'Request refused', 'Request failed']) {
      expect(skipped.test(message), message).toBe(false);
    }
  });

  it('lists approval lines whatever their case', () => {
    const approvals = regexIn(queryString('approvals'), 'message like');
    for (const message of ['approval outcome', 'Approval started']) {
      expect(approvals.test(message), message).toBe(true);
    }
    expect(approvals.test('Token served')).toBe(false);
  });

  it('reads the snake_case log keys the token function writes', () => {
    const slowest = queryString('slowest-exchanges');
    expect(slowest).toContain('upstream_latency_ms as latencyMs');
    expect(slowest).not.toContain('upstreamLatencyMs');
    expect(slowest).toContain('org_id');
  });
});

describe('stack', () => {
  it('outputs the API URL, redirect URI, topic ARNs and table name', () => {
    template.hasOutput('RedirectUri', {
      Value: {
        'Fn::Join': ['', Match.arrayWith(['/prod/oauth/callback'])],
      },
    });
    for (const output of ['ApiUrl', 'EventsTopicArn', 'AlarmTopicArn', 'TableName']) {
      template.hasOutput(output, { Value: Match.anyValue() });
    }
  });

  it('has no unacknowledged cdk-nag AwsSolutions finding', () => {
    const report = new AwsSolutionsChecks(stack).validateScope(stack);
    expect(report.violations).toEqual([]);
  });
});
