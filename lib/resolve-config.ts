import { Duration, RemovalPolicy, Token } from 'aws-cdk-lib';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import {
  DEFAULT_CONSUMER_SECRET_PREFIX,
  DEFAULT_SECRET_PREFIX,
  SECRET_PREFIX_PATTERN,
} from './secret-prefix';
import type {
  BrokerLogLevel,
  CustomDomainProps,
  ThrottlingProps,
  TokenBrokerProps,
} from './token-broker-props';

/** {@link TokenBrokerProps} with every default applied and every value checked. */
export interface BrokerConfig {
  readonly stageName: string;
  readonly customDomain: CustomDomainProps | undefined;
  readonly signingKeySecretPrefix: string;
  readonly alarmEmail: string | undefined;
  readonly logRetention: RetentionDays;
  readonly throttling: ThrottlingProps;
  readonly publicRouteThrottling: ThrottlingProps;
  readonly incidentReminderInterval: Duration;
  readonly oauthStateTtl: Duration;
  readonly signingKeyMaxAge: Duration;
  readonly salesforceTimeout: Duration;
  readonly logLevel: BrokerLogLevel;
  readonly executionLogLevel: 'INFO' | 'ERROR';
  readonly removalPolicy: RemovalPolicy;
  readonly manageApiGatewayAccountRole: boolean;
  readonly approvalLinkTtl: Duration;
  readonly webAcl: boolean;
  readonly oauthRequestsPerIp: number;
  readonly oauthReservedConcurrency: number;
  readonly allowedPrincipalOrgId: string | undefined;
  readonly sourceMapStackTraces: boolean;
  readonly latencyAlarmThreshold: Duration;
  readonly serverErrorRateThreshold: number;
  readonly failureMemory: Duration;
  readonly minTokenAge: Duration;
  readonly loginBudgetAlarmPercent: number;
  readonly consumerSecretPrefix: string;
  readonly breakGlassRoleArn: string | undefined;
  readonly certificateExpiryAlarmDays: number;
}

/** The allowed range of a numeric prop, so a caller can restate it in its own unit. */
export interface ConfigRange {
  readonly value: number;
  readonly min: number;
  readonly max: number;
  readonly unit: 'ms' | 's';
}

/** Thrown at synth for a bad prop; the message names the prop and says how to fix it. */
export class TokenBrokerConfigError extends Error {
  override readonly name = 'TokenBrokerConfigError';

  /**
   * @param prop the top-level prop at fault, so the CDK app can name the context key that set it
   * @param detail the message without the construct's prefix
   */
  constructor(
    message: string,
    readonly prop?: keyof TokenBrokerProps,
    readonly detail: string = message,
    readonly range?: ConfigRange,
  ) {
    super(message);
  }
}

const LOG_LEVELS: readonly BrokerLogLevel[] = ['DEBUG', 'INFO', 'WARN', 'ERROR'];
const HOST_NAME = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;
const CERTIFICATE_ARN = /^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate\/[0-9a-f-]+$/;
const EMAIL = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;
const ORGANIZATION_ID = /^o-[a-z0-9]{10,32}$/;

