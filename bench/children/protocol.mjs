/**
 * How a benchmark child hands its result to the runner: one JSON line on file descriptor 3, so
 * stdout and stderr stay what the function would write in Lambda (its logs and EMF metrics).
 */
import { writeSync } from 'node:fs';

export function report(result) {
  writeSync(3, `${JSON.stringify(result)}\n`);
}

/** A Lambda context as the runtime passes it, for a function with `timeoutMs`. */
export function lambdaContext(requestId, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: process.env.AWS_LAMBDA_FUNCTION_NAME ?? 'token',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:token',
    memoryLimitInMB: '512',
    awsRequestId: requestId,
    logGroupName: '/aws/lambda/token',
    logStreamName: 'bench',
    getRemainingTimeInMillis: () => deadline - Date.now(),
  };
}

/** Throws unless `response` is a 200 carrying an access token. */
export function expectToken(response) {
  const body = response && typeof response.body === 'string' ? JSON.parse(response.body) : {};
  if (response?.statusCode !== 200 || typeof body.access_token !== 'string') {
    throw new Error(`expected a token, got ${response?.statusCode}: ${response?.body}`);
  }
}
