/**
 * SigV4 checking for the local gateway's IAM routes, as API Gateway's `AWS_IAM` authorisation does
 * it: the Authorization header names a known access key, the credential scope is today's date in
 * this region for `execute-api`, the request time is within 15 minutes, and the signature the AWS
 * SDK's signer computes for the request (with the key's secret) equals the one sent, compared in
 * constant time. The caller ARN then comes from the key, never from configuration.
 *
 * Failures carry API Gateway's gateway response type and message, so the local gateway answers
 * with the bodies the deployed stack's gateway responses render (lib/gateway-responses.ts).
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import {
  createExecuteApiSignatureV4,
  EXECUTE_API_SERVICE,
  toSignableRequest,
} from '../client/signer';

/** A key pair the local gateway accepts, and the principal API Gateway would report for it. */
export interface LocalCallerKey {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  /** `requestContext.identity.userArn`, e.g. an assumed-role ARN. */
  readonly arn: string;
}

export interface SigV4Settings {
  /** The region requests must be signed for. */
  readonly region: string;
  readonly keys: readonly LocalCallerKey[];
  /** How far the request time may be from now, either way. @default 900000 (15 min) */
  readonly maxSkewMs?: number;
  /** @default Date.now */
  readonly clock?: () => number;
}

export interface SignedRequest {
  readonly method: string;
  /** The request target as received: encoded path and query. */
  readonly url: string;
  /** `Host` as received. */
  readonly host: string;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: Buffer;
}

export type SigV4Result =
  | { readonly ok: true; readonly key: LocalCallerKey }
  | {
      readonly ok: false;
      /** API Gateway's gateway response type. */
      readonly type: 'MISSING_AUTHENTICATION_TOKEN' | 'INCOMPLETE_SIGNATURE' | 'INVALID_SIGNATURE';
      readonly message: string;
    };

const ALGORITHM = 'AWS4-HMAC-SHA256';
const AMZ_DATE = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;
const SIGNATURE_MISMATCH =
  'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.';

/** A fresh local key pair for `arn`, shaped like STS's (`ASIA...`, 40-character secret). */
export function createLocalCallerKey(arn: string): LocalCallerKey {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  const id = [...randomBytes(16)].map((byte) => alphabet[byte % 32]).join('');
  return {
    accessKeyId: `ASIA${id}`,
    secretAccessKey: randomBytes(30).toString('base64').replace(/[+/]/g, 'x'),
    arn,
  };
}

function headerValue(headers: SignedRequest['headers'], name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value.join(',') : value;
}

function parseAuthorization(value: string) {
  if (!value.startsWith(`${ALGORITHM} `)) return undefined;
  const fields = new Map<string, string>();
  for (const part of value.slice(ALGORITHM.length + 1).split(',')) {
    const at = part.indexOf('=');
    if (at > 0) fields.set(part.slice(0, at).trim(), part.slice(at + 1).trim());
  }
  const credential = fields.get('Credential');
  const signedHeaders = fields.get('SignedHeaders');
  const signature = fields.get('Signature');
  if (!credential || !signedHeaders || !signature) return undefined;
  const [accessKeyId, date, region, service, terminator, ...rest] = credential.split('/');
  if (!accessKeyId || !date || !region || !service || terminator !== 'aws4_request' || rest.length)
    return undefined;
  return {
    accessKeyId,
    date,
    region,
    service,
    signedHeaders: signedHeaders.split(';'),
    signature: signature.toLowerCase(),
  };
}

function formatAmzDate(ms: number): string {
  return new Date(ms)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
}

