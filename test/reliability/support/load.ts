/**
 * A loopback load generator: runs a bounded number of HTTP requests (and never longer than a
 * bounded duration) with a fixed number in flight over keep-alive connections, and reports what
 * came back and how long each took. Latencies are reported, never asserted on.
 */
import { Agent, request as httpRequest } from 'node:http';
import { type LatencySummary, summarizeLatency } from './figures';

export interface LoadRequest {
  readonly method: string;
  /** Absolute loopback URL. */
  readonly url: string;
  readonly body?: string;
}

export interface LoadResult {
  readonly sent: number;
  /** Count per HTTP status (0: a connection error). */
  readonly statuses: Record<number, number>;
  readonly latency: LatencySummary;
  /** Bodies of the answers that were not 2xx (the first few). */
  readonly failures: string[];
  readonly elapsedMs: number;
  /** Bodies of 2xx answers, when asked for. */
  readonly bodies: string[];
}

export interface LoadOptions {
  readonly count: number;
  readonly concurrency: number;
  /** Stop starting new requests after this long, ms. */
  readonly maxDurationMs: number;
  /** Keep the 2xx bodies (to check what was served). @default false */
  readonly keepBodies?: boolean;
}

function send(agent: Agent, request: LoadRequest): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    const outgoing = httpRequest(
      request.url,
      {
        agent,
        method: request.method,
        headers: request.body ? { 'content-type': 'application/json' } : {},
      },
      (incoming) => {
        const chunks: Buffer[] = [];
        incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
        incoming.on('end', () =>
          resolve({ status: incoming.statusCode ?? 0, body: Buffer.concat(chunks).toString() }),
        );
      },
    );
    outgoing.on('error', (error) => resolve({ status: 0, body: error.message }));
    outgoing.end(request.body);
  });
}

/** Runs `next(i)` for i = 0..count-1 with `concurrency` requests in flight. */
export async function runLoad(
  next: (index: number) => LoadRequest,
  options: LoadOptions,
): Promise<LoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: options.concurrency });
  const statuses: Record<number, number> = {};
  const samples: number[] = [];
  const failures: string[] = [];
  const bodies: string[] = [];
  const started = performance.now();
  const stopAt = started + options.maxDurationMs;
  let issued = 0;
  async function worker(): Promise<void> {
    while (issued < options.count && performance.now() < stopAt) {
      const index = issued++;
      const begin = performance.now();
      const { status, body } = await send(agent, next(index));
      samples.push(performance.now() - begin);
      statuses[status] = (statuses[status] ?? 0) + 1;
      if (status < 200 || status >= 300) {
        if (failures.length < 5) failures.push(`${status} ${body.slice(0, 200)}`);
      } else if (options.keepBodies) bodies.push(body);
    }
  }
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  agent.destroy();
  return {
    sent: issued,
    statuses,
    latency: summarizeLatency(samples),
    failures,
    elapsedMs: performance.now() - started,
    bodies,
  };
}
