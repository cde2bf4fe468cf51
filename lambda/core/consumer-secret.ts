/**
 * The consumer secret format (docs/contracts.md#org-record, `consumerSecretId`): the bare secret,
 * or JSON with a `consumerSecret` (or `clientSecret`) field. Parsing only; error messages
 * describe the shape, never the content.
 */
import { BrokerError } from './errors';

/** @throws BrokerError `consumer_secret_unavailable` naming what is wrong with the shape. */
export function parseConsumerSecret(secretId: string, secretString: string | undefined): string {
  const fail = (reason: string): never => {
    throw new BrokerError('consumer_secret_unavailable', `Secret ${secretId} ${reason}`);
  };
  const raw = secretString?.trim();
  if (!raw) return fail('has no SecretString');
  if (!raw.startsWith('{')) return raw;
  let parsed: Record<string, unknown> | null;
  try {
    parsed = JSON.parse(raw) as Record<string, unknown> | null;
  } catch {
    // JSON.parse's message quotes the text around the fault, i.e. the secret: describe only the shape.
    return fail(
      'starts with "{" but is not valid JSON; store the bare secret or {"consumerSecret": "..."}',
    );
  }
  const value = parsed?.consumerSecret ?? parsed?.clientSecret;
  if (typeof value !== 'string' || value === '') return fail('has no consumerSecret field');
  return value;
}
