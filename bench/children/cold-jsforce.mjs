/**
 * The client-library baseline: the floor with its POST replaced by jsforce's
 * `OAuth2.requestToken` (the JWT bearer grant), as a team would write it without the broker.
 * Key read and signing are the floor's, so the difference is jsforce.
 */
import { createSign, randomUUID } from 'node:crypto';
import { report } from './protocol.mjs';

const env = process.env;
const started = performance.now();
const { OAuth2 } = await import('jsforce');
const imported = performance.now();
const secret = await fetch(env.BENCH_SECRETS_ENDPOINT, {
  method: 'POST',
  headers: {
    'content-type': 'application/x-amz-json-1.1',
    'x-amz-target': 'secretsmanager.GetSecretValue',
  },
  body: JSON.stringify({ SecretId: env.BENCH_SECRET_ID }),
}).then((response) => response.json());
const { privateKey } = JSON.parse(secret.SecretString);

const encode = (value) => Buffer.from(JSON.stringify(value)).toString('base64url');
const iat = Math.floor(Date.now() / 1000);
const input = `${encode({ alg: 'RS256', typ: 'JWT' })}.${encode({
  iss: env.BENCH_CONSUMER_KEY,
  sub: env.BENCH_USERNAME,
  aud: env.BENCH_AUDIENCE,
  exp: iat + 150,
  iat,
  jti: randomUUID(),
})}`;
const assertion = `${input}.${createSign('RSA-SHA256').update(input).sign(privateKey, 'base64url')}`;
const oauth2 = new OAuth2({ loginUrl: env.BENCH_LOGIN_URL });
const token = await oauth2.requestToken({
  grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer',
  assertion,
});
const served = performance.now();
if (typeof token.access_token !== 'string') throw new Error(`no token: ${JSON.stringify(token)}`);
report({
  importMs: imported - started,
  requestMs: served - imported,
  totalMs: served,
  maxRssKb: process.resourceUsage().maxRSS,
});
process.exit(0);
