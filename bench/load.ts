/**
 * A loopback HTTP load generator: `connections` keep-alive connections each sending requests
 * back to back, until `maxRequests` were sent or `maxSeconds` elapsed, whichever comes first.
 */
import { Agent, request } from 'node:http';

export interface LoadOptions {
  readonly url: string;
  readonly method: string;
  readonly connections: number;
  readonly maxRequests: number;
  readonly maxSeconds: number;
}

export interface LoadResult {
  readonly requests: number;
  readonly seconds: number;
  readonly perSecond: number;
  /** Per-request latencies seen by the client, ms. */
  readonly latencies: readonly number[];
}

function send(agent: Agent, url: URL, method: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const outgoing = request(url, { method, agent }, (response) => {
      response.resume();
      response.once('end', () => resolve(response.statusCode ?? 0));
    });
    outgoing.once('error', reject);
    outgoing.end();
  });
}

export async function generateLoad(options: LoadOptions): Promise<LoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: options.connections });
  const url = new URL(options.url);
  const latencies: number[] = [];
  const started = performance.now();
  const stopAt = started + options.maxSeconds * 1000;
  let sent = 0;
  async function worker(): Promise<void> {
    while (sent < options.maxRequests && performance.now() < stopAt) {
      sent += 1;
      const begin = performance.now();
      const status = await send(agent, url, options.method);
      latencies.push(performance.now() - begin);
      if (status !== 200) throw new Error(`gateway answered ${status}`);
    }
  }
  try {
    await Promise.all(Array.from({ length: options.connections }, worker));
  } finally {
    agent.destroy();
  }
  const seconds = (performance.now() - started) / 1000;
  return { requests: latencies.length, seconds, perSecond: latencies.length / seconds, latencies };
}
