/**
 * Checks shared by the reliability suites: a failure answer is the documented one (status,
 * category, Retry-After, body per docs/openapi.yaml) and carries nothing internal; an org's event
 * trail is complete.
 */
import { expect } from 'vitest';
import { CATEGORY_TRAITS, type Category } from '../../../lambda/core/categories';
import type { Invocation, Stack } from './stack';

/** What must never reach a caller: stack frames, SDK internals, file paths, endpoints. */
export const INTERNAL_DETAIL =
  /\n\s+at |\bat [\w.<>]+ \(|node:internal|\/lambda\/|\.ts:\d+|__type|\$metadata|TypeError|ReferenceError|SyntaxError|arn:aws:dynamodb|AWS_[A-Z]/;

export function expectFailure(
  response: Invocation,
  category: Category | 'internal_error',
  options: { retryAfter?: string; status?: number } = {},
): void {
  const status =
    options.status ?? (category === 'internal_error' ? 500 : CATEGORY_TRAITS[category].httpStatus);
  expect({ status: response.statusCode, error: response.json.error }).toEqual({
    status,
    error: category,
  });
  expect(response.contractProblems).toEqual([]);
  if (status === 503) {
    expect(response.headers?.['Retry-After']).toMatch(/^\d+$/);
    if (options.retryAfter) expect(response.headers?.['Retry-After']).toBe(options.retryAfter);
  }
  expect(response.body).not.toMatch(INTERNAL_DETAIL);
}

/**
 * The event types published for `orgId`, in order, with their category. Deduplicated on `id`, as
 * docs/events.md tells subscribers to do: an SNS attempt that times out after SNS accepted the
 * message is retried, so a slow machine sees the same event twice.
 */
export function eventTrail(stack: Stack, orgId: string): string[] {
  const seen = new Set<string>();
  return stack
    .events()
    .filter((event) => event.subject === `orgs/${orgId}`)
    .filter((event) => !seen.has(event.id) && Boolean(seen.add(event.id)))
    .map((event) => `${event.type.replace('token_broker.', '')}:${String(event.data.category)}`);
}
