/**
 * Consumer secrets from AWS Secrets Manager for the client credentials grant: read once, served
 * from memory for a max age. The value is a credential: it goes into the token request's form and
 * nowhere else; errors name the secret id and the failure's kind, never the content.
 */
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { BrokerError } from '../core/errors';
import type { ConsumerSecretProvider } from '../core/ports';
import type { Clock } from '../core/types';
import { createConsumerSecretReader } from './salesforce-oauth-client';

export interface SecretsManagerConsumerSecretsOptions {
  readonly client: SecretsManagerClient;
  /** How long a secret is served before it is re-read, ms. @default 300000 */
  readonly maxAgeMs?: number;
  readonly clock?: Clock;
}

/** The SDK's error name (`AccessDeniedException`, ...) or the reader's own shape message. */
function describeReadFailure(error: unknown): string {
  const { name, message } = error as { name?: unknown; message?: unknown };
  if (typeof name === 'string' && name !== 'Error') return name;
  return typeof message === 'string' ? message : 'unknown error';
}

/** A {@link ConsumerSecretProvider} reading Secrets Manager through the AWS SDK. */
export function createSecretsManagerConsumerSecrets(
  options: SecretsManagerConsumerSecretsOptions,
): ConsumerSecretProvider {
  const read = createConsumerSecretReader(options.client);
  const maxAgeMs = options.maxAgeMs ?? 300_000;
  const clock = options.clock ?? Date.now;
  const entries = new Map<string, { readonly value: string; readonly readAt: number }>();
  return {
    async getConsumerSecret(secretId) {
      const cached = entries.get(secretId);
      if (cached && clock() - cached.readAt < maxAgeMs) return cached.value;
      let value: string;
      try {
        value = await read(secretId);
      } catch (cause) {
        throw new BrokerError(
          'consumer_secret_unavailable',
          `Consumer secret ${secretId} could not be read (${describeReadFailure(cause)})`,
          { cause },
        );
      }
      entries.set(secretId, { value, readAt: clock() });
      return value;
    },
  };
}
