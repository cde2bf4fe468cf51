import { Duration, Validations } from 'aws-cdk-lib';
import type { RestApi } from 'aws-cdk-lib/aws-apigateway';
import type { Table } from 'aws-cdk-lib/aws-dynamodb';
import { Key } from 'aws-cdk-lib/aws-kms';
import type { Topic } from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { ORG_STATE_ATTRIBUTES } from '../lambda/adapters/table-schema';
import { buildRedirectUri } from '../lambda/core/approval-links';
import { METRIC_NAMESPACE, SERVICE_NAME } from '../lambda/core/metrics';
import { approvalLinkStatement, createApprovalLinkKey } from './approval-link-key';
import { BrokerApi } from './broker-api';
import { BrokerFunction } from './broker-function';
import { publishStatements } from './broker-policies';
import { createBrokerTable } from './broker-table';
import { createBrokerTopics } from './broker-topics';
import { createCertificateCheckSchedule } from './certificate-check-schedule';
import { createCertificateExpiryAlarm } from './certificate-expiry-alarm';
import {
  decryptSecretsStatement,
  incidentItemsStatement,
  invokeTokenFunctionStatement,
  listOrgsStatement,
  oauthStateItemsStatement,
  readOrgItemsStatement,
  readSecretsUnderStatement,
  signWithBrokerKeysStatement,
  writeOrgStateStatement,
} from './custody-policies';
import { OpsPack } from './ops-pack';
import { type BrokerConfig, resolveBrokerConfig } from './resolve-config';
import { SavedQueries } from './saved-queries';
import type { TokenBrokerProps } from './token-broker-props';
import {
  createTokenCacheKey,
  sealTokensStatement,
  sharedTokenItemsStatement,
} from './token-cache-key';

export type {
  BrokerLogLevel,
  CustomDomainProps,
  ThrottlingProps,
  TokenBrokerProps,
} from './token-broker-props';

/**
 * Token function: 512 MB. It is on the callers' latency path, and Lambda allots CPU in proportion
 * to memory: at 512 MB the cold start (module import of about 100 ms at a full core) and the
 * RS256 signature run about twice as fast as at 256 MB, for twice the price of a ~10 ms warm
 * cache hit. 20 s timeout: Salesforce attempts (5 s each by default) and their backoff must end
 * before API Gateway's 29 s integration limit even after a cold start of a second or two.
 */
const TOKEN_FUNCTION = { memorySize: 512, timeout: Duration.seconds(20) } as const;

/**
 * OAuth function: 256 MB. A human waits on it a few times a year, and its time is dominated by
 * three sequential Salesforce round trips (code exchange, identity, JWT re-verification), not by
 * CPU. 20 s timeout: three calls at the 6 s maximum per-call timeout fit, under API Gateway's
 * 29 s limit.
 */
const OAUTH_FUNCTION = { memorySize: 256, timeout: Duration.seconds(20) } as const;

/**
 * salesforce-token-broker on AWS (docs/architecture.md): a REST API with SigV4 token routes and public OAuth
 * approval routes, the token and OAuth functions with their own least-privilege roles, the
 * DynamoDB table, the KMS-encrypted events and alarm topics, and the ops pack (alarms,
 * dashboard, saved Logs Insights queries).
 *
 * Props are validated when the construct is created; a bad value throws an error that names the
 * prop and the fix.
 */
export class TokenBroker extends Construct {
  readonly api: RestApi;
  readonly table: Table;
  readonly eventsTopic: Topic;
  readonly alarmTopic: Topic;
  readonly tokenFunction: BrokerFunction;
  readonly oauthFunction: BrokerFunction;
  /** Seals the fleet's shared token cache in the table. */
  readonly tokenCacheKey: Key;
  /** The KMS HMAC key approval links are signed with (`token-broker approval-url` needs it). */
  readonly approvalLinkKey: Key;
  /** Encrypts the signing key and consumer secrets `keys create` makes; its rotation is on. */
  readonly secretsKey: Key;
  /** `https://{host}[/{stage}]`, no trailing slash; what the functions get as PUBLIC_BASE_URL. */
  readonly publicBaseUrl: string;
  /** `{publicBaseUrl}/oauth/callback`: register it as the Connected App's callback URL. */
  readonly redirectUri: string;
  readonly config: BrokerConfig;

