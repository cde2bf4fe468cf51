/**
 * The floor: only the work a token fetch cannot avoid, with node:crypto and fetch. Read the key
 * (one Secrets Manager call, plain fetch), sign the RS256 assertion, POST it once.
 */
import { postAssertion, readPrivateKeyPem, signAssertion } from './floor.mjs';
import { report } from './protocol.mjs';

const env = process.env;
const started = performance.now();
// The floor imports nothing beyond node built-ins, so its "after import" is its first line.
const rssImportedBytes = process.memoryUsage.rss();
const privateKey = await readPrivateKeyPem(env);
await postAssertion(env, signAssertion(env, privateKey));
const served = performance.now();
const rssServedBytes = process.memoryUsage.rss();
report({
  importMs: 0,
  requestMs: served - started,
  totalMs: served,
  rssImportedBytes,
  rssServedBytes,
  maxRssKb: process.resourceUsage().maxRSS,
});
process.exit(0);
