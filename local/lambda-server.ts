/**
 * A local endpoint speaking Lambda's Invoke REST API (`POST /2015-03-31/functions/{name}/invocations`,
 * RequestResponse), so the OAuth function's Lambda client (aws-request.ts) reaches the token
 * function as it does in AWS. A handler that throws answers the way Lambda does: 200 with
 * `X-Amz-Function-Error: Unhandled`. Loopback only.
 */
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Context } from 'aws-lambda';
import { createLambdaContext } from './rest-event';

export type InvokedHandler = (event: unknown, context: Context) => Promise<unknown>;

export interface LocalLambda {
  /** `http://127.0.0.1:{port}` */
  readonly endpoint: string;
  /** Invocations received, per function name. */
  invocations(functionName: string): number;
  close(): Promise<void>;
}

const INVOKE_PATH = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/;

/** @param functions handlers by function name, each given a context with `timeoutMs` to run */
export async function startLambdaServer(
  functions: Readonly<Record<string, { handler: InvokedHandler; timeoutMs: number }>>,
): Promise<LocalLambda> {
  const counts = new Map<string, number>();
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', async () => {
      const name = decodeURIComponent(INVOKE_PATH.exec(request.url ?? '')?.[1] ?? '');
      const fn = functions[name];
      const headers = { 'content-type': 'application/json', 'x-amzn-requestid': randomUUID() };
      if (request.method !== 'POST' || !fn) {
        response.writeHead(404, { ...headers, 'x-amzn-errortype': 'ResourceNotFoundException' });
        response.end(JSON.stringify({ Type: 'User', message: `Function not found: ${name}` }));
        return;
      }
      counts.set(name, (counts.get(name) ?? 0) + 1);
      try {
        const event: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8') || 'null');
        const result = await fn.handler(
          event,
          createLambdaContext({ functionName: name, timeoutMs: fn.timeoutMs }),
        );
        response.writeHead(200, { ...headers, 'x-amz-executed-version': '$LATEST' });
        response.end(JSON.stringify(result ?? null));
      } catch (error) {
        response.writeHead(200, { ...headers, 'x-amz-function-error': 'Unhandled' });
        response.end(JSON.stringify({ errorType: (error as Error).name, errorMessage: 'failed' }));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    invocations: (name) => counts.get(name) ?? 0,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
