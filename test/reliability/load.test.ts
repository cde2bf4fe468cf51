/**
 * The token API under load through the local gateway (real HTTP on loopback, REST proxy events,
 * the production composition behind it): cached tokens at high concurrency, and a cold instance
 * asked for many orgs at once. Zero errors; exchanges = orgs, counted by the emulator's login
 * history (every exchange is a Salesforce login). Latency percentiles are printed, not asserted.
 * `RELIABILITY_SCALE=full` runs ten times the requests and six times the orgs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalGateway, startGateway } from '../../local/gateway';
import { type CapturedOutput, captureOutput, findSecrets } from '../support/logs';
import { recordFigures } from './support/figures';
import { runLoad } from './support/load';
import { CALLER, type Stack, startStack, usernameOf } from './support/stack';

const FULL = process.env.RELIABILITY_SCALE === 'full';
const HOT_REQUESTS = FULL ? 20_000 : 2_000;
const COLD_ORGS = FULL ? 300 : 50;
const CALLERS_PER_ORG = 8;
const figures = recordFigures('load');

let stack: Stack;
let output: CapturedOutput;
const issuedTokens = new Set<string>();

beforeAll(async () => {
  stack = await startStack();
  output = captureOutput();
});

afterAll(async () => {
  output.stop();
  const secrets = findSecrets(output.text(), [...issuedTokens, stack.material.privateKeyPem]);
  figures.figures.secretsFound += secrets.length;
  figures.flush();
  await stack.close();
  expect(secrets).toEqual([]);
});

async function withGateway<T>(run: (gateway: LocalGateway) => Promise<T>): Promise<T> {
  // A fresh function instance per scenario: its caches start cold.
  const gateway = await startGateway({
    handlers: { token: stack.createHandler() },
    callerArn: CALLER,
  });
  try {
    return await run(gateway);
  } finally {
    await gateway.close();
  }
}

function collectTokens(bodies: readonly string[]): Set<string> {
  const tokens = new Set<string>();
  for (const body of bodies)
    tokens.add((JSON.parse(body) as { access_token: string }).access_token);
  for (const token of tokens) issuedTokens.add(token);
  return tokens;
}

describe('load through the local gateway', () => {
  it(`cached tokens at high concurrency: ${HOT_REQUESTS} requests, 64 in flight, one exchange`, async () => {
    await stack.addOrg('hot');
    const result = await withGateway((gateway) =>
      runLoad(() => ({ method: 'POST', url: `${gateway.url}/orgs/hot/token` }), {
        count: HOT_REQUESTS,
        concurrency: 64,
        maxDurationMs: 30_000,
        keepBodies: true,
      }),
    );
    figures.figures.loadRequests += result.sent;
    figures.figures.errors += result.sent - (result.statuses[200] ?? 0);
    figures.figures.latency.cachedToken = result.latency;
    console.log(
      `[reliability] cached tokens: ${result.sent} requests in ${Math.round(result.elapsedMs)} ms, ` +
        `statuses ${JSON.stringify(result.statuses)}`,
    );
    expect(result.failures).toEqual([]);
    expect(result.statuses).toEqual({ 200: HOT_REQUESTS });
    expect(collectTokens(result.bodies).size).toBe(1);
    expect(await stack.control.countTokenExchanges(usernameOf('hot'))).toBe(1);
  });

  it(`a cold instance asked for ${COLD_ORGS} orgs at once (${CALLERS_PER_ORG} callers each): one exchange per org`, async () => {
    const orgIds = Array.from({ length: COLD_ORGS }, (_, i) => `cold-${i}`);
    for (let i = 0; i < orgIds.length; i += 10) {
      await Promise.all(orgIds.slice(i, i + 10).map((orgId) => stack.addOrg(orgId)));
    }
    const result = await withGateway((gateway) =>
      runLoad(
        (index) => ({
          method: 'POST',
          url: `${gateway.url}/orgs/${orgIds[index % orgIds.length]}/token`,
        }),
        {
          count: COLD_ORGS * CALLERS_PER_ORG,
          concurrency: Math.min(COLD_ORGS * CALLERS_PER_ORG, 256),
          maxDurationMs: 60_000,
          keepBodies: true,
        },
      ),
    );
    figures.figures.loadRequests += result.sent;
    figures.figures.errors += result.sent - (result.statuses[200] ?? 0);
    figures.figures.latency.coldManyOrgs = result.latency;
    console.log(
      `[reliability] cold cache: ${result.sent} requests for ${COLD_ORGS} orgs in ` +
        `${Math.round(result.elapsedMs)} ms, statuses ${JSON.stringify(result.statuses)}`,
    );
    expect(result.failures).toEqual([]);
    expect(result.statuses).toEqual({ 200: COLD_ORGS * CALLERS_PER_ORG });
    expect(collectTokens(result.bodies).size).toBe(COLD_ORGS);
    const logins = await stack.control.loginHistory({ status: 'Success', grant: 'jwt-bearer' });
    const exchanges = logins.filter((login) => login.username.startsWith('integration@cold-'));
    expect(exchanges).toHaveLength(COLD_ORGS);
    expect(new Set(exchanges.map((login) => login.username)).size).toBe(COLD_ORGS);
  });
});
