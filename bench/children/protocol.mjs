/**
 * How a benchmark child hands its result to the runner: one JSON line on file descriptor 3, so
 * stdout and stderr stay what the function would write in Lambda (its logs and EMF metrics).
 */
import { writeSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { startLambdaHost } from '../../local/lambda-host.mjs';

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

/**
 * Imports the bundle at `BENCH_BUNDLE` in a Lambda host (local/lambda-host.mjs), as Lambda runs
 * it: its after-response extension registers during the import, and each invocation ends only
 * when the work it deferred has settled. Start the clock before calling this to time the import.
 * @returns `invoke(event, context)`, resolving when the invocation has ended to
 *   `{ response, respondedAt }` (`performance.now()` when the caller had its answer)
 */
export async function loadFunction() {
  const host = await startLambdaHost();
  const { handler } = await import(pathToFileURL(process.env.BENCH_BUNDLE).href);
  return {
    invoke: (event, context) => host.invoke(handler, event, context),
    extensions: host.extensions,
  };
}
