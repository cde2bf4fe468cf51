/**
 * A fresh function instance (the production bundle) hit at once: first by many concurrent
 * requests for one org on a cold cache, then by concurrent requests for many other orgs. The
 * runner counts the exchanges Salesforce saw; this reports wall times.
 */
import { pathToFileURL } from 'node:url';
import { expectToken, lambdaContext, report } from './protocol.mjs';

const env = process.env;
const { handler } = await import(pathToFileURL(env.BENCH_BUNDLE).href);
const template = JSON.parse(env.BENCH_EVENT);

function eventFor(orgId, i) {
  return {
    ...template,
    path: `/orgs/${orgId}/token`,
    pathParameters: { orgId },
    requestContext: { ...template.requestContext, requestId: `${orgId}-${i}` },
  };
}

async function burst(orgIds, perOrg) {
  const started = performance.now();
  const responses = await Promise.all(
    orgIds.flatMap((orgId) =>
      Array.from({ length: perOrg }, (_, i) =>
        handler(eventFor(orgId, i), lambdaContext(`${orgId}-${i}`)),
      ),
    ),
  );
  const elapsed = performance.now() - started;
  for (const response of responses) expectToken(response);
  return elapsed;
}

const [first, ...others] = env.BENCH_ORG_IDS.split(',');
const singleMs = await burst([first], Number(env.BENCH_CONCURRENT));
const manyMs = await burst(others, Number(env.BENCH_PER_ORG));
report({ singleMs, manyMs });
process.exit(0);
