/**
 * One warm function instance (the production bundle): cached-token requests through the real
 * handler, the same number through a bare handler returning a constant, then fresh exchanges
 * (forceRefresh) interleaved with the floor's sign + POST on the same key. Each exchange is also
 * timed from its token answer's last byte to its end (token-answers.mjs). Durations in ms.
 */
import { createPrivateKey } from 'node:crypto';
import { postAssertion, readPrivateKeyPem, signAssertion } from './floor.mjs';
import { expectToken, lambdaContext, loadFunction, report } from './protocol.mjs';
import { watchTokenAnswers } from './token-answers.mjs';

const env = process.env;
const cached = Number(env.BENCH_WARM_REQUESTS);
const misses = Number(env.BENCH_MISS_REQUESTS);
const warmup = Math.max(10, Math.floor(cached / 10));
const answers = watchTokenAnswers();
const { invoke } = await loadFunction();
const event = JSON.parse(env.BENCH_EVENT);
const refreshEvent = { ...event, body: '{"forceRefresh":true}' };

/**
 * From the handler's call until the caller has its answer: `run` resolves to an invocation
 * (`invokedAt`, `respondedAt`: the host's own Runtime API work is not the function's) or to a
 * response (the bare handler, timed around the call).
 */
async function time(run, count, prepare) {
  const durations = new Array(count);
  for (let i = 0; i < count; i += 1) {
    const context = prepare(i);
    const started = performance.now();
    const outcome = await run(context);
    durations[i] =
      outcome.respondedAt === undefined
        ? performance.now() - started
        : outcome.respondedAt - outcome.invokedAt;
  }
  return durations;
}

/** The function's answer to `event`, once its invocation has ended. */
async function call(event, context) {
  return (await invoke(event, context)).response;
}

/** A fresh request id and context per invocation, as API Gateway and the runtime give them. */
function prepare(source) {
  return (i) => {
    source.requestContext.requestId = `bench-${i}`;
    return lambdaContext(`invoke-${i}`);
  };
}

expectToken(await call(event, lambdaContext('first')));

const bare = async () => ({
  statusCode: 200,
  headers: { 'Content-Type': 'application/json' },
  body: '{"ok":true}',
});
await time((context) => invoke(event, context), warmup, prepare(event));
await time((context) => bare(event, context), warmup, prepare(event));
const warm = await time((context) => invoke(event, context), cached, prepare(event));
const bareDurations = await time((context) => bare(event, context), cached, prepare(event));

const privateKey = createPrivateKey(await readPrivateKeyPem(env));
const floorExchange = () => postAssertion(env, signAssertion(env, privateKey));

const brokerMiss = [];
const floorMiss = [];
const brokerAfterAnswer = [];
const floorAfterAnswer = [];
const missWarmup = Math.max(3, Math.floor(misses / 10));
for (let i = -missWarmup; i < misses; i += 1) {
  refreshEvent.requestContext = { ...event.requestContext, requestId: `miss-${i}` };
  const context = lambdaContext(`miss-${i}`);
  const broker = await answers.time(
    () => invoke(refreshEvent, context),
    (invocation) => invocation.respondedAt,
  );
  const brokerMs = broker.result.respondedAt - broker.result.invokedAt;
  expectToken(broker.result.response);
  const started = performance.now();
  const floor = await answers.time(floorExchange);
  const floorMs = performance.now() - started;
  if (i >= 0) {
    brokerMiss.push(brokerMs);
    floorMiss.push(floorMs);
    brokerAfterAnswer.push(broker.afterAnswerMs);
    floorAfterAnswer.push(floor.afterAnswerMs);
  }
}

// Both loops log in as the same user: the runner checks every refresh reached Salesforce.
report({
  warm,
  bare: bareDurations,
  brokerMiss,
  floorMiss,
  brokerAfterAnswer,
  floorAfterAnswer,
  logins: 2 * (missWarmup + misses),
});
process.exit(0);
