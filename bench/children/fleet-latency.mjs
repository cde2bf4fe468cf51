/**
 * A fresh function instance (the production bundle) timing the three ways it answers a token
 * request, interleaved round by round so drift on the machine falls on all three alike:
 * - memory: an org this instance already holds;
 * - fleet: an org this instance has never seen but another environment has logged in for, so its
 *   sealed token is in the table (org record read, GetItem, open);
 * - exchange: an org nobody has logged in for yet (org record read, lease, login, seal, writes).
 * Each fleet and exchange org is used once. The first rounds are warm-up: they also pay the
 * one-off KMS calls (the data key's Decrypt and GenerateDataKey) that later requests reuse.
 */
import { expectToken, lambdaContext, loadFunction, report } from './protocol.mjs';

const env = process.env;
const { invoke } = await loadFunction();
const template = JSON.parse(env.BENCH_EVENT);
const warmupRounds = Number(env.BENCH_WARMUP_ROUNDS);
const fleetOrgs = env.BENCH_FLEET_ORGS.split(',');
const coldOrgs = env.BENCH_COLD_ORGS.split(',');
const memoryOrg = env.BENCH_MEMORY_ORG;

let sequence = 0;
async function timed(orgId) {
  const requestId = `latency-${sequence++}`;
  const event = {
    ...template,
    path: `/orgs/${orgId}/token`,
    pathParameters: { orgId },
    requestContext: { ...template.requestContext, requestId },
  };
  const context = lambdaContext(requestId);
  const { response, invokedAt, respondedAt } = await invoke(event, context);
  expectToken(response);
  return respondedAt - invokedAt;
}

expectToken((await invoke(template, lambdaContext('first'))).response);
for (let i = 0; i < 200; i += 1) await timed(memoryOrg);

const samples = { memory: [], fleet: [], exchange: [] };
const contenders = [
  ['memory', () => memoryOrg],
  ['fleet', (round) => fleetOrgs[round]],
  ['exchange', (round) => coldOrgs[round]],
];
for (let round = 0; round < fleetOrgs.length; round += 1) {
  // Rotated, so no contender always runs right after the same other one.
  for (let k = 0; k < contenders.length; k += 1) {
    const [name, orgOf] = contenders[(round + k) % contenders.length];
    const elapsed = await timed(orgOf(round));
    if (round >= warmupRounds) samples[name].push(elapsed);
  }
}

report(samples);
process.exit(0);
