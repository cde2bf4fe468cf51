/**
 * The local API gateway: a node:http server on loopback that turns each request into the API
 * Gateway REST proxy event the deployed API would send (`buildRestEvent`), invokes the handler
 * for the matching resource template, and writes the proxy result back. Handlers are parameters,
 * so tests and `npm start` inject their own composition of the same function code.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { buildRestEvent, createLambdaContext } from './rest-event';

export type RestHandler = (
  event: APIGatewayProxyEvent,
  context: Context,
) => Promise<APIGatewayProxyResult>;

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
  /** The IAM principal the IAM routes report as caller (SigV4 is not checked locally). */
  readonly callerArn: string;
  /** @default 0 (an ephemeral port) */
  readonly port?: number;
  /** Loopback only. @default '127.0.0.1' */
  readonly host?: string;
  /** Lambda timeout given to each invocation's context. @default 10000 */
  readonly timeoutMs?: number;
}

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

function readBody(request: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
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

function writeJson(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'Content-Type': 'application/json' });
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
  const url = new URL(request.url ?? '/', 'http://local');
  const method = request.method ?? 'GET';
  const found = match(method, url.pathname);
  const handler = found?.route.handler(options.handlers);
  if (!found || !handler) {
    // What API Gateway answers for a method/path with no integration.
    writeJson(response, 403, { message: 'Missing Authentication Token' });
    return;
  }
  const body = await readBody(request);
  const event = buildRestEvent({
    method,
    path: url.pathname,
    resource: found.route.resource,
    pathParameters: Object.keys(found.pathParameters).length > 0 ? found.pathParameters : null,
    query: queryOf(url),
    headers: headersOf(request),
    body: body.length > 0 ? body.toString('utf8') : null,
    callerArn: found.route.iam ? options.callerArn : null,
    stage: 'local',
    domainName: request.headers.host ?? '127.0.0.1',
    sourceIp: request.socket.remoteAddress ?? '127.0.0.1',
  });
  let result: APIGatewayProxyResult;
  try {
    result = await handler(event, createLambdaContext({ timeoutMs: options.timeoutMs }));
  } catch {
    // A handler that throws is what API Gateway reports as a 502 from the integration.
    writeJson(response, 502, { message: 'Internal server error' });
    return;
  }
  writeResult(response, result);
}

/** Starts the gateway on loopback. */
export async function startGateway(options: GatewayOptions): Promise<LocalGateway> {
  const host = options.host ?? '127.0.0.1';
  if (!LOOPBACK_HOSTS.has(host))
    throw new Error(`The local gateway binds to loopback only, not ${host}`);
  const server = createServer((request, response) => {
    handle(options, request, response).catch(() => {
      if (!response.headersSent) writeJson(response, 500, { message: 'Internal server error' });
      else response.destroy();
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