/** Applies the documented defaults and rejects values the stack cannot deploy or run with. */
export function resolveBrokerConfig(props: TokenBrokerProps): BrokerConfig {
  const config: BrokerConfig = {
    stageName: props.stageName ?? 'prod',
    customDomain: props.customDomain,
    signingKeySecretPrefix: props.signingKeySecretPrefix ?? DEFAULT_SECRET_PREFIX,
    alarmEmail: props.alarmEmail,
    logRetention: props.logRetention ?? RetentionDays.THREE_MONTHS,
    throttling: props.throttling ?? { rateLimit: 50, burstLimit: 100 },
    publicRouteThrottling: props.publicRouteThrottling ?? { rateLimit: 5, burstLimit: 10 },
    incidentReminderInterval: props.incidentReminderInterval ?? Duration.hours(1),
    oauthStateTtl: props.oauthStateTtl ?? Duration.minutes(10),
    signingKeyMaxAge: props.signingKeyMaxAge ?? Duration.minutes(5),
    salesforceTimeout: props.salesforceTimeout ?? Duration.seconds(5),
    logLevel: props.logLevel ?? 'INFO',
    executionLogLevel: props.executionLogLevel ?? 'ERROR',
    removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    manageApiGatewayAccountRole: props.manageApiGatewayAccountRole ?? false,
    approvalLinkTtl: props.approvalLinkTtl ?? Duration.days(7),
    webAcl: props.webAcl ?? true,
    oauthRequestsPerIp: props.oauthRequestsPerIp ?? 100,
    oauthReservedConcurrency: props.oauthReservedConcurrency ?? 5,
    allowedPrincipalOrgId: props.allowedPrincipalOrgId,
    sourceMapStackTraces: props.sourceMapStackTraces ?? false,
    latencyAlarmThreshold: props.latencyAlarmThreshold ?? Duration.seconds(3),
    serverErrorRateThreshold: props.serverErrorRateThreshold ?? 0.05,
    failureMemory: props.failureMemory ?? Duration.seconds(60),
    minTokenAge: props.minTokenAge ?? Duration.seconds(30),
    loginBudgetAlarmPercent: props.loginBudgetAlarmPercent ?? 25,
    consumerSecretPrefix: props.consumerSecretPrefix ?? DEFAULT_CONSUMER_SECRET_PREFIX,
    breakGlassRoleArn: props.breakGlassRoleArn,
    certificateExpiryAlarmDays: props.certificateExpiryAlarmDays ?? 30,
  };
  checkStageName(config.stageName);
  if (config.customDomain) checkCustomDomain(config.customDomain);
  checkSecretPrefix(config.signingKeySecretPrefix);
  if (config.alarmEmail !== undefined && !EMAIL.test(config.alarmEmail)) {
    fail(
      `alarmEmail "${config.alarmEmail}" is not an e-mail address; omit it to skip the subscription`,
      'alarmEmail',
    );
  }
  checkThrottling('throttling', config.throttling);
  checkThrottling('publicRouteThrottling', config.publicRouteThrottling);
  checkSeconds('incidentReminderInterval', config.incidentReminderInterval, 60, 7 * 86_400);
  checkSeconds('oauthStateTtl', config.oauthStateTtl, 60, 3_600);
  checkSeconds('signingKeyMaxAge', config.signingKeyMaxAge, 0, 86_400);
  checkMilliseconds('salesforceTimeout', config.salesforceTimeout, 1_000, 6_000);
  checkSeconds('approvalLinkTtl', config.approvalLinkTtl, 300, 30 * 86_400);
  checkInteger('oauthRequestsPerIp', config.oauthRequestsPerIp, 10, 2_000_000_000);
  checkInteger('oauthReservedConcurrency', config.oauthReservedConcurrency, 1, 1_000);
  const orgId = config.allowedPrincipalOrgId;
  if (orgId !== undefined && !Token.isUnresolved(orgId) && !ORGANIZATION_ID.test(orgId)) {
    fail(
      `allowedPrincipalOrgId "${orgId}" must be an AWS Organizations id such as "o-a1b2c3d4e5" (aws organizations describe-organization)`,
      'allowedPrincipalOrgId',
    );
  }
  if (!LOG_LEVELS.includes(config.logLevel)) {
    fail(`logLevel "${config.logLevel}" is not one of ${LOG_LEVELS.join(', ')}`, 'logLevel');
  }
  if (config.executionLogLevel !== 'INFO' && config.executionLogLevel !== 'ERROR') {
    fail(
      `executionLogLevel "${config.executionLogLevel}" must be INFO or ERROR`,
      'executionLogLevel',
    );
  }
  checkMilliseconds('latencyAlarmThreshold', config.latencyAlarmThreshold, 100, 29_000);
  checkSeconds('failureMemory', config.failureMemory, 0, 3_600);
  checkSeconds('minTokenAge', config.minTokenAge, 0, 600);
  const budget = config.loginBudgetAlarmPercent;
  if (!(budget > 0 && budget <= 100)) {
    fail(
      `loginBudgetAlarmPercent ${budget} must be a percentage above 0 and at most 100`,
      'loginBudgetAlarmPercent',
    );
  }
  const rate = config.serverErrorRateThreshold;
  if (!(rate > 0 && rate <= 1)) {
    fail(
      `serverErrorRateThreshold ${rate} must be a fraction above 0 and at most 1 (0.05 = 5%)`,
      'serverErrorRateThreshold',
    );
  }
  checkCustody(config);
  return config;
}

const ROLE_ARN = /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/;

