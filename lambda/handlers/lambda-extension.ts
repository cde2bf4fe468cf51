/**
 * The token function's internal Lambda extension: it lets the caller have its answer while the
 * invocation's deferred work (after-response.ts) finishes. Lambda returns the runtime's response at
 * once, but ends the invocation, and gives the environment its next request, only when every
 * registered extension has asked for its next event. This one asks when the invocation's work has
 * settled, or just before the invocation's deadline.
 *
 * It runs in the function's own process (an internal extension, registered during init through the
 * Extensions API at `AWS_LAMBDA_RUNTIME_API`), so it needs no layer.
 */
import { connect, type Socket } from 'node:net';
import type { ServiceLogger } from '../core/ports';
import type { AfterResponseQueue } from './after-response';

/** The name the extension registers under; shown in Lambda's INIT_REPORT and extension logs. */
export const EXTENSION_NAME = 'token-broker-after-response';

/** How long before the invocation's deadline the extension stops waiting for deferred work, ms. */
export const EXTENSION_DEADLINE_MARGIN_MS = 250;

/** Pause before asking again after the Extensions API failed to answer, ms; doubled up to a second. */
const RETRY_PAUSE_MS = 100;
const MAX_RETRY_PAUSE_MS = 1000;

interface ApiAnswer {
  readonly status: number;
  readonly headers: ReadonlyMap<string, string>;
  readonly body: string;
}

/**
 * One HTTP/1.1 response at the start of `data` (Content-Length or chunked body), with the bytes it
 * took; `undefined` while it is incomplete.
 */
export function parseHttpResponse(
  data: Buffer,
): (ApiAnswer & { readonly size: number }) | undefined {
  const headEnd = data.indexOf('\r\n\r\n');
  if (headEnd < 0) return undefined;
  const [statusLine = '', ...lines] = data.subarray(0, headEnd).toString('latin1').split('\r\n');
  const status = Number(statusLine.split(' ')[1]);
  const headers = new Map<string, string>();
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon > 0)
      headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  let offset = headEnd + 4;
  if (!/chunked/i.test(headers.get('transfer-encoding') ?? '')) {
    const end = offset + Number(headers.get('content-length') ?? 0);
    if (data.length < end) return undefined;
    return { status, headers, body: data.subarray(offset, end).toString('utf8'), size: end };
  }
  const chunks: Buffer[] = [];
  for (;;) {
    const lineEnd = data.indexOf('\r\n', offset);
    if (lineEnd < 0) return undefined;
    const size = Number.parseInt(data.subarray(offset, lineEnd).toString('latin1'), 16);
    if (!Number.isFinite(size)) throw new Error('malformed chunked answer');
    if (size === 0) {
      // The last chunk, then (no trailers are sent by the API) the empty line.
      const end = data.indexOf('\r\n\r\n', lineEnd);
      if (end < 0) return undefined;
      return { status, headers, body: Buffer.concat(chunks).toString('utf8'), size: end + 4 };
    }
    if (data.length < lineEnd + 2 + size + 2) return undefined;
    chunks.push(data.subarray(lineEnd + 2, lineEnd + 2 + size));
    offset = lineEnd + 2 + size + 2;
  }
}

/**
 * The extension's one keep-alive connection to the Extensions API. Each call writes a request and
 * reads its answer; with `hold`, the answer is left unread (the socket paused, the bytes in the
 * kernel's buffer) until `hold` resolves. The INVOKE event arrives while the handler serves that
 * very invocation: parsing it then would add to the caller's wait, so it is read once the handler
 * has finished. Plain `node:net`: the long poll for the next event may stay open for as long as
 * the environment lives, and no client timeout or pool may cut it or resume its reads.
 */
