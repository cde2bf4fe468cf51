/**
 * Cold start of the token function: a fresh process imports the production bundle and serves its
 * first request (registry from DynamoDB, key from Secrets Manager, exchange with Salesforce).
 */
import { expectToken, lambdaContext, loadFunction, report } from './protocol.mjs';
import { watchTokenAnswers } from './token-answers.mjs';

const answers = watchTokenAnswers();
const started = performance.now();
const { invoke } = await loadFunction();
const imported = performance.now();
// rss() alone: memoryUsage() would also walk V8's heap spaces, work the function never does.
const rssImportedBytes = process.memoryUsage.rss();
const requestStarted = performance.now();
const { result, afterAnswerMs } = await answers.time(
  () => invoke(JSON.parse(process.env.BENCH_EVENT), lambdaContext('cold-1')),
  (invocation) => invocation.respondedAt,
);
// When the caller had its token; the invocation's after-response work follows.
const served = result.respondedAt;
const { response } = result;
const rssServedBytes = process.memoryUsage.rss();
expectToken(response);
report({
  importMs: imported - started,
  requestMs: served - requestStarted,
  totalMs: served,
  afterAnswerMs,
  rssImportedBytes,
  rssServedBytes,
  maxRssKb: process.resourceUsage().maxRSS,
});
process.exit(0);
