/**
 * Consumer secrets from AWS Secrets Manager for the client credentials grant: read once, served
 * from memory for a max age. The value is a credential: it goes into the token request's form and
 * nowhere else; errors name the secret id and the failure's kind, never the content.
 */
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { parseConsumerSecret } from '../core/consumer-secret';
import { BrokerError } from '../core/errors';
import type { ConsumerSecretProvider } from '../core/ports';
import type { Clock } from '../core/types';

export interface SecretsManagerConsumerSecretsOptions {
  readonly client: Pick<SecretsManagerClient, 'send'>;
  /** How long a secret is served before it is re-read, ms. @default 300000 */
  readonly maxAgeMs?: number;
  readonly clock?: Clock;
}

/** The SDK's error name (`AccessDeniedException`, ...): its message may quote request details. */
function describeReadFailure(error: unknown): string {
  const name = (error as { name?: unknown }).name;
  return typeof name === 'string' ? name : 'unknown error';
}

/** A {@link ConsumerSecretProvider} reading Secrets Manager through the AWS SDK. */
export function createSecretsManagerConsumerSecrets(
  options: SecretsManagerConsumerSecretsOptions,
): ConsumerSecretProvider {
  const maxAgeMs = options.maxAgeMs ?? 300_000;
  const clock = options.clock ?? Date.now;
  const entries = new Map<string, { readonly value: string; readonly readAt: number }>();
  return {
    async getConsumerSecret(secretId) {
      const cached = entries.get(secretId);
      if (cached && clock() - cached.readAt < maxAgeMs) return cached.value;
      let secretString: string | undefined;
      try {
        // Loaded on first use: the SDK stays off the function's cold-start import path.
        const { GetSecretValueCommand } = await import('@aws-sdk/client-secrets-manager');
        const output = await options.client.send(new GetSecretValueCommand({ SecretId: secretId }));
        secretString = output.SecretString;
      } catch (cause) {
        throw new BrokerError(
          'consumer_secret_unavailable',
          `Consumer secret ${secretId} could not be read (${describeReadFailure(cause)})`,
          { cause },
        );
      }
      const value = parseConsumerSecret(secretId, secretString);
      entries.set(secretId, { value, readAt: clock() });
      return value;
    },
  };
}
