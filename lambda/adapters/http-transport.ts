/**
 * The lean AWS client's default transport: `node:http`/`node:https` with keep-alive agents, in
 * the shape of the `fetch` subset the client uses (status, headers, text). Why not `fetch`: each
 * call through undici builds a Request, a Response and WebStreams for bodies of a few hundred
 * bytes, and the first calls grew the function's memory well past what the SDK's own
 * `node:http` handler did (docs/performance.md). `node:http` is loaded anyway: the Secrets
 * Manager SDK client's handler imports it.
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';

/** What the client reads of an answer: `fetch`'s `Response` has it too. */
export interface TransportResponse {
  readonly status: number;
  readonly headers: Headers;
  text(): Promise<string>;
}

export interface TransportInit {
  readonly method: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  readonly signal: AbortSignal;
}

/** A transport: `fetch` satisfies it, and so does {@link nodeHttpTransport}. */
export type Transport = (url: string, init: TransportInit) => Promise<TransportResponse>;

// One connection pool per process and protocol, kept alive between invocations.
const agents = {
  http: new HttpAgent({ keepAlive: true }),
  https: new HttpsAgent({ keepAlive: true }),
};

function headersOf(message: IncomingMessage): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(message.headers)) {
    if (value === undefined) continue;
    for (const one of Array.isArray(value) ? value : [value]) headers.append(name, one);
  }
  return headers;
}

/**
 * Sends one request and reads the whole answer. A connection failure rejects as `fetch` does (a
 * `TypeError` whose `cause` carries the socket's `code`); an abort rejects with the signal's
 * reason.
 */
export const nodeHttpTransport: Transport = (url, init) =>
  new Promise((resolve, reject) => {
    const secure = url.startsWith('https:');
    const send = secure ? httpsRequest : httpRequest;
    const req = send(
      url,
      {
        method: init.method,
        headers: { ...init.headers, 'content-length': String(Buffer.byteLength(init.body)) },
        agent: secure ? agents.https : agents.http,
        signal: init.signal,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', (error) => reject(new TypeError('fetch failed', { cause: error })));
        res.on('end', () => {
          const body = Buffer.concat(chunks).toString('utf8');
          resolve({
            status: res.statusCode ?? 0,
            headers: headersOf(res),
            text: async () => body,
          });
        });
      },
    );
    req.on('error', (error) => reject(new TypeError('fetch failed', { cause: error })));
    req.end(init.body);
  });