function createApiConnection(runtimeApi: string) {
  const [host = '127.0.0.1', port = '80'] = runtimeApi.split(':');
  let socket: Socket | undefined;

  return function call(
    method: 'GET' | 'POST',
    path: string,
    headers: Record<string, string>,
    options: { readonly body?: string; readonly hold?: () => Promise<unknown> } = {},
  ): Promise<ApiAnswer> {
    return new Promise((resolve, reject) => {
      const current = socket && !socket.destroyed ? socket : connect(Number(port), host);
      socket = current;
      let received = Buffer.alloc(0);
      const done = (error?: Error, answer?: ApiAnswer) => {
        current.off('data', onData);
        current.off('error', onError);
        current.off('close', onClose);
        if (error) {
          current.destroy();
          reject(error);
        } else if (answer) resolve(answer);
      };
      const onData = (chunk: Buffer) => {
        received = Buffer.concat([received, chunk]);
        let answer: ReturnType<typeof parseHttpResponse>;
        try {
          answer = parseHttpResponse(received);
        } catch (error) {
          done(error as Error);
          return;
        }
        if (!answer) return;
        if (/close/i.test(answer.headers.get('connection') ?? '')) current.end();
        done(undefined, answer);
      };
      const onError = (error: Error) => done(error);
      const onClose = () => done(new Error('the Extensions API closed the connection'));
      current.on('error', onError);
      current.on('close', onClose);
      const body = options.body ?? '';
      const head = [
        `${method} /2020-01-01/extension/${path} HTTP/1.1`,
        `Host: ${runtimeApi}`,
        ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
        ...(method === 'POST' ? [`Content-Length: ${Buffer.byteLength(body)}`] : []),
      ];
      current.write(`${head.join('\r\n')}\r\n\r\n${body}`);
      if (options.hold) {
        current.pause();
        void options.hold().then(() => {
          current.on('data', onData);
          current.resume();
        });
      } else {
        current.on('data', onData);
      }
    });
  };
}

/** An event from `event/next`, as far as the extension reads it. */
interface ExtensionEvent {
  readonly eventType: 'INVOKE';
  readonly requestId?: string;
  readonly deadlineMs?: number;
}

export interface AfterResponseExtensionOptions {
  /** `AWS_LAMBDA_RUNTIME_API` (host:port); without it there is no extension. */
  readonly runtimeApi: string | undefined;
  readonly queue: AfterResponseQueue;
  readonly logger: ServiceLogger;
  /** @default Date.now */
  readonly now?: () => number;
}

/**
 * Registers the extension and starts its event loop.
 * @returns whether work may be deferred: false without a Runtime API, or when registering failed
 *   (logged; the function then awaits its bookkeeping before answering, as it does locally)
 */
export async function startAfterResponseExtension(
  options: AfterResponseExtensionOptions,
): Promise<boolean> {
  const { runtimeApi, queue, logger } = options;
  const now = options.now ?? Date.now;
  if (!runtimeApi) return false;
  const call = createApiConnection(runtimeApi);
  let id: string;
  try {
    const answer = await call(
      'POST',
      'register',
      { 'Lambda-Extension-Name': EXTENSION_NAME, 'Content-Type': 'application/json' },
      // No SHUTDOWN: nothing is pending between invocations, each ends when its work has settled.
      { body: JSON.stringify({ events: ['INVOKE'] }) },
    );
    const header = answer.headers.get('lambda-extension-identifier');
    if (answer.status !== 200 || typeof header !== 'string') {
      throw new Error(`register answered ${answer.status}`);
    }
    id = header;
  } catch (error) {
    logger.warn('After-response extension not registered; bookkeeping runs before the answer', {
      error: error instanceof Error ? error.message : String(error),
    });
    return false;
  }

  async function nextEvent(): Promise<ExtensionEvent> {
    // One finished invocation per event: a retry waits for the same one, not for the next, or
    // every later INVOKE would be read one invocation late (and that invocation never end).
    const finished = queue.nextFinished();
    for (let failures = 0; ; failures += 1) {
      try {
        const answer = await call(
          'GET',
          'event/next',
          { 'Lambda-Extension-Identifier': id },
          // Read once the handler has finished the invocation this event announces.
          { hold: () => finished },
        );
        if (answer.status === 200) return JSON.parse(answer.body) as ExtensionEvent;
        throw new Error(`event/next answered ${answer.status}`);
      } catch (error) {
        // Giving up would leave every later invocation waiting for this extension until it times
        // out. Logged once per outage; the pause does not keep a finished process alive.
        if (failures === 0) {
          logger.warn('Extensions API did not answer; asking again', {
            error: error instanceof Error ? error.message : String(error),
          });
        }
        const pauseMs = Math.min(MAX_RETRY_PAUSE_MS, RETRY_PAUSE_MS * 2 ** failures);
        await new Promise((resolve) => setTimeout(resolve, pauseMs).unref());
      }
    }
  }

  void (async () => {
    for (;;) {
      const event = await nextEvent();
      const byMs = (event.deadlineMs ?? now()) - EXTENSION_DEADLINE_MARGIN_MS;
      if (event.requestId) await queue.settled(event.requestId, byMs);
    }
  })();
  return true;
}
