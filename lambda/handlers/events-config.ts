/**
 * Where a function's events go and how incidents are paced, read once at cold start. Both
 * functions read the same variables, so both publish identical envelopes.
 */
import { readInteger, readString } from './env';

type Env = Readonly<Record<string, string | undefined>>;

export interface EventsConfig {
  readonly topicArn: string;
  readonly tableName: string;
  /** `INCIDENT_REMINDER_INTERVAL_SECONDS`. @default 3600 */
  readonly reminderIntervalSeconds: number;
  /** CloudEvents `source`: the publishing function. */
  readonly source: string;
}

/**
 * @param role which function publishes, used in the event `source` when not running in Lambda
 * @throws ConfigError naming the variable when one is missing or malformed
 */
export function readEventsConfig(env: Env, role: 'token' | 'oauth'): EventsConfig {
  const functionName = env.AWS_LAMBDA_FUNCTION_NAME?.trim();
  const region = env.AWS_REGION?.trim();
  return {
    topicArn: readString(env, 'EVENTS_TOPIC_ARN'),
    tableName: readString(env, 'TABLE_NAME'),
    reminderIntervalSeconds: readInteger(env, 'INCIDENT_REMINDER_INTERVAL_SECONDS', 3600, {
      min: 60,
      max: 7 * 24 * 3600,
    }),
    source:
      functionName && region
        ? `urn:salesforce-token-broker:${region}:${functionName}`
        : `urn:salesforce-token-broker:${role}`,
  };
}
