/**
 * Builds API Gateway REST (v1) proxy events exactly as API Gateway sends them to a Lambda proxy
 * integration (shape taken from real captures in test/fixtures). The local gateway turns HTTP
 * requests into these; tests build them directly.
 */
import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyEvent, Context } from 'aws-lambda';

export interface RestRequest {
  readonly method: string;
  /** Path without the stage, e.g. `/orgs/acme/token`. */
  readonly path: string;
  /** The API resource template, e.g. `/orgs/{orgId}/token`. */
  readonly resource: string;
  readonly pathParameters?: Record<string, string> | null;
  /** Query parameters, repeated names as arrays, in request order. */
  readonly query?: Record<string, string | readonly string[]> | null;
  readonly headers?: Record<string, string | readonly string[]>;
  readonly body?: string | null;
  readonly isBase64Encoded?: boolean;
  /**
   * The SigV4 principal API Gateway reports for `AWS_IAM` routes (`requestContext.identity.userArn`);
   * `null` for public routes.
   */
  readonly callerArn?: string | null;
  readonly stage?: string;
  readonly domainName?: string;
  readonly sourceIp?: string;
  readonly requestId?: string;
  readonly requestTimeEpoch?: number;
}

function toMultiValue(
  input: Record<string, string | readonly string[]> | null | undefined,
): { single: Record<string, string>; multi: Record<string, string[]> } | null {
  if (!input || Object.keys(input).length === 0) return null;
  const single: Record<string, string> = {};
  const multi: Record<string, string[]> = {};
  for (const [name, value] of Object.entries(input)) {
    const values = typeof value === 'string' ? [value] : [...value];
    if (values.length === 0) continue;
    multi[name] = values;
    // API Gateway's single-value maps keep the last value of a repeated name.
    single[name] = values[values.length - 1] as string;
  }
  return { single, multi };
}

function accountOf(arn: string): string | null {
  return /^arn:aws[a-z-]*:(?:sts|iam)::(\d{12}):/.exec(arn)?.[1] ?? null;
}

export function buildRestEvent(request: RestRequest): APIGatewayProxyEvent {
  const stage = request.stage ?? 'prod';
  const domainName = request.domainName ?? 'abcdef1234.execute-api.eu-west-1.amazonaws.com';
  const headers = toMultiValue({ Host: domainName, ...(request.headers ?? {}) });
  const query = toMultiValue(request.query);
  const caller = request.callerArn ?? null;
  const requestTimeEpoch = request.requestTimeEpoch ?? Date.now();
  const sessionName = caller?.split('/').at(-1) ?? null;
  return {
    resource: request.resource,
    path: request.path,
    httpMethod: request.method,
    headers: headers?.single ?? {},
    multiValueHeaders: headers?.multi ?? {},
    queryStringParameters: query?.single ?? null,
    multiValueQueryStringParameters: query?.multi ?? null,
    pathParameters: request.pathParameters ?? null,
    stageVariables: null,
    requestContext: {
      resourceId: 'f6ylys',
      resourcePath: request.resource,
      httpMethod: request.method,
      extendedRequestId: 'ZhFKtGnnDoEEMig=',
      requestTime: new Date(requestTimeEpoch).toUTCString(),
      path: `/${stage}${request.path}`,
      accountId: '123456789012',
      protocol: 'HTTP/1.1',
      stage,
      domainPrefix: domainName.split('.')[0] ?? domainName,
      requestTimeEpoch,
      requestId: request.requestId ?? randomUUID(),
      identity: {
        cognitoIdentityPoolId: null,
        accountId: caller ? accountOf(caller) : null,
        cognitoIdentityId: null,
        caller: caller && sessionName ? `AROAEXAMPLEID:${sessionName}` : null,
        sourceIp: request.sourceIp ?? '127.0.0.1',
        principalOrgId: null,
        accessKey: caller ? 'ASIAEXAMPLEKEY' : null,
        cognitoAuthenticationType: null,
        cognitoAuthenticationProvider: null,
        userArn: caller,
        userAgent: 'salesforce-token-broker-local',
        user: caller && sessionName ? `AROAEXAMPLEID:${sessionName}` : null,
        apiKey: null,
        apiKeyId: null,
        clientCert: null,
      },
      domainName,
      apiId: domainName.split('.')[0] ?? 'local',
      authorizer: null,
    },
    body: request.body ?? null,
    isBase64Encoded: request.isBase64Encoded ?? false,
  };
}

/**
 * A Lambda context whose remaining time counts down from `timeoutMs` on `now` (the function's
 * time source, so a test that moves time moves the context's deadline with it).
 */
export function createLambdaContext(
  options: { functionName?: string; timeoutMs?: number; now?: () => number } = {},
): Context {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const now = options.now ?? Date.now;
  const deadline = now() + timeoutMs;
  const functionName = options.functionName ?? 'token-broker-local';
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:eu-west-1:123456789012:function:${functionName}`,
    memoryLimitInMB: '512',
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, deadline - now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}
