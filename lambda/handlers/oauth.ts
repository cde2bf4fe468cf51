/**
 * Lambda entry of the OAuth routes (bundled by the CDK stack): `GET /oauth/authorize` and
 * `GET /oauth/callback`. Configuration is read at cold start; the SDK clients and adapters are
 * built on the first request (see oauth-wiring.ts), so the import itself stays small.
 */
import { readIncidentTrackingConfig } from './incident-tracking';
import { readOAuthConfig } from './oauth-config';
import type { RestHandler } from './oauth-handler';

const config = readOAuthConfig(process.env);
const tracking = readIncidentTrackingConfig(process.env, 'oauth');

let composed: Promise<RestHandler> | undefined;

function compose(): Promise<RestHandler> {
  composed ??= import('./oauth-wiring')
    .then(({ createAwsOAuthHandler }) => createAwsOAuthHandler(config, tracking))
    .catch((error: unknown) => {
      // A failed composition must not stick to the instance: the next request tries again.
      composed = undefined;
      throw error;
    });
  return composed;
}

export const handler: RestHandler = async (event, context) => (await compose())(event, context);
