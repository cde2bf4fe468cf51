/**
 * The token API on API Gateway REST proxy events (docs/openapi.yaml): routing, input checks,
 * caller identity, and the mapping of results and errors to HTTP. Composed by
 * {@link composeTokenFunction}, so the Lambda entry, the local stack and the tests run the same
 * handler.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import middy from '@middy/core';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { planRequestDeadline, SYSTEM_TIME, type TimeSource } from '../core/deadline';
import { BrokerError } from '../core/errors';
import { METRIC } from '../core/metrics';
import { isValidOrgId } from '../core/org-record';
import type { TokenService } from '../services/token-service';
import type { AfterResponseQueue } from './after-response';
import { answerBeforeTimeout, readRequestId } from './deadline-guard';
import { publishStoredMetrics } from './exchange-reporting';
import { once } from './function-runtime';
import { injectRequestLogging } from './request-logging';
import type { RestHandler } from './rest-handler';
import {
  errorResponse,
  jsonResponse,
  noContentResponse,
  outOfTimeResponse,
} from './token-api-responses';

/** Largest accepted request body, bytes. `{"forceRefresh": true}` is 22. */
export const MAX_BODY_BYTES = 1024;

export interface TokenHandlerDeps {
  /**
   * Builds the token service; called on the first request (so adapters and SDK clients stay off
   * the cold-start import path), and again after a failed build.
   */
  readonly service: () => Promise<TokenService>;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** @default real time */
  readonly time?: TimeSource;
  /**
   * Where the token route's sharing and bookkeeping go, and who flushes the invocation's metrics
   * once they have settled. @default none: awaited before answering, metrics flushed on return
   */
  readonly afterResponse?: AfterResponseQueue | undefined;
}

type Route = 'token' | 'invalidate' | 'status';

const ROUTES: Readonly<Record<string, Route>> = {
  'POST /orgs/{orgId}/token': 'token',
  'DELETE /orgs/{orgId}/token': 'invalidate',
  'GET /orgs/{orgId}/status': 'status',
};

function invalid(message: string): BrokerError {
  return new BrokerError('invalid_request', message);
}

/** `{"forceRefresh": true}` or nothing; anything else is a 400 naming the problem. */
export function parseTokenRequestBody(
  event: Pick<APIGatewayProxyEvent, 'body' | 'isBase64Encoded'>,
): {
  forceRefresh: boolean;
} {
  if (event.body === null || event.body === undefined || event.body === '') {
    return { forceRefresh: false };
  }
  // Checked before decoding too, so an oversized base64 body is never decoded.
  const encodedLimit = event.isBase64Encoded ? Math.ceil(MAX_BODY_BYTES / 3) * 4 : MAX_BODY_BYTES;
  const text =
    Buffer.byteLength(event.body) > encodedLimit
      ? undefined
      : event.isBase64Encoded
        ? Buffer.from(event.body, 'base64').toString('utf8')
        : event.body;
  if (text === undefined || Buffer.byteLength(text) > MAX_BODY_BYTES) {
    throw invalid(`Request body exceeds ${MAX_BODY_BYTES} bytes`);
  }
  if (text.trim() === '') return { forceRefresh: false };
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw invalid('Request body is not valid JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw invalid('Request body must be a JSON object such as {"forceRefresh": true}');
  }
  const unknown = Object.keys(parsed).filter((key) => key !== 'forceRefresh');
  if (unknown.length > 0) {
    throw invalid(`Unknown field ${JSON.stringify(unknown[0])}; only "forceRefresh" is accepted`);
  }
  const { forceRefresh } = parsed as { forceRefresh?: unknown };
  if (forceRefresh !== undefined && typeof forceRefresh !== 'boolean') {
    throw invalid('forceRefresh must be true or false');
  }
  return { forceRefresh: forceRefresh === true };
}

export function createTokenHandler(deps: TokenHandlerDeps): RestHandler {
  const { logger, metrics } = deps;
  const time = deps.time ?? SYSTEM_TIME;
  const service = once(deps.service);

  async function serve(
    event: APIGatewayProxyEvent,
    context: Context,
  ): Promise<APIGatewayProxyResult> {
    const requestId = readRequestId(event, context);
    const caller = event.requestContext?.identity?.userArn ?? null;
    const orgId = event.pathParameters?.orgId;
    const started = time.now();
    logger.appendKeys({ request_id: requestId, org_id: orgId, caller });
    let cache: 'hit' | 'miss' | undefined;
    try {
      const name = ROUTES[`${event.httpMethod} ${event.resource}`];
      if (!name) throw invalid(`No route for ${event.httpMethod} ${event.resource}`);
      if (!isValidOrgId(orgId)) {
        throw invalid(
          'orgId must be a lowercase slug (a-z, 0-9, inner hyphens, max 63 characters)',
        );
      }
      const tokens = await service();
      if (name === 'token') {
        const { forceRefresh } = parseTokenRequestBody(event);
        const result = await tokens.getToken(orgId, {
          caller,
          requestId,
          deadline: planRequestDeadline(context.getRemainingTimeInMillis(), time.now()),
          forceRefresh,
          afterResponse: deps.afterResponse?.defer,
        });
        cache = result.cacheHit ? 'hit' : 'miss';
        metrics.addMetric(
          result.cacheHit ? METRIC.cacheHits : METRIC.cacheMisses,
          MetricUnit.Count,
          1,
        );
        // A hit is the common case: at debug (or POWERTOOLS_LOGGER_SAMPLE_RATE's sample), so a
        // warm request does not pay for a log line; CacheHits still counts every one.
        const served = { cache, duration_ms: time.now() - started };
        if (result.cacheHit) logger.debug('Token served', served);
        else logger.info('Token served', served);
        return jsonResponse(200, result.grant, { Pragma: 'no-cache' });
      }
      if (name === 'invalidate') {
        const dropped = await tokens.invalidate(orgId, { caller });
        logger.info('Token cache invalidated', { dropped });
        return noContentResponse();
      }
      const status = await tokens.status(orgId, { caller });
      logger.info('Status served');
      return jsonResponse(200, status);
    } catch (error) {
      const { response, code } = errorResponse(error, requestId);
      const detail = {
        category: code,
        status: response.statusCode,
        cache,
        duration_ms: time.now() - started,
      };
      if (
        response.statusCode >= 500 &&
        response.statusCode !== 502 &&
        response.statusCode !== 503
      ) {
        logger.error('Request failed', { ...detail, error });
      } else logger.warn('Request refused', { ...detail, reason: (error as Error).message });
      return response;
    }
  }

  const guarded = answerBeforeTimeout(serve, {
    time,
    logger,
    outOfTime: (_event, requestId) => outOfTimeResponse(requestId),
  });
  // middy's own early timeout throws, which Lambda reports as an invocation error: the guard answers instead.
  const handler = middy(guarded, { timeoutEarlyInMillis: 0 }).use(injectRequestLogging(logger));
  // With work after the response, the queue flushes once that work has settled: one EMF document.
  return deps.afterResponse ? handler : handler.use(publishStoredMetrics(metrics));
}
