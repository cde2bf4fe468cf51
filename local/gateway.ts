/**
 * The local API gateway: a node:http server on loopback that turns each request into the API
 * Gateway REST proxy event the deployed API would send (`buildRestEvent`), invokes the handler
 * for the matching resource template, and writes the proxy result back. Handlers are parameters,
 * so tests and `npm start` inject their own composition of the same function code.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIGatewayProxyResult } from 'aws-lambda';
import type { RestHandler } from '../lambda/handlers/rest-handler';
import {
  buildGatewayErrorBody,
  findGatewayResponse,
  gatewayResponseHeaders,
} from '../lib/gateway-responses';
import { buildRestEvent, createLambdaContext } from './rest-event';
import { type SigV4Settings, verifySigV4 } from './sigv4';

export type { RestHandler };

/** Handlers by route; a missing one answers like API Gateway for an unknown route. */
export interface GatewayHandlers {
  /** `POST|DELETE /orgs/{orgId}/token` and `GET /orgs/{orgId}/status` (IAM routes). */
  readonly token?: RestHandler;
  /** `GET /orgs/{orgId}/status`; defaults to {@link GatewayHandlers.token} when absent. */
  readonly status?: RestHandler;
  /** `GET /oauth/authorize` and `GET /oauth/callback` (public routes). */
  readonly oauth?: RestHandler;
}

export interface GatewayOptions {
  readonly handlers: GatewayHandlers;
  /**
   * Check SigV4 on the IAM routes as API Gateway does (local/sigv4.ts); the caller ARN is then the
   * signing key's. `npm start` always sets it.
   */
  readonly sigv4?: SigV4Settings;
  /**
   * Without `sigv4` only: the IAM principal every request on the IAM routes reports as caller,
   * signed or not (for tests that exercise the handlers, not authentication).
   */
  readonly callerArn?: string;
  /** @default 0 (an ephemeral port) */
  readonly port?: number;
  /** Loopback only. @default '127.0.0.1' */
  readonly host?: string;
  /** Lambda timeout given to each invocation's context. @default 10000 */
  readonly timeoutMs?: number;
  /** Larger request bodies get 413, as API Gateway's payload limit does. @default 10 MiB */
  readonly maxBodyBytes?: number;
}

/** API Gateway's REST payload limit, 10 MB. */
export const MAX_BODY_BYTES = 10 * 1024 * 1024;

export interface LocalGateway {
  /** `http://127.0.0.1:PORT`, no trailing slash: the local `PUBLIC_BASE_URL`. */
  readonly url: string;
  readonly server: Server;
  close(): Promise<void>;
}

interface Route {
  readonly method: string;
  readonly resource: string;
  readonly pattern: RegExp;
  readonly iam: boolean;
  readonly handler: (handlers: GatewayHandlers) => RestHandler | undefined;
}

const ROUTE_TABLE: readonly Omit<Route, 'pattern'>[] = [
  { method: 'POST', resource: '/orgs/{orgId}/token', iam: true, handler: (h) => h.token },
  { method: 'DELETE', resource: '/orgs/{orgId}/token', iam: true, handler: (h) => h.token },
  {
    method: 'GET',
    resource: '/orgs/{orgId}/status',
    iam: true,
    handler: (h) => h.status ?? h.token,
  },
  { method: 'GET', resource: '/oauth/authorize', iam: false, handler: (h) => h.oauth },
  { method: 'GET', resource: '/oauth/callback', iam: false, handler: (h) => h.oauth },
];

const ROUTES: readonly Route[] = ROUTE_TABLE.map((route) => ({
  ...route,
  pattern: new RegExp(`^${route.resource.replace(/\{(\w+)\}/g, '(?<$1>[^/]+)')}$`),
}));

const LOOPBACK_HOSTS = new Set(['127.0.0.1', '::1', 'localhost']);

function match(method: string, path: string) {
  for (const route of ROUTES) {
    const found = route.pattern.exec(path);
    if (!found || route.method !== method) continue;
    const pathParameters: Record<string, string> = {};
    for (const [name, value] of Object.entries(found.groups ?? {})) {
      pathParameters[name] = decodeURIComponent(value);
    }
    return { route, pathParameters };
  }
  return undefined;
}

function isDecodable(path: string): boolean {
  try {
    decodeURIComponent(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * A page in any browser tab may point a name it controls at 127.0.0.1 (DNS rebinding) and then
 * call this gateway as same-origin; its requests still carry that name in `Host`, so only the
 * loopback names with this server's port are served.
 */
function isOwnHost(host: string | undefined, port: number): boolean {
  const found = host && /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(host);
  if (!found) return false;
  const name = (found[1] ?? found[2] ?? '').toLowerCase();
  return LOOPBACK_HOSTS.has(name) && Number(found[3]) === port;
}

class BodyTooLarge extends Error {}

/** @throws BodyTooLarge past `maxBytes`, without buffering the rest */
function readBody(request: IncomingMessage, maxBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        request.pause();
        reject(new BodyTooLarge());
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => resolve(Buffer.concat(chunks)));
    request.on('error', reject);
  });
}

function queryOf(url: URL): Record<string, string[]> {
  const query: Record<string, string[]> = {};
  for (const [name, value] of url.searchParams) {
    query[name] = [...(query[name] ?? []), value];
  }
  return query;
}