  constructor(scope: Construct, id: string, props: TokenBrokerProps = {}) {
    super(scope, id);
    const config = resolveBrokerConfig(props);
    this.config = config;
    this.table = createBrokerTable(this, config.removalPolicy);
    const topics = createBrokerTopics(this, config);
    this.eventsTopic = topics.eventsTopic;
    this.alarmTopic = topics.alarmTopic;

    const api = new BrokerApi(this, 'Api', config);
    this.api = api.restApi;
    this.publicBaseUrl = api.publicBaseUrl;
    // The builder's string concatenation keeps the CDK token of an execute-api URL intact.
    this.redirectUri = buildRedirectUri(this.publicBaseUrl);

    const common = {
      logRetention: config.logRetention,
      logLevel: config.logLevel,
      removalPolicy: config.removalPolicy,
      sourceMapStackTraces: config.sourceMapStackTraces,
    };
    this.tokenCacheKey = createTokenCacheKey(this, config.removalPolicy);
    const sealTokens = sealTokensStatement(this.tokenCacheKey, this.table);
    this.approvalLinkKey = createApprovalLinkKey(this, config.removalPolicy);
    const environment = this.sharedEnvironment(config);
    const publishing = publishStatements(this.eventsTopic, topics.key);
    this.secretsKey = new Key(this, 'SecretsKey', {
      description: 'salesforce-token-broker: encrypts the signing key and consumer secrets',
      enableKeyRotation: true,
      removalPolicy: config.removalPolicy,
    });
    const signingPrefix = config.signingKeySecretPrefix;
    const consumerPrefix = config.consumerSecretPrefix;

    this.tokenFunction = new BrokerFunction(this, 'TokenFunction', {
      ...common,
      ...TOKEN_FUNCTION,
      entry: 'lambda/handlers/token.ts',
      description: 'salesforce-token-broker token API: cached JWT bearer exchange per org',
      environment: {
        ...environment,
        SIGNING_KEY_MAX_AGE_SECONDS: String(config.signingKeyMaxAge.toSeconds()),
        TOKEN_CACHE_KEY_ID: this.tokenCacheKey.keyArn,
        FAILURE_MEMORY_SECONDS: String(config.failureMemory.toSeconds()),
        MIN_TOKEN_AGE_SECONDS: String(config.minTokenAge.toSeconds()),
      },
      // Reads org records, writes only its own per-org state and the incident ledger; the only
      // role that reads signing keys or signs.
      statements: [
        readOrgItemsStatement(this.table),
        // The daily certificate check lists the registry (the org index's one partition).
        listOrgsStatement(this.table),
        writeOrgStateStatement(this.table, ORG_STATE_ATTRIBUTES),
        incidentItemsStatement(this.table),
        readSecretsUnderStatement('ReadSigningKeys', signingPrefix),
        decryptSecretsStatement(this.secretsKey, 'DecryptSigningKeys', signingPrefix),
        signWithBrokerKeysStatement(),
        sharedTokenItemsStatement(this.table),
        sealTokens,
        // The client credentials grant sends the org's consumer secret from the token function.
        readSecretsUnderStatement('ReadClientCredentialsSecrets', consumerPrefix),
        decryptSecretsStatement(this.secretsKey, 'DecryptClientCredentialsSecrets', consumerPrefix),
        ...publishing,
        approvalLinkStatement(this.approvalLinkKey, ['GenerateMac']),
      ],
    });
    this.oauthFunction = new BrokerFunction(this, 'OAuthFunction', {
      ...common,
      ...OAUTH_FUNCTION,
      entry: 'lambda/handlers/oauth.ts',
      // Its ceiling too: the public routes cannot take the token function's concurrency.
      reservedConcurrentExecutions: config.oauthReservedConcurrency,
      description: 'salesforce-token-broker OAuth routes: approval redirect and verified callback',
      environment: {
        ...environment,
        OAUTH_STATE_TTL_SECONDS: String(config.oauthStateTtl.toSeconds()),
        TOKEN_FUNCTION_NAME: this.tokenFunction.function.functionName,
      },
      // Reads org records and writes approval attempts only; reads consumer secrets, never a
      // signing key: the callback's exchange is the token function's (InvokeTokenFunction).
      statements: [
        readOrgItemsStatement(this.table),
        oauthStateItemsStatement(this.table),
        readSecretsUnderStatement('ReadConsumerSecrets', consumerPrefix),
        decryptSecretsStatement(this.secretsKey, 'DecryptConsumerSecrets', consumerPrefix),
        invokeTokenFunctionStatement(this.tokenFunction.function),
        ...publishing,
        approvalLinkStatement(this.approvalLinkKey, ['GenerateMac', 'VerifyMac']),
      ],
    });
    for (const [fn, prefix] of [
      [this.tokenFunction, signingPrefix],
      // The client credentials grant: the token function sends the org's consumer secret.
      [this.tokenFunction, consumerPrefix],
      [this.oauthFunction, consumerPrefix],
    ] as const) {
      Validations.of(fn.role).acknowledge({
        id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:secretsmanager:<AWS::Region>:<AWS::AccountId>:secret:${prefix}*]`,
        reason: `Secrets are granted by name prefix "${prefix}" only (GetSecretValue, no other action): secret ARNs end in a random suffix, and operators add one secret per Connected App without redeploying.`,
      });
    }
    Validations.of(this.tokenFunction.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:kms:<AWS::Region>:<AWS::AccountId>:key/*]',
      reason:
        "kms:Sign only (RSASSA_PKCS1_V1_5_SHA_256), and only on keys whose alias is under the broker's signing alias prefix (kms:ResourceAliases): keys are created per org by `token-broker keys create --kms` without redeploying.",
    });
    api.addRoutes({ token: this.tokenFunction.function, oauth: this.oauthFunction.function });

    const stage = this.api.deploymentStage;
    new OpsPack(this, 'Ops', {
      stage,
      functions: { Token: this.tokenFunction.function, OAuth: this.oauthFunction.function },
      alarmTopic: this.alarmTopic,
      latencyThreshold: config.latencyAlarmThreshold,
      serverErrorRateThreshold: config.serverErrorRateThreshold,
      loginBudgetAlarmPercent: config.loginBudgetAlarmPercent,
    });
    createCertificateExpiryAlarm(this, {
      alarmTopic: this.alarmTopic,
      thresholdDays: config.certificateExpiryAlarmDays,
      stageName: config.stageName,
    });
    createCertificateCheckSchedule(this, {
      tokenFunction: this.tokenFunction.function,
      stageName: config.stageName,
    });
    new SavedQueries(this, 'Queries', {
      folder: `${SERVICE_NAME}/${config.stageName}`,
      functionLogGroups: [this.tokenFunction.logGroup, this.oauthFunction.logGroup],
      accessLogGroup: api.accessLogGroup,
    });
  }

  private sharedEnvironment(config: BrokerConfig): Record<string, string> {
    return {
      TABLE_NAME: this.table.tableName,
      EVENTS_TOPIC_ARN: this.eventsTopic.topicArn,
      PUBLIC_BASE_URL: this.publicBaseUrl,
      POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
      POWERTOOLS_METRICS_NAMESPACE: METRIC_NAMESPACE,
      POWERTOOLS_LOG_LEVEL: config.logLevel,
      SALESFORCE_TIMEOUT_MS: String(config.salesforceTimeout.toMilliseconds()),
      INCIDENT_REMINDER_INTERVAL_SECONDS: String(config.incidentReminderInterval.toSeconds()),
      APPROVAL_LINK_KEY_ID: this.approvalLinkKey.keyArn,
      APPROVAL_LINK_TTL_SECONDS: String(config.approvalLinkTtl.toSeconds()),
    };
  }
}
