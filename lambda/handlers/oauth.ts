/**
 * Lambda entry of the OAuth routes (bundled by the CDK stack): `GET /oauth/authorize` and
 * `GET /oauth/callback`. Configuration is read and validated at cold start; the AWS clients and
 * adapters are built on the first request.
 */
import { readEventsConfig } from './events-config';
import { createAwsClients } from './function-runtime';
import { readOAuthConfig } from './oauth-config';
import { composeOAuthFunction } from './oauth-function';
import { logger, metrics } from './observability';

export const handler = composeOAuthFunction(
  { oauth: readOAuthConfig(process.env), events: readEventsConfig(process.env, 'oauth') },
  { logger, metrics, clients: createAwsClients },
);
