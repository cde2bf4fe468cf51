/**
 * Cold start of the token function: a fresh process imports the production bundle and serves its
 * first request (registry from DynamoDB, key from Secrets Manager, exchange with Salesforce).
 */
import { pathToFileURL } from 'node:url';
import { expectToken, lambdaContext, report } from './protocol.mjs';

const started = performance.now();
const { handler } = await import(pathToFileURL(process.env.BENCH_BUNDLE).href);
const imported = performance.now();
const response = await handler(JSON.parse(process.env.BENCH_EVENT), lambdaContext('cold-1'));
const served = performance.now();
expectToken(response);
report({
  importMs: imported - started,
  requestMs: served - imported,
  totalMs: served,
  maxRssKb: process.resourceUsage().maxRSS,
});
process.exit(0);
