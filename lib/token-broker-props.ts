import type { Duration, RemovalPolicy } from 'aws-cdk-lib';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';

/** A custom domain for the API; it fixes the public base URL and so the OAuth redirect URI. */
export interface CustomDomainProps {
  /** Host name only, e.g. `broker.example.com` (no scheme, no path, no trailing dot). */
  readonly domainName: string;
  /** ARN of an ACM certificate in the stack's region that covers `domainName`. */
  readonly certificateArn: string;
  /**
   * Route 53 zone in which to create the alias record for `domainName`. Given by id and name so
   * synth needs no lookup (and no credentials).
   *
   * @default - no record: point your DNS at the `ApiDomainTarget` output yourself
   */
  readonly hostedZone?: { readonly hostedZoneId: string; readonly zoneName: string };
}

/** Steady-state requests per second and burst size, as API Gateway stage throttling takes them. */
export interface ThrottlingProps {
  readonly rateLimit: number;
  readonly burstLimit: number;
}

export type BrokerLogLevel = 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';

/** Configuration of a {@link TokenBroker}. Every property is optional. */
export interface TokenBrokerProps {
  /**
   * API Gateway stage name; part of the public base URL (and redirect URI) when there is no
   * custom domain. Letters, digits, `-` and `_`.
   *
   * @default 'prod'
   */
  readonly stageName?: string;
  /**
   * Serve the API on a custom domain (with a base path mapping to the stage). The redirect URI
   * becomes `https://{domainName}/oauth/callback`.
   *
   * @default - the execute-api URL `https://{restApiId}.execute-api.{region}.{urlSuffix}/{stage}`
   */
  readonly customDomain?: CustomDomainProps;
  /**
   * Name prefix of the signing key secrets; only the token function may read under it. Must end
   * with `/` so that `a/` cannot match `ab/...`.
   *
   * @default 'salesforce-token-broker/'
   */
  readonly signingKeySecretPrefix?: string;
  /**
   * E-mail address subscribed to the alarm topic (the subscription must be confirmed).
   *
   * @default - no subscription; subscribe to the `AlarmTopicArn` output yourself
   */
  readonly alarmEmail?: string;
  /**
   * Retention of the function log groups and the API access log group.
   *
   * @default RetentionDays.THREE_MONTHS
   */
  readonly logRetention?: RetentionDays;
  /**
   * Stage-wide throttling for the token API (all routes).
   *
   * @default { rateLimit: 50, burstLimit: 100 }
   */
  readonly throttling?: ThrottlingProps;
  /**
   * Throttling of the public OAuth routes, tighter than the token API's: a human approves an org
   * a few times a year, and anyone on the internet can call these routes.
   *
   * @default { rateLimit: 5, burstLimit: 10 }
   */
  readonly publicRouteThrottling?: ThrottlingProps;
  /**
   * Minimum interval between reminder events for one open incident.
   *
   * @default Duration.hours(1)
   */
  readonly incidentReminderInterval?: Duration;
  /**
   * Lifetime of an approval attempt (OAuth `state`), from the authorize redirect to the callback.
   *
   * @default Duration.minutes(10)
   */
  readonly oauthStateTtl?: Duration;
  /**
   * How long the token function serves a signing key from memory before re-reading the secret.
   *
   * @default Duration.minutes(5)
   */
  readonly signingKeyMaxAge?: Duration;
  /**
   * Per-attempt timeout of each Salesforce call. At most 6 s: the OAuth callback makes three
   * sequential Salesforce calls within its 20 s function timeout.
   *
   * @default Duration.seconds(5)
   */
  readonly salesforceTimeout?: Duration;
  /**
   * Application log level of both functions (Powertools and Lambda's JSON log filter).
   *
   * @default 'INFO'
   */
  readonly logLevel?: BrokerLogLevel;
  /**
   * API Gateway execution log level. `INFO` adds about seven lines per request on top of the
   * access log; request and response bodies are never logged (they carry access tokens).
   *
   * @default 'ERROR'
   */
  readonly executionLogLevel?: 'INFO' | 'ERROR';
  /**
   * What happens to the table, the KMS key and the log groups when the stack is deleted. With
   * `RETAIN` the table also gets deletion protection.
   *
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * Create the regional API Gateway account role that lets API Gateway write execution and
   * access logs, and point the account setting at it. It is one setting per account and region,
   * shared by every REST API there, so the stack leaves it alone unless asked: set `true` only
   * when the account has no role yet (the first deployment then fails with "CloudWatch Logs role
   * ARN must be set in account settings") and no other stack manages it.
   *
   * @default false
   */
  readonly manageApiGatewayAccountRole?: boolean;
  /**
   * How long an approval link works from when it is minted (incidents, reminders, the status
   * route, `token-broker approval-url`). Reminders carry a fresh one. From 5 minutes to 30 days.
   *
   * @default Duration.days(7)
   */
  readonly approvalLinkTtl?: Duration;
  /**
   * Associate a WAFv2 web ACL with the stage: a per-IP rate rule for `/oauth/*` (answered 429)
   * and the AWS managed rule groups (IP reputation, known bad inputs, common rule set). Billed per
   * web ACL, rule and million requests. Turn it off only to associate a web ACL of your own.
   *
   * @default true
   */
  readonly webAcl?: boolean;
  /**
   * Requests one IP address may send to `/oauth/*` within 5 minutes before the web ACL answers 429
   * (with `webAcl`). An approval takes a handful of requests. From 10 to 2,000,000,000.
   *
   * @default 100
   */
  readonly oauthRequestsPerIp?: number;
  /**
   * Reserved concurrency of the OAuth function: its ceiling, so public traffic on the approval
   * routes can never take the concurrency the token function needs. Lambda keeps at least 100
   * unreserved executions per account (10 in a new account with a quota of 10, which must be
   * raised first).
   *
   * @default 5
   */
  readonly oauthReservedConcurrency?: number;
  /**
   * Limit the token routes to principals of this AWS Organization (`o-...`) with an API resource
   * policy that denies `execute-api:Invoke` on `/orgs/*` when `aws:PrincipalOrgID` differs; the
   * public OAuth routes stay open. Principals of other accounts in the organization still need
   * `execute-api:Invoke` in their own IAM policy.
   *
   * @default - no resource policy: only the IAM policies of this account's principals decide
   */
  readonly allowedPrincipalOrgId?: string;
  /**
   * Set `NODE_OPTIONS=--enable-source-maps` so stack traces in the logs point at the TypeScript
   * source. Off by default: Node then parses the source map on the first stack trace of each
   * cold start and slows every later `Error.stack`, and the token path builds errors on every
   * failure. The maps ship in the bundle either way, for decoding traces offline.
   *
   * @default false
   */
  readonly sourceMapStackTraces?: boolean;
  /**
   * Alarm when the p99 API latency over 5 minutes exceeds this.
   *
   * @default Duration.seconds(3)
   */
  readonly latencyAlarmThreshold?: Duration;
  /**
   * Alarm when this fraction of API requests in 5 minutes end in 5XX (with at least 10 requests).
   *
   * @default 0.05
   */
  readonly serverErrorRateThreshold?: number;
  /**
   * How long a failure that does not change by itself (`consumer_not_approved`, `invalid_client`...)
   * is answered from the fleet's memory before Salesforce is asked again (jittered by up to 20%).
   * Every environment shares it, so a broken org costs one login per period, not one per request.
   * `Duration.seconds(0)` turns it off.
   *
   * @default Duration.seconds(60)
   */
  readonly failureMemory?: Duration;
  /**
   * A token younger than this is not dropped by `forceRefresh` or `DELETE`: the caller gets the
   * same token again and no login is made, so no caller can spend the org's logins.
   *
   * @default Duration.seconds(30)
   */
  readonly minTokenAge?: Duration;
  /**
   * Alarm when an org uses more than this percentage of Salesforce's 3,600 logins per user per
   * hour (all environments together).
   *
   * @default 25
   */
  readonly loginBudgetAlarmPercent?: number;
  /**
   * Name prefix of the consumer secrets (web-server flow, orgs with `consumerSecretId`); only the
   * OAuth function may read under it. Must end with `/` and must not overlap
   * `signingKeySecretPrefix`.
   *
   * @default 'salesforce-token-broker-consumer/'
   */
  readonly consumerSecretPrefix?: string;
  /**
   * An IAM role ARN that may read the signing key secrets besides the token function (break-glass:
   * an operator's emergency role). It is written into the resource policy `keys create` puts on
   * each secret it creates and printed as the `BreakGlassRoleArn` output.
   *
   * @default - no break-glass role: only the token role may read the secrets
   */
  readonly breakGlassRoleArn?: string;
  /**
   * Alarm when an org's signing certificate expires in fewer days than this (the
   * `CertificateDaysToExpiry` metric, emitted on exchanges and by the daily check).
   *
   * @default 30
   */
  readonly certificateExpiryAlarmDays?: number;
}
