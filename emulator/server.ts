/**
 * The emulator's HTTP server: one `node:http` server on loopback. Salesforce hosts are emulated
 * by the path prefix `/hosts/{hostname}`; the control API lives under `/__control/`.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  AUTHORIZE_PATH,
  DECISION_PATH,
  handleAuthorize,
  handleDecision,
  handleLogin,
  LOGIN_PATH,
} from './authorize';
import { EmulatorClient } from './client';
import { handleControlRequest } from './control';
import { faultReply } from './faults';
import { json, type Reply, text } from './http';
import { handleData, handleIdentity, handleRevoke, handleUserinfo } from './resources';
import { EmulatorState } from './state';
import { handleTokenRequest } from './token-endpoint';

export interface EmulatorOptions {
  /** TCP port; 0 picks a free one. @default 0 */
  readonly port?: number;
  /** Interface to listen on; keep it loopback. @default '127.0.0.1' */
  readonly hostname?: string;
}

export interface RunningEmulator {
  /** Origin of the emulator, e.g. `http://127.0.0.1:4010`. */
  readonly url: string;
  /** Typed client of the control API. */
  readonly control: EmulatorClient;
  /** `{url}/hosts/{hostname}`: the `loginUrl` for an emulated Salesforce host. */
  hostUrl(hostname: string): string;
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 1_000_000;

interface EmulatedRequest {
  readonly method: string;
  readonly host: string;
  readonly path: string;
  readonly query: URLSearchParams;
  readonly authorization: string | undefined;
  readonly contentType: string | undefined;
  readonly body: string;
  readonly origin: string;
  readonly remoteAddress: string;
}

/** Routes inside an emulated host. */
function routeHost(state: EmulatorState, request: EmulatedRequest): Reply {
  const { method, path } = request;
  if (path === '/services/oauth2/token') {
    return method === 'POST'
      ? handleTokenRequest(state, request)
      : json(405, { error: 'invalid_request', error_description: 'must use HTTP POST' });
  }
  if (path === AUTHORIZE_PATH && method === 'GET') return handleAuthorize(state, request);
  if (path === LOGIN_PATH && method === 'POST') return handleLogin(state, request);
  if (path === DECISION_PATH && method === 'POST') return handleDecision(state, request);
  if (path === '/services/oauth2/revoke' && (method === 'POST' || method === 'GET'))
    return handleRevoke(state, request);
  if (path === '/services/oauth2/userinfo' && (method === 'GET' || method === 'POST'))
    return handleUserinfo(state, request);
  if (/^\/id\/[^/]+\/[^/]+\/?$/.test(path) && (method === 'GET' || method === 'POST'))
    return handleIdentity(state, request);
  if (/^\/services\/data(\/|$)/.test(path) && method === 'GET') return handleData(state, request);
  return text(404, 'Not Found');
}

async function readBody(request: IncomingMessage): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function send(response: ServerResponse, reply: Reply): void {
  response.writeHead(reply.status, reply.headers);
  response.end(reply.body);
}

async function dispatch(
  state: EmulatorState,
  origin: string,
  request: IncomingMessage,
): Promise<Reply> {
  const url = new URL(request.url ?? '/', origin);
  const method = request.method ?? 'GET';
  const body = await readBody(request);
  if (body === undefined) return text(413, 'Request Entity Too Large');
  if (url.pathname.startsWith('/__control/')) {
    return handleControlRequest(state, {
      method,
      path: url.pathname.slice('/__control'.length),
      query: url.searchParams,
      body,
      origin,
    });
  }
  const match = /^\/hosts\/([^/]+)(\/.*)?$/.exec(url.pathname);
  const host = match?.[1]?.toLowerCase();
  if (!host || !state.isKnownHost(host))
    return text(404, 'Unknown emulated host; see /__control/state for the hosts in use.');
  const path = match?.[2] ?? '/';
  const fault = state.takeFault(host, path);
  if (fault) {
    if (fault.latencyMs > 0) await sleep(fault.latencyMs);
    const reply = faultReply(fault);
    if (reply) return reply;
  }
  return routeHost(state, {
    method,
    host,
    path,
    query: url.searchParams,
    authorization: request.headers.authorization,
    contentType: request.headers['content-type'],
    body,
    origin,
    remoteAddress: request.socket.remoteAddress ?? '',
  });
}

/** Starts an emulator on loopback with an empty world. */
export async function startEmulator(options: EmulatorOptions = {}): Promise<RunningEmulator> {
  const state = new EmulatorState();
  let origin = '';
  const server = createServer((request, response) => {
    dispatch(state, origin, request).then(
      (reply) => send(response, reply),
      (error: unknown) => {
        // An emulator bug, not an emulated Salesforce fault: say so loudly and distinctly.
        process.stderr.write(`salesforce emulator bug: ${(error as Error).stack ?? error}\n`);
        send(response, text(500, 'emulator internal error'));
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.hostname ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { address, port } = server.address() as AddressInfo;
  origin = `http://${address}:${port}`;
  return {
    url: origin,
    control: new EmulatorClient(origin),
    hostUrl: (hostname) => `${origin}/hosts/${hostname}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
