/**
 * Lambda entry of the token API (bundled by the CDK stack). Configuration is read and validated at
 * cold start; the AWS clients and adapters are built on the first request. In Lambda the
 * after-response extension is registered during init, so a fresh token's sharing and bookkeeping
 * run after the caller has its answer.
 */
import { createAfterResponseQueue } from './after-response';
import { readEventsConfig } from './events-config';
import { createAwsClients } from './function-runtime';
import { startAfterResponseExtension } from './lambda-extension';
import { flushStoredMetrics } from './metrics-flush';
import { logger, metrics } from './observability';
import { readTokenConfig } from './token-config';
import { composeTokenFunction } from './token-function';

const config = {
  token: readTokenConfig(process.env),
  events: readEventsConfig(process.env, 'token'),
};
const queue = createAfterResponseQueue({ onSettled: () => flushStoredMetrics(metrics) });
const deferring = await startAfterResponseExtension({
  runtimeApi: process.env.AWS_LAMBDA_RUNTIME_API,
  queue,
  logger,
});

export const handler = composeTokenFunction(config, {
  logger,
  metrics,
  clients: createAwsClients,
  ...(deferring ? { afterResponse: queue } : {}),
});
