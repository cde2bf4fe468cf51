/** Shared inputs of the events suites: an org, realistic Salesforce failures and a manual clock. */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { BrokerError } from '../../lambda/core/errors';
import type { EventContext } from '../../lambda/core/events';
import { METRIC_NAMESPACE } from '../../lambda/core/metrics';
import type { OrgRecord } from '../../lambda/core/types';

export const ORG: OrgRecord = {
  orgId: 'acme-prod',
  loginUrl: 'https://login.salesforce.com',
  environment: 'production',
  audience: 'https://login.salesforce.com',
  consumerKey: '3MVG9acmeConsumerKey',
  username: 'integration@acme.com',
  signingKeySecretId: 'token-broker/acme-prod',
  tokenTtlSeconds: 1800,
  callers: ['arn:aws:iam::123456789012:role/Fulfilment'],
};

/** An assertion-shaped secret, used to prove that nothing from an error's cause leaks. */
export const FAKE_ASSERTION = `eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiIzTVZHOWFjbWUiLCJzdWIiOiJpIn0.${'s'.repeat(43)}`;
export const FAKE_ACCESS_TOKEN = '00D5g000004Xyz!AQ4AQFakeAccessTokenValueForTests1234567890';

export function notApprovedError(): BrokerError {
  return new BrokerError('consumer_not_approved', "The integration user hasn't approved the app", {
    cause: new Error(`Salesforce rejected assertion ${FAKE_ASSERTION}`),
    salesforce: {
      status: 400,
      error: 'invalid_grant',
      error_description: "user hasn't approved this consumer",
    },
    remediation: {
      summary: 'integration@acme.com has not approved the Connected App.',
      steps: [
        'Open the approval link, log in as integration@acme.com and click Allow.',
        'Or set Permitted Users to "Admin approved users are pre-authorized".',
      ],
      approvalLink: 'https://broker.example.com/prod/oauth/authorize?org=acme-prod',
      salesforceAuthorizeUrl:
        'https://login.salesforce.com/services/oauth2/authorize?client_id=3MVG9acmeConsumerKey&redirect_uri=https%3A%2F%2Fbroker.example.com%2Fprod%2Foauth%2Fcallback&response_type=code',
    },
  });
}

export function unavailableError(): BrokerError {
  return new BrokerError('salesforce_unavailable', 'Salesforce did not answer', {
    salesforce: { status: 503, error: 'unknown_error', error_description: 'retry your request' },
  });
}

/** A clock the test moves by hand. */
export class ManualClock {
  constructor(public now = Date.parse('2026-11-28T09:00:00.000Z')) {}
  readonly read = () => this.now;
  advance(ms: number): void {
    this.now += ms;
  }
}

export function eventContext(clock: ManualClock): EventContext {
  let sequence = 0;
  return {
    source: 'urn:salesforce-token-broker:test:token',
    clock: clock.read,
    newId: () => `evt-${++sequence}`,
  };
}

export function observability() {
  return {
    logger: new Logger({ serviceName: 'salesforce-token-broker' }),
    metrics: new Metrics({ namespace: METRIC_NAMESPACE, serviceName: 'salesforce-token-broker' }),
  };
}

/** EMF blobs among captured lines that carry `metric`. */
export function emfWith(entries: Record<string, unknown>[], metric: string) {
  return entries.filter((entry) => {
    const aws = entry._aws as
      | { CloudWatchMetrics?: { Metrics?: { Name: string }[] }[] }
      | undefined;
    return aws?.CloudWatchMetrics?.some((set) => set.Metrics?.some((m) => m.Name === metric));
  });
}
