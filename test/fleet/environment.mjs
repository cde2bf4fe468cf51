/**
 * One Lambda execution environment: a fresh Node process that imports the token function's bundle
 * as the stack builds it and serves one request at a time, in arrival order, as Lambda does. The
 * bundle runs in a Lambda host (local/lambda-host.mjs): its after-response extension registers, and
 * an invocation ends only when the work it deferred has settled.
 * Requests arrive as JSON lines on stdin; each answer goes out as one JSON line on fd 3, so stdout
 * and stderr stay the function's own (its logs and EMF metrics).
 */
import { writeSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import { startLambdaHost } from '../../local/lambda-host.mjs';

const host = await startLambdaHost();
const { handler } = await import(pathToFileURL(process.env.FLEET_BUNDLE).href);
const template = JSON.parse(process.env.FLEET_EVENT);

function contextFor(requestId, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:token',
    memoryLimitInMB: '512',
    awsRequestId: requestId,
    logGroupName: '/aws/lambda/token',
    logStreamName: 'fleet',
    getRemainingTimeInMillis: () => deadline - Date.now(),
  };
}

async function serve({ id, orgId, forceRefresh, timeoutMs }) {
  const event = {
    ...template,
    path: `/orgs/${orgId}/token`,
    pathParameters: { orgId },
    body: forceRefresh ? '{"forceRefresh":true}' : null,
    requestContext: { ...template.requestContext, requestId: id },
  };
  const { response } = await host.invoke(handler, event, contextFor(id, timeoutMs ?? 20_000));
  writeSync(3, `${JSON.stringify({ id, statusCode: response.statusCode, body: response.body })}\n`);
}

writeSync(3, `${JSON.stringify({ ready: true, extensions: host.extensions() })}\n`);
let queue = Promise.resolve();
for await (const line of createInterface({ input: process.stdin })) {
  if (!line.trim()) continue;
  const request = JSON.parse(line);
  // One invocation at a time per environment, like Lambda.
  queue = queue.then(() => serve(request));
}
await queue;
await host.shutdown();
