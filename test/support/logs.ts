/**
 * Captures everything a flow writes to stdout/stderr (Powertools Logger and EMF metrics write
 * there), so tests can assert on structured log lines and scan them for secrets.
 */
export interface CapturedOutput {
  /** Raw text written since capture started. */
  text(): string;
  /** Lines that parse as JSON objects (log entries and EMF blobs). */
  entries(): Record<string, unknown>[];
  stop(): void;
}

export function captureOutput(options: { passThrough?: boolean } = {}): CapturedOutput {
  const chunks: string[] = [];
  const originals = { out: process.stdout.write, err: process.stderr.write };
  const intercept = (original: typeof process.stdout.write) =>
    function write(this: NodeJS.WriteStream, chunk: unknown, ...rest: unknown[]) {
      chunks.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString());
      if (options.passThrough)
        return (original as (...args: unknown[]) => boolean).call(this, chunk, ...rest);
      const callback = rest.find((arg) => typeof arg === 'function') as (() => void) | undefined;
      callback?.();
      return true;
    } as typeof process.stdout.write;
  process.stdout.write = intercept(originals.out);
  process.stderr.write = intercept(originals.err);
  return {
    text: () => chunks.join(''),
    entries: () =>
      chunks
        .join('')
        .split('\n')
        .flatMap((line) => {
          const trimmed = line.trim();
          if (!trimmed.startsWith('{')) return [];
          try {
            return [JSON.parse(trimmed) as Record<string, unknown>];
          } catch {
            return [];
          }
        }),
    stop() {
      process.stdout.write = originals.out;
      process.stderr.write = originals.err;
    },
  };
}

/** Patterns that must never appear in logs, events, error bodies or URLs. */
const SECRET_PATTERNS: readonly RegExp[] = [
  /-----BEGIN [A-Z ]*PRIVATE KEY-----/,
  // A signed JWT (the assertion) or any compact JWS.
  /eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{16,}/,
];

/**
 * Every place in `text` where a known secret value or a secret-shaped string occurs.
 * @param known exact secret values produced during the flow (tokens, codes, client secrets)
 */
export function findSecrets(text: string, known: readonly string[] = []): string[] {
  const found: string[] = [];
  for (const pattern of SECRET_PATTERNS) {
    const match = pattern.exec(text);
    if (match) found.push(`pattern ${pattern.source}: ${match[0].slice(0, 24)}...`);
  }
  for (const secret of known) {
    if (secret.length >= 8 && text.includes(secret))
      found.push(`known secret ${secret.slice(0, 6)}...`);
  }
  return found;
}
