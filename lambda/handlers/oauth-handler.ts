/**
 * The OAuth routes over API Gateway REST proxy events, composed from an {@link ApprovalService}:
 * `GET /oauth/authorize` and `GET /oauth/callback`. Every answer is an HTML page or a redirect to
 * the org's own Salesforce login host, with the page security headers of docs/approval-loop.md.
 * Composed by {@link composeOAuthFunction} for the Lambda entry, the local stack and the tests.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import middy from '@middy/core';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import type { ApprovalOutcome } from '../core/approval-outcome';
import { renderApprovalPage } from '../core/approval-page';
import {
  type BindingCookiePolicy,
  readCookie,
  serializeBindingCookie,
  serializeClearedBindingCookie,
} from '../core/cookies';
import { planRequestDeadline, SYSTEM_TIME, type TimeSource } from '../core/deadline';
import { escapeHtml, PAGE_SECURITY_HEADERS, renderDocument } from '../core/html';
import type { ApprovalService } from '../services/approval-service';
import { answerBeforeTimeout, readRequestId } from './deadline-guard';
import { publishStoredMetrics } from './exchange-reporting';
import { injectRequestLogging } from './request-logging';
import type { RestHandler } from './rest-handler';

export interface OAuthHandlerDeps {
  readonly service: ApprovalService;
  readonly cookiePolicy: BindingCookiePolicy;
  /** Gets the Lambda context and the request id on every line of an invocation. */
  readonly logger: Logger;
  /**
   * Metrics stored during an invocation (the JWT re-run's exchange metrics) are flushed after it.
   * @default none: nothing is flushed
   */
  readonly metrics?: Metrics;
  /** Called once per finished callback (metrics). */
  readonly onOutcome?: (outcome: ApprovalOutcome) => void;
  /** @default real time */
  readonly time?: TimeSource;
}

const HTML_HEADERS = { ...PAGE_SECURITY_HEADERS, 'Content-Type': 'text/html; charset=utf-8' };

function page(statusCode: number, body: string): APIGatewayProxyResult {
  return { statusCode, headers: { ...HTML_HEADERS }, body };
}

function simplePage(statusCode: number, title: string, text: string, requestId: string) {
  return page(
    statusCode,
    renderDocument({
      title,
      tone: 'fail',
      bodyHtml: `<h1>${escapeHtml(title)}</h1><p>${escapeHtml(text)}</p><footer>request <code>${escapeHtml(requestId)}</code></footer>`,
    }),
  );
}

function cookieHeaders(event: APIGatewayProxyEvent): string[] {
  const values: string[] = [];
  for (const [name, list] of Object.entries(event.multiValueHeaders ?? {})) {
    if (name.toLowerCase() === 'cookie' && list) values.push(...list);
  }
  if (values.length === 0) {
    for (const [name, value] of Object.entries(event.headers ?? {})) {
      if (name.toLowerCase() === 'cookie' && value) values.push(value);
    }
  }
  return values;
}

/** The callback's attempt is consumed whatever the answer, so its binding cookie goes too. */
function clearingBindingCookie(
  result: APIGatewayProxyResult,
  policy: BindingCookiePolicy,
): APIGatewayProxyResult {
  return {
    ...result,
    multiValueHeaders: { 'Set-Cookie': [serializeClearedBindingCookie(policy)] },
  };
}

/** Seconds the out-of-time page asks the browser to wait. */
const OUT_OF_TIME_RETRY_AFTER_SECONDS = 5;

/** The Lambda handler of the OAuth function. */
export function createOAuthHandler(deps: OAuthHandlerDeps): RestHandler {
  const time = deps.time ?? SYSTEM_TIME;
  const guarded = answerBeforeTimeout(createOAuthRoutes(deps, time), {
    time,
    logger: deps.logger,
    outOfTime: (event, requestId) => {
      const result = simplePage(
        503,
        'The broker ran out of time',
        'The broker could not finish this request in time. Start again from the approval link in a minute; if it keeps failing, give this request id to the operator.',
        requestId,
      );
      const answer = {
        ...result,
        headers: { ...result.headers, 'Retry-After': String(OUT_OF_TIME_RETRY_AFTER_SECONDS) },
      };
      return event.resource === '/oauth/callback'
        ? clearingBindingCookie(answer, deps.cookiePolicy)
        : answer;
    },
  });
  // middy's own early timeout throws, which Lambda reports as an invocation error: the guard answers instead.
  const handler = middy(guarded, { timeoutEarlyInMillis: 0 }).use(
    injectRequestLogging(deps.logger),
  );
  return deps.metrics ? handler.use(publishStoredMetrics(deps.metrics)) : handler;
}

function createOAuthRoutes(deps: OAuthHandlerDeps, time: TimeSource): RestHandler {
  return async (event, context) => {
    const requestId = readRequestId(event, context);
    const route = event.resource ?? event.path;
    deps.logger.appendKeys({ request_id: requestId });
    try {
      if (route !== '/oauth/authorize' && route !== '/oauth/callback') {
        return simplePage(404, 'Not found', 'There is no such page on this broker.', requestId);
      }
      if (event.httpMethod !== 'GET') {
        const result = simplePage(
          405,
          'Method not allowed',
          'Only GET is supported here.',
          requestId,
        );
        return { ...result, headers: { ...result.headers, Allow: 'GET' } };
      }
      const query = event.multiValueQueryStringParameters ?? null;
      const cookieValue = readCookie(cookieHeaders(event), deps.cookiePolicy.name);

      if (route === '/oauth/authorize') {
        const started = await deps.service.start({ query, cookieValue });
        if (started.kind === 'page') {
          return page(
            started.outcome.httpStatus,
            renderApprovalPage(started.outcome, { requestId }),
          );
        }
        return {
          statusCode: 302,
          headers: { ...PAGE_SECURITY_HEADERS, Location: started.location },
          multiValueHeaders: {
            'Set-Cookie': [
              serializeBindingCookie(deps.cookiePolicy, started.cookieValue, started.maxAgeSeconds),
            ],
          },
          body: '',
        };
      }

      const outcome = await deps.service.complete({
        query,
        cookieValue,
        requestId,
        deadline: planRequestDeadline(context.getRemainingTimeInMillis(), time.now()),
      });
      deps.onOutcome?.(outcome);
      return clearingBindingCookie(
        page(outcome.httpStatus, renderApprovalPage(outcome, { requestId })),
        deps.cookiePolicy,
      );
    } catch (error) {
      deps.logger.error('OAuth route failed', { error, route, request_id: requestId });
      const failed = simplePage(
        500,
        'Something went wrong in the broker',
        'The broker could not finish this request. Try the approval link again; if it keeps failing, give this request id to the operator.',
        requestId,
      );
      return route === '/oauth/callback'
        ? clearingBindingCookie(failed, deps.cookiePolicy)
        : failed;
    }
  };
}
