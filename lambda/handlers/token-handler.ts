/**
 * The token API on API Gateway REST proxy events (SPEC §3.1): routing, input checks, caller
 * identity, and the mapping of results and errors to HTTP. Built by {@link createTokenHandler}
 * around an injected token service, so the Lambda entry (token.ts), the local stack and the tests
 * run the same handler.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import middy from '@middy/core';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { BrokerError } from '../core/errors';
import { METRIC } from '../core/metrics';
import { isValidOrgId } from '../core/org-record';
import type { ExchangeReport, ServiceLogger, TokenService } from '../services/token-service';
import { createExchangeReporter, publishStoredMetrics } from './exchange-reporting';
import { errorResponse, jsonResponse, noContentResponse, outOfTimeResponse } from './http';

/** Largest accepted request body, bytes. `{"forceRefresh": true}` is 22. */
export const MAX_BODY_BYTES = 1024;

/** Time kept back from the function's remaining time to send the response, ms. */
const RESPONSE_MARGIN_MS = 500;

/**
 * Time kept after the last Salesforce attempt for the exchange's bookkeeping (incident ledger,
 * SNS event, outcome record), ms: this, or a quarter of the time left when that is less. Each is
 * one AWS call of tens of milliseconds; whatever still runs when it is spent is abandoned (logged
 * and counted), never the response.
 */
const BOOKKEEPING_RESERVE_MS = 1000;

/**
 * When the request is still running this long before the function's timeout, the caller gets a
 * 503 with Retry-After instead of a Lambda timeout, ms. Smaller than {@link RESPONSE_MARGIN_MS},
 * so a Salesforce failure found at the deadline is still answered as itself.
 */
const OUT_OF_TIME_MARGIN_MS = 250;

/** What the handler gives the service it builds: its observability hooks. */
export interface ServiceHooks {
  readonly onExchange: (report: ExchangeReport) => void;
  /** Always set by the handler; optional for other users of these hooks (the local OAuth service). */
  readonly onBookkeepingAbandoned?: (report: ExchangeReport) => void;
  readonly logger: ServiceLogger;
}

export interface TokenHandlerDeps {
  /**
   * Builds the token service, once, on the first request (so adapters and SDK clients stay off
   * the cold-start import path). Pass `hooks` into {@link createTokenService}.
   */
  readonly createService: (hooks: ServiceHooks) => TokenService | Promise<TokenService>;
  readonly logger: Logger;
  readonly metrics: Metrics;
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

export function createTokenHandler(deps: TokenHandlerDeps) {
  const { logger, metrics } = deps;
  const onExchange = createExchangeReporter(logger, metrics);

  const onBookkeepingAbandoned = () => {
    metrics.addMetric(METRIC.exchangeBookkeepingAbandoned, MetricUnit.Count, 1);
  };

  let service: TokenService | Promise<TokenService> | undefined;
  const getService = (): TokenService | Promise<TokenService> => {
    if (service) return service;
    const hooks: ServiceHooks = { onExchange, onBookkeepingAbandoned, logger };
    const pending = Promise.resolve(deps.createService(hooks)).then(
      (built) => {
        service = built;
        return built;
      },
      (error: unknown) => {
        // Let the next request try again rather than keeping a failed start.
        service = undefined;
        throw error;
      },
    );
    service = pending;
    return pending;
  };

  async function serve(
    event: APIGatewayProxyEvent,
    context: Context,
    requestId: string,
  ): Promise<APIGatewayProxyResult> {
    const caller = event.requestContext?.identity?.userArn ?? null;
    const orgId = event.pathParameters?.orgId;
    const started = performance.now();
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
      const tokens = await getService();
      if (name === 'token') {
        const { forceRefresh } = parseTokenRequestBody(event);
        const budget = context.getRemainingTimeInMillis() - RESPONSE_MARGIN_MS;
        const respondBy = Date.now() + budget;
        // Whole ms: the Salesforce client turns what is left into an AbortSignal timeout.
        const reserve = Math.min(BOOKKEEPING_RESERVE_MS, Math.floor(budget / 4));
        const result = await tokens.getToken(orgId, {
          caller,
          requestId,
          deadline: respondBy - reserve,
          respondBy,
          forceRefresh,
        });
        cache = result.cacheHit ? 'hit' : 'miss';
        metrics.addMetric(
          result.cacheHit ? METRIC.cacheHits : METRIC.cacheMisses,
          MetricUnit.Count,
          1,
        );
        logger.info('Token served', { cache, duration_ms: performance.now() - started });
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
        duration_ms: performance.now() - started,
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

  /** Serves the request, or answers 503 when it would outlive the function's remaining time. */
  async function route(
    event: APIGatewayProxyEvent,
    context: Context,
  ): Promise<APIGatewayProxyResult> {
    const requestId = event.requestContext?.requestId ?? context.awsRequestId;
    const started = performance.now();
    let timer: NodeJS.Timeout | undefined;
    const outOfTime = new Promise<APIGatewayProxyResult>((resolve) => {
      timer = setTimeout(
        () => {
          logger.error('Request ran out of time', {
            category: 'internal_error',
            status: 503,
            duration_ms: performance.now() - started,
          });
          resolve(outOfTimeResponse(requestId));
        },
        Math.max(0, context.getRemainingTimeInMillis() - OUT_OF_TIME_MARGIN_MS),
      );
    });
    try {
      return await Promise.race([serve(event, context, requestId), outOfTime]);
    } finally {
      clearTimeout(timer);
    }
  }

  // middy's own early timeout throws, which Lambda reports as an invocation error: route answers instead.
  return middy(route, { timeoutEarlyInMillis: 0 })
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(publishStoredMetrics(metrics));
}