function checkCustody(config: BrokerConfig): void {
  const { consumerSecretPrefix: consumer, signingKeySecretPrefix: signing } = config;
  if (!SECRET_PREFIX_PATTERN.test(consumer)) {
    fail(
      `consumerSecretPrefix "${consumer}" must be a secret-name prefix ending in "/" (letters, digits and /_+=.@-), e.g. "salesforce-token-broker-consumer/"`,
      'consumerSecretPrefix',
    );
  }
  if (consumer.startsWith(signing) || signing.startsWith(consumer)) {
    fail(
      `consumerSecretPrefix "${consumer}" overlaps signingKeySecretPrefix "${signing}": each function must read under its own prefix only`,
      'consumerSecretPrefix',
    );
  }
  const arn = config.breakGlassRoleArn;
  if (arn !== undefined && !Token.isUnresolved(arn) && !ROLE_ARN.test(arn)) {
    fail(
      `breakGlassRoleArn "${arn}" must be an IAM role ARN (arn:aws:iam::{account}:role/{name})`,
      'breakGlassRoleArn',
    );
  }
  const days = config.certificateExpiryAlarmDays;
  if (!Number.isInteger(days) || days < 1 || days > 365) {
    fail(
      `certificateExpiryAlarmDays ${days} must be a whole number of days from 1 to 365`,
      'certificateExpiryAlarmDays',
    );
  }
}

function fail(message: string, prop?: keyof TokenBrokerProps, range?: ConfigRange): never {
  throw new TokenBrokerConfigError(`TokenBroker: ${message}`, prop, message, range);
}

function checkStageName(stageName: string): void {
  if (!/^[A-Za-z0-9_-]{1,128}$/.test(stageName)) {
    fail(
      `stageName "${stageName}" is not a valid API Gateway stage name; use letters, digits, "-" and "_" (e.g. "prod")`,
      'stageName',
    );
  }
}

function checkCustomDomain(domain: CustomDomainProps): void {
  if (!HOST_NAME.test(domain.domainName)) {
    fail(
      `customDomain.domainName "${domain.domainName}" must be a lowercase host name such as "broker.example.com", without scheme, path or trailing dot`,
      'customDomain',
    );
  }
  if (!Token.isUnresolved(domain.certificateArn) && !CERTIFICATE_ARN.test(domain.certificateArn)) {
    fail(
      `customDomain.certificateArn "${domain.certificateArn}" must be an ACM certificate ARN (arn:aws:acm:{region}:{account}:certificate/{id}) in the stack's region`,
      'customDomain',
    );
  }
  const zone = domain.hostedZone;
  if (!zone) return;
  if (!/^Z[A-Z0-9]{1,31}$/.test(zone.hostedZoneId)) {
    fail(
      `customDomain.hostedZone.hostedZoneId "${zone.hostedZoneId}" must look like "Z0123456789ABC"`,
      'customDomain',
    );
  }
  const zoneName = zone.zoneName.replace(/\.$/, '');
  if (domain.domainName !== zoneName && !domain.domainName.endsWith(`.${zoneName}`)) {
    fail(
      `customDomain.domainName "${domain.domainName}" is not inside hostedZone.zoneName "${zone.zoneName}"; give the zone that contains the domain, or omit hostedZone and create the DNS record yourself`,
      'customDomain',
    );
  }
}

function checkSecretPrefix(prefix: string): void {
  if (!SECRET_PREFIX_PATTERN.test(prefix)) {
    fail(
      `signingKeySecretPrefix "${prefix}" must be a secret-name prefix ending in "/" (letters, digits and /_+=.@-), e.g. "salesforce-token-broker/"`,
      'signingKeySecretPrefix',
    );
  }
}

function checkThrottling(
  name: 'throttling' | 'publicRouteThrottling',
  throttling: ThrottlingProps,
): void {
  const { rateLimit, burstLimit } = throttling;
  if (!(Number.isFinite(rateLimit) && rateLimit > 0)) {
    fail(`${name}.rateLimit ${rateLimit} must be a positive number of requests per second`, name);
  }
  if (!(Number.isInteger(burstLimit) && burstLimit >= 1)) {
    fail(`${name}.burstLimit ${burstLimit} must be a positive integer`, name);
  }
  if (burstLimit < rateLimit) {
    fail(`${name}.burstLimit ${burstLimit} must be at least rateLimit ${rateLimit}`, name);
  }
}

function checkSeconds(
  name: keyof TokenBrokerProps,
  duration: Duration,
  min: number,
  max: number,
): void {
  const value = duration.toSeconds();
  if (value < min || value > max) {
    fail(`${name} is ${value} s; give a duration from ${min} s to ${max} s`, name, {
      value,
      min,
      max,
      unit: 's',
    });
  }
}

function checkInteger(name: keyof TokenBrokerProps, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    fail(`${name} is ${value}; give an integer from ${min} to ${max}`, name);
  }
}

function checkMilliseconds(
  name: keyof TokenBrokerProps,
  duration: Duration,
  min: number,
  max: number,
): void {
  const value = duration.toMilliseconds();
  if (value < min || value > max) {
    fail(`${name} is ${value} ms; give a duration from ${min} ms to ${max} ms`, name, {
      value,
      min,
      max,
      unit: 'ms',
    });
  }
}
