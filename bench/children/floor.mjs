/**
 * The floor's steps, shared by the floor itself, the jsforce baseline (which replaces only the
 * POST) and the warm-path comparison: read the key with one plain Secrets Manager call, sign the
 * RS256 assertion with node:crypto, POST it with fetch.
 */
import { createSign, randomUUID } from 'node:crypto';

export const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

/** The PKCS#8 PEM of the bench org's signing key secret. */
export async function readPrivateKeyPem(env) {
  const secret = await fetch(env.BENCH_SECRETS_ENDPOINT, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-amz-json-1.1',
      'x-amz-target': 'secretsmanager.GetSecretValue',
    },
    body: JSON.stringify({ SecretId: env.BENCH_SECRET_ID }),
  }).then((response) => response.json());
  return JSON.parse(secret.SecretString).privateKey;
}

const encode = (value) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** @param privateKey a PEM string or a KeyObject */
export function signAssertion(env, privateKey) {
  const iat = Math.floor(Date.now() / 1000);
  const input = `${encode({ alg: 'RS256', typ: 'JWT' })}.${encode({
    iss: env.BENCH_CONSUMER_KEY,
    sub: env.BENCH_USERNAME,
    aud: env.BENCH_AUDIENCE,
    exp: iat + 150,
    iat,
    jti: randomUUID(),
  })}`;
  return `${input}.${createSign('RSA-SHA256').update(input).sign(privateKey, 'base64url')}`;
}

/** One POST of the assertion; throws unless Salesforce answered with an access token. */
export async function postAssertion(env, assertion) {
  const token = await fetch(`${env.BENCH_LOGIN_URL}/services/oauth2/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: JWT_BEARER, assertion }),
  }).then((response) => response.json());
  if (typeof token.access_token !== 'string') throw new Error('floor exchange failed');
  return token;
}