function headersOf(request: IncomingMessage): Record<string, string[]> {
  const headers: Record<string, string[]> = {};
  for (let i = 0; i < request.rawHeaders.length; i += 2) {
    const name = request.rawHeaders[i] as string;
    headers[name] = [...(headers[name] ?? []), request.rawHeaders[i + 1] as string];
  }
  return headers;
}

/**
 * What API Gateway answers itself, in the body and headers of lib/gateway-responses.ts (the
 * deployed stack's gateway responses).
 */
function writeGatewayError(
  response: ServerResponse,
  statusCode: number,
  type: string,
  message: string,
): void {
  const spec = findGatewayResponse(type, statusCode);
  const body = buildGatewayErrorBody(spec, message, randomUUID());
  response.writeHead(statusCode, {
    'Content-Type': 'application/json',
    ...gatewayResponseHeaders(spec),
  });
  response.end(JSON.stringify(body));
}

function writeResult(response: ServerResponse, result: APIGatewayProxyResult): void {
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(result.headers ?? {})) headers[name] = String(value);
  // API Gateway merges both maps; multi-value entries are appended to single-value ones.
  for (const [name, values] of Object.entries(result.multiValueHeaders ?? {})) {
    const existing = headers[name];
    const merged = values.map(String);
    headers[name] = existing === undefined ? merged : [...[existing].flat(), ...merged];
  }
  response.writeHead(result.statusCode, headers);
  response.end(result.isBase64Encoded ? Buffer.from(result.body, 'base64') : result.body);
}

async function handle(
  options: GatewayOptions,
  request: IncomingMessage,
  response: ServerResponse,
): Promise<void> {
  const port = request.socket.localPort ?? 0;
  if (!isOwnHost(request.headers.host, port)) {
    writeGatewayError(
      response,
      403,
      'ACCESS_DENIED',
      `Host ${JSON.stringify(request.headers.host ?? '')} is not this gateway (127.0.0.1:${port} or localhost:${port})`,
    );
    return;
  }
  const url = new URL(request.url ?? '/', 'http://local');
  if (!isDecodable(url.pathname)) {
    writeGatewayError(response, 400, 'DEFAULT_4XX', 'Malformed percent-encoding in the path');
    return;
  }
  const method = request.method ?? 'GET';
  const found = match(method, url.pathname);
  const handler = found?.route.handler(options.handlers);
  if (!found || !handler) {
    // What API Gateway answers for a method/path with no integration.
    writeGatewayError(
      response,
      403,
      'MISSING_AUTHENTICATION_TOKEN',
      'Missing Authentication Token',
    );
    return;
  }
  const maxBodyBytes = options.maxBodyBytes ?? MAX_BODY_BYTES;
  const tooLarge = () => {
    // The rest of the body is not read: the connection cannot be reused.
    response.setHeader('Connection', 'close');
    writeGatewayError(response, 413, 'REQUEST_TOO_LARGE', 'Request Too Long');
  };
  if (Number(request.headers['content-length'] ?? 0) > maxBodyBytes) {
    tooLarge();
    return;
  }
  let body: Buffer;
  try {
    body = await readBody(request, maxBodyBytes);
  } catch (error) {
    if (!(error instanceof BodyTooLarge)) throw error;
    tooLarge();
    return;
  }
  let callerArn = options.callerArn ?? null;
  if (found.route.iam && options.sigv4) {
    const verdict = await verifySigV4(options.sigv4, {
      method,
      url: request.url ?? '/',
      host: request.headers.host ?? '',
      headers: request.headers,
      body,
    });
    if (!verdict.ok) {
      writeGatewayError(response, 403, verdict.type, verdict.message);
      return;
    }
    callerArn = verdict.key.arn;
  }
  const event = buildRestEvent({
    method,
    path: url.pathname,
    resource: found.route.resource,
    pathParameters: Object.keys(found.pathParameters).length > 0 ? found.pathParameters : null,
    query: queryOf(url),
    headers: headersOf(request),
    body: body.length > 0 ? body.toString('utf8') : null,
    callerArn: found.route.iam ? callerArn : null,
    stage: 'local',
    domainName: request.headers.host,
    sourceIp: request.socket.remoteAddress ?? '127.0.0.1',
  });
  let result: APIGatewayProxyResult;
  try {
    result = await handler(event, createLambdaContext({ timeoutMs: options.timeoutMs }));
  } catch {
    // A handler that throws is what API Gateway reports as a 502 from the integration.
    writeGatewayError(response, 502, 'DEFAULT_5XX', 'Internal server error');
    return;
  }
  writeResult(response, result);
}

/** Starts the gateway on loopback. */
export async function startGateway(options: GatewayOptions): Promise<LocalGateway> {
  const host = options.host ?? '127.0.0.1';
  if (!LOOPBACK_HOSTS.has(host))
    throw new Error(`The local gateway binds to loopback only, not ${host}`);
  if (!options.sigv4 === !options.callerArn)
    throw new Error('The local gateway needs exactly one of sigv4 (verified callers) or callerArn');
  const server = createServer((request, response) => {
    handle(options, request, response).catch(() => {
      if (!response.headersSent) {
        writeGatewayError(response, 500, 'DEFAULT_5XX', 'Internal server error');
      } else response.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    // A taken port must reject (and be reported by the caller), not crash the process.
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  return {
    url,
    server,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
