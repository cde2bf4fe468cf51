import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Node } from 'constructs';
import { TokenBrokerConfigError } from './resolve-config';
import type { BrokerLogLevel, TokenBrokerProps } from './token-broker-props';

/**
 * Context keys (cdk.json `context`, or `cdk deploy -c key=value`) and the prop each one sets.
 * Values given with `-c` arrive as strings, so numbers and JSON objects are parsed here.
 */
export const CONTEXT_KEYS = [
  'stageName',
  'customDomain',
  'signingKeySecretPrefix',
  'alarmEmail',
  'logRetentionDays',
  'throttling',
  'publicRouteThrottling',
  'incidentReminderIntervalSeconds',
  'oauthStateTtlSeconds',
  'signingKeyMaxAgeSeconds',
  'salesforceTimeoutMs',
  'logLevel',
  'executionLogLevel',
  'removalPolicy',
  'manageApiGatewayAccountRole',
  'sourceMapStackTraces',
  'failureMemorySeconds',
  'minTokenAgeSeconds',
  'loginBudgetAlarmPercent',
  'approvalLinkTtlSeconds',
  'webAcl',
  'oauthRequestsPerIp',
  'oauthReservedConcurrency',
  'allowedPrincipalOrgId',
  'consumerSecretPrefix',
  'breakGlassRoleArn',
  'certificateExpiryAlarmDays',
] as const;

/** The prop each context key sets, where the names differ (the key carries the unit). */
const PROP_OF_KEY: Partial<Record<(typeof CONTEXT_KEYS)[number], keyof TokenBrokerProps>> = {
  logRetentionDays: 'logRetention',
  incidentReminderIntervalSeconds: 'incidentReminderInterval',
  oauthStateTtlSeconds: 'oauthStateTtl',
  signingKeyMaxAgeSeconds: 'signingKeyMaxAge',
  salesforceTimeoutMs: 'salesforceTimeout',
  failureMemorySeconds: 'failureMemory',
  minTokenAgeSeconds: 'minTokenAge',
  approvalLinkTtlSeconds: 'approvalLinkTtl',
};

const UNIT_NAMES = { ms: 'milliseconds', s: 'seconds' } as const;

/**
 * Restates the construct's complaint about a prop in terms of the context key that set it, since
 * someone who typed `-c salesforceTimeoutMs=...` never wrote `salesforceTimeout`.
 * @returns the error unchanged when no context key sets the prop
 */
export function inContextTerms(error: TokenBrokerConfigError): TokenBrokerConfigError {
  const key = CONTEXT_KEYS.find(
    (candidate) => (PROP_OF_KEY[candidate] ?? candidate) === error.prop,
  );
  if (!key) return error;
  const fix = `fix cdk.json or the -c ${key}=... argument`;
  const { range } = error;
  const message = range
    ? `context "${key}" is ${range.value}; give a number of ${UNIT_NAMES[range.unit]} from ${range.min} to ${range.max}; ${fix}`
    : `context "${key}": ${error.detail}; ${fix}`;
  return new TokenBrokerConfigError(message, error.prop, message);
}

