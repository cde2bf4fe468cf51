/**
 * A small HTTP proxy in front of a local AWS endpoint (dynalite, the local SNS) that injects
 * faults on the wire: resetting the connection (the endpoint is down), never answering, or
 * answering with the service's own error response (DynamoDB's
 * `ProvisionedThroughputExceededException`, SNS's `InternalError`, ...). A fault can be limited to
 * one operation, to requests whose body mentions a string (an org id, so concurrent or leftover
 * work of other tests is not hit) and to a number of requests. Everything else is forwarded.
 */
import { createServer, request as httpRequest, type IncomingMessage } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface ErrorAnswer {
  readonly status: number;
  readonly contentType: string;
  readonly body: string;
}

export interface WireFault {
  readonly kind: 'reset' | 'hang' | ErrorAnswer;
  /** Only this operation: `GetItem` (x-amz-target) or `Publish` (Query `Action`). */
  readonly operation?: string;
  /** Only requests whose body contains this text. */
  readonly mentioning?: string;
  /** Only the next N matching requests. @default until cleared */
  readonly count?: number;
}

export interface FaultProxy {
  readonly endpoint: string;
  inject(fault: WireFault): void;
  clear(): void;
  /** Requests that got a fault instead of an answer, per operation. */
  readonly faulted: Record<string, number>;
  close(): Promise<void>;
}

/** DynamoDB's throttling answer (awsJson1_0). */
export const DYNAMO_THROTTLED: ErrorAnswer = {
  status: 400,
  contentType: 'application/x-amz-json-1.0',
  body: JSON.stringify({
    __type: 'com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException',
    message:
      'The level of configured provisioned throughput for the table was exceeded. Consider increasing your provisioning level with the UpdateTable API.',
  }),
};

/** An SNS Query-protocol error answer. */
export function snsError(code: string, status: number, message: string): ErrorAnswer {
  const type = status >= 500 ? 'Receiver' : 'Sender';
  return {
    status,
    contentType: 'text/xml',
    body:
      `<?xml version="1.0"?>\n<ErrorResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/">` +
      `<Error><Type>${type}</Type><Code>${code}</Code><Message>${message}</Message></Error>` +
      '<RequestId>00000000-0000-0000-0000-000000000000</RequestId></ErrorResponse>',
  };
}

async function readBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function operationOf(request: IncomingMessage, body: string): string {
  const target = request.headers['x-amz-target'];
  if (typeof target === 'string') return target.split('.').at(-1) ?? '';
  return new URLSearchParams(body).get('Action') ?? '';
}

export async function startFaultProxy(target: string): Promise<FaultProxy> {
  const upstream = new URL(target);
  let faults: { fault: WireFault; left: number }[] = [];
  const faulted: Record<string, number> = {};
  const sockets = new Set<Socket>();

  function take(operation: string, body: string): WireFault | undefined {
    const entry = faults.find(
      ({ fault }) =>
        (!fault.operation || fault.operation === operation) &&
        (!fault.mentioning || body.includes(fault.mentioning)),
    );
    if (!entry) return undefined;
    entry.left -= 1;
    if (entry.left <= 0) faults = faults.filter((f) => f !== entry);
    return entry.fault;
  }

  const server = createServer(async (request, response) => {
    const body = await readBody(request);
    const text = body.toString('utf8');
    const operation = operationOf(request, text);
    const fault = take(operation, text);
    if (fault) {
      faulted[operation] = (faulted[operation] ?? 0) + 1;
      if (fault.kind === 'reset') request.socket.destroy();
      else if (fault.kind !== 'hang') {
        response.writeHead(fault.kind.status, {
          'content-type': fault.kind.contentType,
          'x-amzn-requestid': 'FAULT00000000000000000000000000000000000000000000000',
        });
        response.end(fault.kind.body);
      }
      return;
    }
    const forwarded = httpRequest(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: request.method,
        path: request.url,
        headers: request.headers,
      },
      (answer) => {
        response.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(response);
      },
    );
    forwarded.on('error', () => request.socket.destroy());
    forwarded.end(body);
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    inject(fault) {
      faults.push({ fault, left: fault.count ?? Number.POSITIVE_INFINITY });
    },
    clear() {
      faults = [];
    },
    faulted,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
