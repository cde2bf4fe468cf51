/**
 * Port handling of the local stack: a fixed port that is taken is reported by name with the flag
 * and variable that change it, before anything else starts.
 */
import { createServer } from 'node:net';

export class PortInUseError extends Error {
  override readonly name = 'PortInUseError';
}

export interface PortSpec {
  /** What listens there, e.g. `API gateway`. */
  readonly service: string;
  readonly port: number;
  /** How to choose another, e.g. `--port N or TOKEN_BROKER_PORT=N`. */
  readonly hint: string;
}

/** @throws PortInUseError when a fixed (non-zero) port cannot be bound on 127.0.0.1 */
export async function assertPortFree(spec: PortSpec): Promise<void> {
  if (spec.port === 0) return;
  await new Promise<void>((resolve, reject) => {
    const probe = createServer();
    probe.once('error', (error: NodeJS.ErrnoException) => {
      const reason =
        error.code === 'EADDRINUSE' || error.code === 'EACCES'
          ? `port ${spec.port} on 127.0.0.1 is ${error.code === 'EACCES' ? 'not allowed' : 'already in use'}`
          : `port ${spec.port} cannot be used (${error.code ?? error.message})`;
      reject(new PortInUseError(`${spec.service}: ${reason}; choose another with ${spec.hint}`));
    });
    probe.listen(spec.port, '127.0.0.1', () => probe.close(() => resolve()));
  });
}

/** Parses a port number; `0` asks for an ephemeral port. */
export function parsePort(raw: string, what: string): number {
  const port = Number(raw);
  if (!/^\d+$/.test(raw) || port > 65_535) {
    throw new RangeError(`${what} must be a port number from 0 to 65535, got "${raw}"`);
  }
  return port;
}