/** Checks a request's SigV4 signature; see the module comment for what API Gateway checks. */
export async function verifySigV4(
  settings: SigV4Settings,
  request: SignedRequest,
): Promise<SigV4Result> {
  const authorization = headerValue(request.headers, 'authorization');
  if (!authorization) {
    return {
      ok: false,
      type: 'MISSING_AUTHENTICATION_TOKEN',
      message: 'Missing Authentication Token',
    };
  }
  const parsed = parseAuthorization(authorization);
  if (!parsed) {
    return {
      ok: false,
      type: 'INCOMPLETE_SIGNATURE',
      message: `Authorization header requires 'Credential', 'Signature' and 'SignedHeaders' parameters with the ${ALGORITHM} algorithm. Authorization=${authorization.split(' ')[0]}`,
    };
  }
  const key = settings.keys.find((candidate) => candidate.accessKeyId === parsed.accessKeyId);
  if (!key) {
    return {
      ok: false,
      type: 'INVALID_SIGNATURE',
      message: 'The security token included in the request is invalid.',
    };
  }
  if (parsed.service !== EXECUTE_API_SERVICE) {
    return {
      ok: false,
      type: 'INVALID_SIGNATURE',
      message: `Credential should be scoped to correct service: '${EXECUTE_API_SERVICE}'. `,
    };
  }
  if (parsed.region !== settings.region) {
    return {
      ok: false,
      type: 'INVALID_SIGNATURE',
      message: `Credential should be scoped to a valid region, not '${parsed.region}'. `,
    };
  }
  const amzDate = headerValue(request.headers, 'x-amz-date') ?? '';
  const dateParts = AMZ_DATE.exec(amzDate);
  if (!dateParts || !parsed.signedHeaders.includes('x-amz-date')) {
    return {
      ok: false,
      type: 'INCOMPLETE_SIGNATURE',
      message:
        "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.",
    };
  }
  if (!parsed.signedHeaders.includes('host')) {
    return {
      ok: false,
      type: 'INCOMPLETE_SIGNATURE',
      message: "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.",
    };
  }
  const [, year, month, day, hours, minutes, seconds] = dateParts.map(Number) as number[];
  const signedAt = Date.UTC(
    year as number,
    (month as number) - 1,
    day as number,
    hours as number,
    minutes as number,
    seconds as number,
  );
  const now = (settings.clock ?? Date.now)();
  const maxSkewMs = settings.maxSkewMs ?? 15 * 60_000;
  if (signedAt < now - maxSkewMs) {
    return {
      ok: false,
      type: 'INVALID_SIGNATURE',
      message: `Signature expired: ${amzDate} is now earlier than ${formatAmzDate(now - maxSkewMs)} (${formatAmzDate(now)} - ${maxSkewMs / 60_000} min.)`,
    };
  }
  if (signedAt > now + maxSkewMs) {
    return {
      ok: false,
      type: 'INVALID_SIGNATURE',
      message: `Signature not yet current: ${amzDate} is still later than ${formatAmzDate(now + maxSkewMs)} (${formatAmzDate(now)} + ${maxSkewMs / 60_000} min.)`,
    };
  }
  if (parsed.date !== amzDate.slice(0, 8)) {
    return {
      ok: false,
      type: 'INVALID_SIGNATURE',
      message: `Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '${parsed.date}' != '${amzDate.slice(0, 8)}', from '${amzDate}'.`,
    };
  }

  // Exactly the headers the caller signed, so the SDK's signer canonicalises what the caller did.
  const signed: Record<string, string> = {};
  for (const name of parsed.signedHeaders) {
    const value = name === 'host' ? request.host : headerValue(request.headers, name);
    if (value === undefined)
      return { ok: false, type: 'INVALID_SIGNATURE', message: SIGNATURE_MISMATCH };
    signed[name] = value;
  }
  // A signed payload hash must be the body's, or a caller could sign one body and send another.
  const claimedHash = signed['x-amz-content-sha256'];
  if (
    claimedHash !== undefined &&
    claimedHash !== createHash('sha256').update(request.body).digest('hex')
  ) {
    return {
      ok: false,
      type: 'INVALID_SIGNATURE',
      message: 'The provided x-amz-content-sha256 header does not match what was computed.',
    };
  }
  const signer = createExecuteApiSignatureV4(
    settings.region,
    { accessKeyId: key.accessKeyId, secretAccessKey: key.secretAccessKey },
    false,
  );
  const url = new URL(request.url, `http://${request.host}`);
  const recomputed = await signer.sign(
    toSignableRequest({
      method: request.method,
      url,
      headers: signed,
      body: request.body.length > 0 ? request.body : undefined,
    }),
    {
      signingDate: new Date(signedAt),
      signableHeaders: new Set(parsed.signedHeaders),
    },
  );
  const expected = /Signature=([0-9a-f]+)$/.exec(recomputed.headers.authorization ?? '')?.[1] ?? '';
  const expectedHeaders = /SignedHeaders=([^,]+),/.exec(
    recomputed.headers.authorization ?? '',
  )?.[1];
  const sent = Buffer.from(parsed.signature);
  const good =
    expectedHeaders === parsed.signedHeaders.join(';') &&
    sent.length === expected.length &&
    timingSafeEqual(sent, Buffer.from(expected));
  return good
    ? { ok: true, key }
    : { ok: false, type: 'INVALID_SIGNATURE', message: SIGNATURE_MISMATCH };
}