/** Reads the broker's configuration from context; absent keys keep the construct's defaults. */
export function readBrokerContext(node: Node): TokenBrokerProps {
  const raw = (key: (typeof CONTEXT_KEYS)[number]): unknown => node.tryGetContext(key);
  const seconds = (key: (typeof CONTEXT_KEYS)[number]) => {
    const value = readNumber(key, raw(key));
    return value === undefined ? undefined : Duration.seconds(value);
  };
  const retentionDays = readNumber('logRetentionDays', raw('logRetentionDays'));
  const timeoutMs = readNumber('salesforceTimeoutMs', raw('salesforceTimeoutMs'));
  return {
    stageName: readString('stageName', raw('stageName')),
    customDomain: readObject(
      'customDomain',
      raw('customDomain'),
    ) as TokenBrokerProps['customDomain'],
    signingKeySecretPrefix: readString('signingKeySecretPrefix', raw('signingKeySecretPrefix')),
    alarmEmail: readString('alarmEmail', raw('alarmEmail')),
    logRetention: retentionDays === undefined ? undefined : toRetention(retentionDays),
    throttling: readObject('throttling', raw('throttling')) as TokenBrokerProps['throttling'],
    publicRouteThrottling: readObject(
      'publicRouteThrottling',
      raw('publicRouteThrottling'),
    ) as TokenBrokerProps['publicRouteThrottling'],
    incidentReminderInterval: seconds('incidentReminderIntervalSeconds'),
    oauthStateTtl: seconds('oauthStateTtlSeconds'),
    signingKeyMaxAge: seconds('signingKeyMaxAgeSeconds'),
    salesforceTimeout: timeoutMs === undefined ? undefined : Duration.millis(timeoutMs),
    logLevel: readString('logLevel', raw('logLevel')) as BrokerLogLevel | undefined,
    executionLogLevel: readString('executionLogLevel', raw('executionLogLevel')) as
      | 'INFO'
      | 'ERROR'
      | undefined,
    removalPolicy: readRemovalPolicy(raw('removalPolicy')),
    manageApiGatewayAccountRole: readBoolean(
      'manageApiGatewayAccountRole',
      raw('manageApiGatewayAccountRole'),
    ),
    sourceMapStackTraces: readBoolean('sourceMapStackTraces', raw('sourceMapStackTraces')),
    failureMemory: seconds('failureMemorySeconds'),
    minTokenAge: seconds('minTokenAgeSeconds'),
    loginBudgetAlarmPercent: readNumber('loginBudgetAlarmPercent', raw('loginBudgetAlarmPercent')),
    approvalLinkTtl: seconds('approvalLinkTtlSeconds'),
    webAcl: readBoolean('webAcl', raw('webAcl')),
    oauthRequestsPerIp: readNumber('oauthRequestsPerIp', raw('oauthRequestsPerIp')),
    oauthReservedConcurrency: readNumber(
      'oauthReservedConcurrency',
      raw('oauthReservedConcurrency'),
    ),
    allowedPrincipalOrgId: readString('allowedPrincipalOrgId', raw('allowedPrincipalOrgId')),
    consumerSecretPrefix: readString('consumerSecretPrefix', raw('consumerSecretPrefix')),
    breakGlassRoleArn: readString('breakGlassRoleArn', raw('breakGlassRoleArn')),
    certificateExpiryAlarmDays: readNumber(
      'certificateExpiryAlarmDays',
      raw('certificateExpiryAlarmDays'),
    ),
  };
}

function fail(key: string, expected: string, value: unknown): never {
  throw new TokenBrokerConfigError(
    `context "${key}" must be ${expected}, got ${JSON.stringify(value)}; fix cdk.json or the -c ${key}=... argument`,
  );
}

function readString(key: string, value: unknown): string | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string') fail(key, 'a string', value);
  return value;
}

function readNumber(key: string, value: unknown): number | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  const number = typeof value === 'string' ? Number(value) : value;
  if (typeof number !== 'number' || !Number.isFinite(number)) fail(key, 'a number', value);
  return number;
}

function readBoolean(key: string, value: unknown): boolean | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (value === true || value === 'true') return true;
  if (value === false || value === 'false') return false;
  return fail(key, 'true or false', value);
}

function readObject(key: string, value: unknown): object | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  let parsed: unknown = value;
  if (typeof value === 'string') {
    try {
      parsed = JSON.parse(value);
    } catch {
      fail(key, 'a JSON object', value);
    }
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    fail(key, 'a JSON object', value);
  }
  return parsed;
}

function readRemovalPolicy(value: unknown): RemovalPolicy | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (value === 'retain') return RemovalPolicy.RETAIN;
  if (value === 'destroy') return RemovalPolicy.DESTROY;
  return fail('removalPolicy', '"retain" or "destroy"', value);
}

function toRetention(days: number): RetentionDays {
  const allowed = Object.values(RetentionDays).filter(
    (v): v is RetentionDays => typeof v === 'number',
  );
  if (!allowed.includes(days as RetentionDays)) {
    fail('logRetentionDays', `one of CloudWatch's retention periods (${allowed.join(', ')})`, days);
  }
  return days as RetentionDays;
}
