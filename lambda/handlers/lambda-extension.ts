/**
 * The token function's internal Lambda extension: it lets the caller have its answer while the
 * invocation's deferred work (after-response.ts) finishes. Lambda returns the runtime's response at
 * once, but ends the invocation, and gives the environment its next request, only when every
 * registered extension has asked for its next event. This one asks when the invocation's work has
 * settled, or just before the invocation's deadline.
 *
 * It runs in the function's own process (an internal extension, registered during init through the
 * Extensions API at `AWS_LAMBDA_RUNTIME_API`), so it needs no layer. Plain `node:http`: the long
 * poll for the next event may stay open for as long as the environment lives, and must not be cut
 * by a client's idle timeout.
 */
import { request } from 'node:http';
import type { ServiceLogger } from '../core/ports';
import type { AfterResponseQueue } from './after-response';

/** The name the extension registers under; shown in Lambda's INIT_REPORT and extension logs. */
export const EXTENSION_NAME = 'token-broker-after-response';

/** How long before the invocation's deadline the extension stops waiting for deferred work, ms. */
export const EXTENSION_DEADLINE_MARGIN_MS = 250;

/** Pause before asking again after the Extensions API failed to answer, ms. */
const RETRY_PAUSE_MS = 100;

interface ApiAnswer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

function call(
  runtimeApi: string,
  method: 'GET' | 'POST',
  path: string,
  headers: Record<string, string>,
  body?: string,
): Promise<ApiAnswer> {
  return new Promise((resolve, reject) => {
    const req = request(
      `http://${runtimeApi}/2020-01-01/extension/${path}`,
      { method, headers },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** An event from `event/next`, as far as the extension reads it. */
interface ExtensionEvent {
  readonly eventType: 'INVOKE' | 'SHUTDOWN';
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
  let id: string;
  try {
    const answer = await call(
      runtimeApi,
      'POST',
      'register',
      { 'Lambda-Extension-Name': EXTENSION_NAME, 'Content-Type': 'application/json' },
      JSON.stringify({ events: ['INVOKE', 'SHUTDOWN'] }),
    );
    const header = answer.headers['lambda-extension-identifier'];
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
    for (;;) {
      try {
        const answer = await call(runtimeApi as string, 'GET', 'event/next', {
          'Lambda-Extension-Identifier': id,
        });
        if (answer.status === 200) return JSON.parse(answer.body) as ExtensionEvent;
        throw new Error(`event/next answered ${answer.status}`);
      } catch (error) {
        // Giving up would leave every later invocation waiting for this extension until it times out.
        logger.warn('Extensions API did not answer; asking again', {
          error: error instanceof Error ? error.message : String(error),
        });
        await new Promise((resolve) => setTimeout(resolve, RETRY_PAUSE_MS));
      }
    }
  }

  void (async () => {
    for (;;) {
      const event = await nextEvent();
      const byMs = (event.deadlineMs ?? now()) - EXTENSION_DEADLINE_MARGIN_MS;
      if (event.eventType === 'SHUTDOWN') {
        await queue.idle(byMs);
        return;
      }
      if (event.requestId) await queue.settled(event.requestId, byMs);
    }
  })();
  return true;
}
