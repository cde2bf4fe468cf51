/** Validation of control-API JSON bodies: each reader throws `ControlError` with a plain message. */

export class ControlError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export type Input = Record<string, unknown>;

export function parseInput(body: string): Input {
  if (body.trim() === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    throw new ControlError(400, 'body must be JSON');
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw new ControlError(400, 'body must be a JSON object');
  return value as Input;
}

export function optionalString(input: Input, key: string): string | undefined {
  const value = input[key];
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value === '')
    throw new ControlError(400, `${key} must be a non-empty string`);
  return value;
}

export function requiredString(input: Input, key: string): string {
  const value = optionalString(input, key);
  if (value === undefined) throw new ControlError(400, `${key} is required`);
  return value;
}

export function optionalBoolean(input: Input, key: string): boolean | undefined {
  const value = input[key];
  if (value === undefined) return undefined;
  if (typeof value !== 'boolean') throw new ControlError(400, `${key} must be a boolean`);
  return value;
}

export function optionalInteger(
  input: Input,
  key: string,
  range: { min: number; max: number },
): number | undefined {
  const value = input[key];
  if (value === undefined) return undefined;
  if (
    typeof value !== 'number' ||
    !Number.isInteger(value) ||
    value < range.min ||
    value > range.max
  )
    throw new ControlError(400, `${key} must be an integer from ${range.min} to ${range.max}`);
  return value;
}

export function optionalStrings(input: Input, key: string): string[] | undefined {
  const value = input[key];
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'string' && item !== ''))
    throw new ControlError(400, `${key} must be an array of non-empty strings`);
  return value as string[];
}

export function optionalChoice<T extends string>(
  input: Input,
  key: string,
  choices: readonly T[],
): T | undefined {
  const value = input[key];
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !(choices as readonly string[]).includes(value))
    throw new ControlError(400, `${key} must be one of ${choices.join(', ')}`);
  return value as T;
}

const HOSTNAME = /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$/;

export function checkHostname(key: string, host: string): string {
  if (!HOSTNAME.test(host)) throw new ControlError(400, `${key} must be a lowercase hostname`);
  return host;
}
