/**
 * Salesforce endpoints that misbehave below HTTP, built on raw sockets: a port nobody listens on
 * (connection refused), a server that resets every connection, and one that sends a response
 * head promising more body than it delivers before hanging up (a truncated body).
 */
import { createServer, type Server, type Socket } from 'node:net';

export interface RawServer {
  /** `http://127.0.0.1:PORT/hosts/login.salesforce.com`: usable as an org's loginUrl. */
  readonly loginUrl: string;
  /** Connections accepted. */
  connections(): number;
  close(): Promise<void>;
}

function loginUrlOf(port: number): string {
  return `http://127.0.0.1:${port}/hosts/login.salesforce.com`;
}

async function listen(onConnection: (socket: Socket) => void): Promise<RawServer> {
  let count = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    count += 1;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    onConnection(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    loginUrl: loginUrlOf(port),
    connections: () => count,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A loginUrl on a loopback port that was just released: every connection is refused. */
export async function refusedLoginUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return loginUrlOf(port);
}

/** Resets (TCP RST) each connection as soon as the request starts arriving. */
export function startResettingServer(): Promise<RawServer> {
  return listen((socket) => {
    socket.once('data', () => socket.resetAndDestroy());
  });
}

/** Answers 200 with a Content-Length larger than the body it sends, then closes. */
export function startTruncatingServer(): Promise<RawServer> {
  return listen((socket) => {
    socket.once('data', () => {
      const partial = '{"access_token":"00Dxx0000001gPL!AQ0AQH0dMHZfz972Sz';
      socket.end(
        'HTTP/1.1 200 OK\r\ncontent-type: application/json;charset=UTF-8\r\n' +
          `content-length: ${partial.length + 200}\r\nconnection: close\r\n\r\n${partial}`,
      );
    });
  });
}
