/**
 * Small in-memory implementations of the broker's ports for service and handler tests, where the
 * port's own adapter is not what is under test (each adapter has its own tests against dynalite,
 * the local Secrets Manager or a loopback HTTP server).
 */

import { importSigningKey } from '../../lambda/adapters/signing-keys';
import type {
  ExchangeOutcome,
  ExchangeOutcomeStore,
  IncidentTracker,
  OpenIncident,
  OrgRegistry,
  SigningKey,
  SigningKeyProvider,
} from '../../lambda/core/ports';
import type { OrgRecord } from '../../lambda/core/types';

export function createMemoryRegistry(
  records: readonly OrgRecord[] = [],
): OrgRegistry & ExchangeOutcomeStore & { outcomes: Map<string, ExchangeOutcome>; gets: number } {
  const orgs = new Map(records.map((record) => [record.orgId, record]));
  const outcomes = new Map<string, ExchangeOutcome>();
  return {
    outcomes,
    gets: 0,
    async getOrg(orgId) {
      this.gets += 1;
      return orgs.get(orgId);
    },
    async putOrg(record) {
      orgs.set(record.orgId, record);
    },
    async deleteOrg(orgId) {
      return orgs.delete(orgId);
    },
    async listOrgs() {
      return [...orgs.values()];
    },
    async recordExchangeOutcome(orgId, outcome) {
      outcomes.set(orgId, outcome);
    },
    async getExchangeOutcome(orgId) {
      return outcomes.get(orgId);
    },
  };
}

/** Keys from SecretStrings held in memory; `versions` lets a test rotate a key. */
export function createMemoryKeys(secrets: Record<string, string>): SigningKeyProvider & {
  reads: string[];
  rotate(secretId: string, secretString: string): void;
} {
  const versions = new Map<string, number>();
  const reads: string[] = [];
  return {
    reads,
    rotate(secretId, secretString) {
      secrets[secretId] = secretString;
      versions.set(secretId, (versions.get(secretId) ?? 1) + 1);
    },
    async getSigningKey(secretId, options): Promise<SigningKey> {
      reads.push(`${secretId}${options?.forceRefresh ? ' (forced)' : ''}`);
      const secret = secrets[secretId];
      if (secret === undefined) {
        const { BrokerError } = await import('../../lambda/core/errors');
        throw new BrokerError(
          'signing_key_unavailable',
          `Signing key secret ${secretId} could not be read (ResourceNotFoundException)`,
        );
      }
      return importSigningKey(secretId, `v${versions.get(secretId) ?? 1}`, secret);
    },
  };
}

export interface RecordingTracker extends IncidentTracker {
  readonly calls: string[];
}

/** Records calls; `failWith` makes every call throw, as a broken ledger would. */
export function createRecordingTracker(
  options: { failWith?: Error; open?: OpenIncident[] } = {},
): RecordingTracker {
  const calls: string[] = [];
  return {
    calls,
    async recordFailure({ org, error, requestId }) {
      calls.push(`failure ${org.orgId} ${error.category} ${requestId}`);
      if (options.failWith) throw options.failWith;
    },
    async recordSuccess({ org, cause, requestId }) {
      calls.push(`success ${org.orgId} ${cause} ${requestId}`);
      if (options.failWith) throw options.failWith;
    },
    async listOpen() {
      if (options.failWith) throw options.failWith;
      return options.open ?? [];
    },
  };
}
