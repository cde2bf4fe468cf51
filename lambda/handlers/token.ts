/**
 * Lambda entry of the token API (bundled by the CDK stack). Configuration is read and validated at
 * cold start; the AWS clients and adapters are built on the first request.
 */
import { readEventsConfig } from './events-config';
import { createAwsClients } from './function-runtime';
import { logger, metrics } from './observability';
import { readTokenConfig } from './token-config';
import { composeTokenFunction } from './token-function';

export const handler = composeTokenFunction(
  { token: readTokenConfig(process.env), events: readEventsConfig(process.env, 'token') },
  { logger, metrics, clients: createAwsClients },
);
