/**
 * Lambda entry of the token API (bundled by the CDK stack). Configuration is read at cold start;
 * the AWS clients and adapters are built on the first request (see token-wiring.ts), so the import
 * itself stays small and fast.
 */
import { createIncidentTracking, readIncidentTrackingConfig } from './incident-tracking';
import { logger, metrics } from './observability';
import { readTokenConfig } from './token-config';
import { createTokenHandler } from './token-handler';

const config = readTokenConfig(process.env);
const tracking = readIncidentTrackingConfig(process.env, 'token');

export const handler = createTokenHandler({
  logger,
  metrics,
  createService: async (hooks) => {
    const { createAwsTokenService } = await import('./token-wiring');
    return createAwsTokenService(config, hooks, {
      incidents: (documents) => createIncidentTracking(tracking, { documents }).tracker,
    });
  },
});
