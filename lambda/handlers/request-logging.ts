/**
 * The Powertools Logger middleware as both functions use it. The event is never logged, whatever
 * `POWERTOOLS_LOGGER_LOG_EVENT` says: it holds the callback's code and state, the binding cookie
 * and the callers' SigV4 headers. The option given here takes precedence over the variable.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';

/** Lambda context and request keys on every line, reset after each invocation; no event. */
export function injectRequestLogging(logger: Logger) {
  return injectLambdaContext(logger, { resetKeys: true, logEvent: false });
}
