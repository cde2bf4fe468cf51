/**
 * The client-library baseline: the floor with its POST replaced by jsforce's
 * `OAuth2.requestToken` (the JWT bearer grant), as a team would write it without the broker.
 * Key read and signing are the floor's, so the difference is jsforce.
 */
import { JWT_BEARER, readPrivateKeyPem, signAssertion } from './floor.mjs';
import { report } from './protocol.mjs';

const env = process.env;
const started = performance.now();
const { OAuth2 } = await import('jsforce');
const imported = performance.now();
const rssImportedBytes = process.memoryUsage.rss();
const requestStarted = performance.now();
const assertion = signAssertion(env, await readPrivateKeyPem(env));
const oauth2 = new OAuth2({ loginUrl: env.BENCH_LOGIN_URL });
const token = await oauth2.requestToken({
  grant_type: JWT_BEARER,
  assertion,
});
const served = performance.now();
const rssServedBytes = process.memoryUsage.rss();
if (typeof token.access_token !== 'string') throw new Error(`no token: ${JSON.stringify(token)}`);
report({
  importMs: imported - started,
  requestMs: served - requestStarted,
  totalMs: served,
  rssImportedBytes,
  rssServedBytes,
  maxRssKb: process.resourceUsage().maxRSS,
});
process.exit(0);
