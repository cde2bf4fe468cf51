/**
 * Reading the function's environment, once, at cold start. A missing or malformed variable is a
 * startup error naming the variable, never a per-request failure.
 */
import { isLoopbackHost } from '../core/org-record';
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

type Env = Readonly<Record<string, string | undefined>>;

/**
 * `SALESFORCE_TIMEOUT_MS` bounds for both functions; the same as `salesforceTimeout` in
 * lib/resolve-config.ts (retries must fit in API Gateway's 29 s).
 */
export const SALESFORCE_TIMEOUT_BOUNDS = { min: 1000, max: 6000 } as const;

export function readString(env: Env, key: string, defaultValue?: string): string {
  const value = env[key]?.trim();
  if (value) return value;
  if (defaultValue !== undefined) return defaultValue;
  throw new ConfigError(`Environment variable ${key} is required`);
}

export function readInteger(
  env: Env,
  key: string,
  defaultValue: number,
  bounds: { min: number; max: number },
): number {
  const raw = env[key]?.trim();
  if (!raw) return defaultValue;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < bounds.min || value > bounds.max) {
    throw new ConfigError(
      `Environment variable ${key} must be an integer from ${bounds.min} to ${bounds.max}, got "${raw}"`,
    );
  }
  return value;
}

/** An absolute http(s) URL without a trailing slash (http only for loopback hosts). */
export function readBaseUrl(env: Env, key: string): string {
  const raw = readString(env, key);
  let url: URL;
  try {
    url = new URL(raw);
  } catch (cause) {
    throw new ConfigError(`Environment variable ${key} must be an absolute URL, got "${raw}"`, {
      cause,
    });
  }
  const loopback = isLoopbackHost(url.hostname);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) {
    throw new ConfigError(`Environment variable ${key} must use https (http only on loopback)`);
  }
  if (url.search || url.hash) {
    throw new ConfigError(`Environment variable ${key} must not have a query or fragment`);
  }
  return raw.replace(/\/+$/, '');
}
