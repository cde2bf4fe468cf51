/**
 * The out-of-time guard both functions share. A Lambda that hits its timeout is killed and API
 * Gateway answers an undocumented 502; the guard answers the function's own "out of time" result
 * {@link DEADLINE_MARGINS.outOfTime} before that, logs it, and leaves the request's work behind.
 */
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { DEADLINE_MARGINS, settleBy, type TimeSource } from '../core/deadline';
import type { ServiceLogger } from '../core/ports';
import type { RestHandler } from './rest-handler';

export interface DeadlineGuardOptions {
  readonly time: TimeSource;
  readonly logger: Pick<ServiceLogger, 'warn'> & {
    error(message: string, extra: Record<string, unknown>): void;
  };
  /** The answer when time runs out, e.g. a 503 with Retry-After. */
  readonly outOfTime: (event: APIGatewayProxyEvent, requestId: string) => APIGatewayProxyResult;
}

/** The request id every answer and log line of an invocation carries. */
export function readRequestId(event: APIGatewayProxyEvent, context: Context): string {
  return event.requestContext?.requestId ?? context.awsRequestId;
}

/** `serve`, or the out-of-time answer when it would outlive the function's remaining time. */
export function answerBeforeTimeout(
  serve: RestHandler,
  options: DeadlineGuardOptions,
): RestHandler {
  const { time, logger } = options;
  return async (event, context) => {
    const started = time.now();
    const at = started + context.getRemainingTimeInMillis() - DEADLINE_MARGINS.outOfTime;
    const served = await settleBy(serve(event, context), at, time);
    if (served.settled) return served.value;
    const requestId = readRequestId(event, context);
    logger.error('Request ran out of time', {
      category: 'internal_error',
      status: 503,
      route: event.resource,
      request_id: requestId,
      duration_ms: time.now() - started,
    });
    return options.outOfTime(event, requestId);
  };
}
