/**
 * The floor: only the work a token fetch cannot avoid, with node:crypto and fetch. Read the key
 * (one Secrets Manager call, plain fetch), sign the RS256 assertion, POST it once.
 */
import { postAssertion, readPrivateKeyPem, signAssertion } from './floor.mjs';
import { report } from './protocol.mjs';

const env = process.env;
const started = performance.now();
const privateKey = await readPrivateKeyPem(env);
await postAssertion(env, signAssertion(env, privateKey));
const served = performance.now();
report({
  importMs: 0,
  requestMs: served - started,
  totalMs: served,
  maxRssKb: process.resourceUsage().maxRSS,
});
process.exit(0);
