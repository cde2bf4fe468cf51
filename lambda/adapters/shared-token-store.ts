/**
 * The org's shared token state as one DynamoDB item (`ORG#{orgId}` / `TOKEN`). Every change is one
 * conditional UpdateItem, so the lease, the fencing version and the token move together:
 * - taking the lease bumps `version` only if the lease is free or expired (or unconditionally for
 *   the approval callback, which must not join an exchange that started before the fix);
 * - a token or a failure is written only while `version` is still the writer's, so a slow writer
 *   whose lease was taken over can never replace what a newer exchange stored;
 * - logins are counted in five-minute buckets on the same write, and old buckets removed.
 * The token is stored sealed (see kms-envelope.ts); nothing here sees it in plaintext. DynamoDB's
 * TTL removes the item hours after its last use; code never relies on that for correctness.
 */
import type { SharedTokenStore } from '../core/ports';
import {
  type Lease,
  type LoginBuckets,
  loginBucketOf,
  type RememberedFailure,
  type SharedToken,
  type SharedTokenState,
} from '../core/shared-token';
import type { DynamoDocuments } from './dynamo-documents';
import { sharedTokenKey, TABLE_SCHEMA } from './table-schema';

export interface DynamoSharedTokenStoreOptions {
  readonly client: Pick<DynamoDocuments, 'get' | 'update'>;
  readonly tableName: string;
}

const LOGIN_PREFIX = 'login_';
/** The item outlives its last write by this much (and its token's expiry by as much). */
const ITEM_LIFETIME_MS = 3 * 3600_000;

function isConditionalCheckFailure(error: unknown): boolean {
  return (error as { name?: unknown }).name === 'ConditionalCheckFailedException';
}

function toState(item: Record<string, unknown> | undefined): SharedTokenState | undefined {
  if (!item) return undefined;
  const logins: Record<number, number> = {};
  for (const [name, value] of Object.entries(item)) {
    if (name.startsWith(LOGIN_PREFIX) && typeof value === 'number') {
      logins[Number(name.slice(LOGIN_PREFIX.length))] = value;
    }
  }
  const lease: Lease | undefined =
    typeof item.leaseOwner === 'string' && typeof item.leaseExpiresAt === 'number'
      ? { owner: item.leaseOwner, expiresAt: item.leaseExpiresAt }
      : undefined;
  const token: SharedToken | undefined =
    typeof item.tokenSealed === 'string'
      ? {
          sealed: item.tokenSealed,
          version: Number(item.tokenVersion),
          obtainedAt: Number(item.tokenObtainedAt),
          expiresAt: Number(item.tokenExpiresAt),
          keyFingerprint:
            typeof item.tokenKeyFingerprint === 'string' ? item.tokenKeyFingerprint : undefined,
        }
      : undefined;
  const failure = (item.failure as RememberedFailure | undefined) ?? undefined;
  return {
    version: typeof item.version === 'number' ? item.version : 0,
    lease,
    token,
    failure,
    logins: logins as LoginBuckets,
  };
}

/** Plain JSON data without its `undefined` members, which a document client refuses by default. */
function toStorable<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

function ttlFor(now: number, until: number): number {
  return Math.ceil((Math.max(now, until) + ITEM_LIFETIME_MS) / 1000);
}

/** `ADD login_{bucket} :logins` and `REMOVE` of the buckets an hour older, for one write. */
function loginClauses(count: number, at: number) {
  const bucket = loginBucketOf(at);
  const names: Record<string, string> = { '#login': `${LOGIN_PREFIX}${bucket}` };
  const stale: string[] = [];
  for (let age = 12; age < 24; age += 1) {
    names[`#old${age}`] = `${LOGIN_PREFIX}${bucket - age}`;
    stale.push(`#old${age}`);
  }
  return {
    add: count > 0 ? 'ADD #login :logins' : '',
    remove: stale,
    names,
    values: count > 0 ? { ':logins': count } : {},
  };
}

export function createDynamoSharedTokenStore(
  options: DynamoSharedTokenStoreOptions,
): SharedTokenStore {
  const { client, tableName } = options;
  const Key = (orgId: string) => sharedTokenKey(orgId);

  async function update(
    input: {
      orgId: string;
      set?: string[];
      remove?: string[];
      add?: string;
      condition?: string;
      names: Record<string, string>;
      values: Record<string, unknown>;
    },
    returnState: boolean,
  ): Promise<{ stored: boolean; state: SharedTokenState | undefined }> {
    const clauses: string[] = [];
    if (input.set?.length) clauses.push(`SET ${input.set.join(', ')}`);
    if (input.remove?.length) clauses.push(`REMOVE ${input.remove.join(', ')}`);
    if (input.add) clauses.push(input.add);
    try {
      const { Attributes } = await client.update({
        TableName: tableName,
        Key: Key(input.orgId),
        UpdateExpression: clauses.join(' '),
        ...(input.condition ? { ConditionExpression: input.condition } : {}),
        ExpressionAttributeNames: input.names,
        ...(Object.keys(input.values).length > 0
          ? { ExpressionAttributeValues: input.values }
          : {}),
        ReturnValues: returnState ? 'ALL_NEW' : 'NONE',
      });
      return { stored: true, state: toState(Attributes) };
    } catch (error) {
      if (isConditionalCheckFailure(error)) return { stored: false, state: undefined };
      throw error;
    }
  }

  return {
    async read(orgId, readOptions) {
      const { Item } = await client.get({
        TableName: tableName,
        Key: Key(orgId),
        ConsistentRead: readOptions?.consistent === true,
      });
      return toState(Item);
    },

    async acquireLease(orgId, lease, { now, force }) {
      const result = await update(
        {
          orgId,
          set: [
            '#version = if_not_exists(#version, :zero) + :one',
            '#owner = :owner',
            '#leaseExpiresAt = :expiresAt',
            '#ttl = :ttl',
          ],
          ...(force
            ? {}
            : {
                condition:
                  'attribute_not_exists(#leaseExpiresAt) OR #leaseExpiresAt <= :now OR #owner = :owner',
              }),
          names: {
            '#version': 'version',
            '#owner': 'leaseOwner',
            '#leaseExpiresAt': 'leaseExpiresAt',
            '#ttl': TABLE_SCHEMA.ttlAttribute,
          },
          values: {
            ':zero': 0,
            ':one': 1,
            ':owner': lease.owner,
            ':expiresAt': lease.expiresAt,
            ':ttl': ttlFor(now, lease.expiresAt),
            ...(force ? {} : { ':now': now }),
          },
        },
        true,
      );
      if (result.stored && result.state) return { acquired: true, version: result.state.version };
      return { acquired: false };
    },

    async publishToken(orgId, token, logins) {
      const counted = loginClauses(logins.count, logins.at);
      return update(
        {
          orgId,
          set: [
            '#sealed = :sealed',
            '#tokenVersion = :version',
            '#obtainedAt = :obtainedAt',
            '#expiresAt = :expiresAt',
            ...(token.keyFingerprint ? ['#fingerprint = :fingerprint'] : []),
            '#ttl = :ttl',
          ],
          // The fix it stores supersedes any remembered failure; the lease is done.
          remove: ['#failure', '#owner', '#leaseExpiresAt', ...counted.remove],
          add: counted.add,
          condition: '#version = :version',
          names: {
            '#sealed': 'tokenSealed',
            '#tokenVersion': 'tokenVersion',
            '#obtainedAt': 'tokenObtainedAt',
            '#expiresAt': 'tokenExpiresAt',
            ...(token.keyFingerprint ? { '#fingerprint': 'tokenKeyFingerprint' } : {}),
            '#failure': 'failure',
            '#owner': 'leaseOwner',
            '#leaseExpiresAt': 'leaseExpiresAt',
            '#version': 'version',
            '#ttl': TABLE_SCHEMA.ttlAttribute,
            ...counted.names,
          },
          values: {
            ':sealed': token.sealed,
            ':version': token.version,
            ':obtainedAt': token.obtainedAt,
            ':expiresAt': token.expiresAt,
            ...(token.keyFingerprint ? { ':fingerprint': token.keyFingerprint } : {}),
            ':ttl': ttlFor(logins.at, token.expiresAt),
            ...counted.values,
          },
        },
        true,
      );
    },

    async rememberFailure(orgId, failure, logins) {
      const counted = loginClauses(logins.count, logins.at);
      return update(
        {
          orgId,
          set: ['#failure = :failure', '#ttl = :ttl'],
          remove: ['#owner', '#leaseExpiresAt', ...counted.remove],
          add: counted.add,
          condition: '#version = :version',
          names: {
            '#failure': 'failure',
            '#owner': 'leaseOwner',
            '#leaseExpiresAt': 'leaseExpiresAt',
            '#version': 'version',
            '#ttl': TABLE_SCHEMA.ttlAttribute,
            ...counted.names,
          },
          values: {
            ':failure': toStorable(failure),
            ':version': failure.version,
            ':ttl': ttlFor(logins.at, failure.until),
            ...counted.values,
          },
        },
        true,
      );
    },

    async countLogins(orgId, logins) {
      const counted = loginClauses(logins.count, logins.at);
      const result = await update(
        {
          orgId,
          set: ['#ttl = if_not_exists(#ttl, :ttl)'],
          remove: counted.remove,
          add: counted.add,
          names: { '#ttl': TABLE_SCHEMA.ttlAttribute, ...counted.names },
          values: { ':ttl': ttlFor(logins.at, logins.at), ...counted.values },
        },
        true,
      );
      return result.state;
    },

    async releaseLease(orgId, owner) {
      await update(
        {
          orgId,
          remove: ['#owner', '#leaseExpiresAt'],
          condition: '#owner = :owner',
          names: {
            '#owner': 'leaseOwner',
            '#leaseExpiresAt': 'leaseExpiresAt',
          },
          values: { ':owner': owner },
        },
        false,
      );
    },

    async dropToken(orgId, version) {
      const result = await update(
        {
          orgId,
          remove: ['#sealed', '#tokenVersion', '#obtainedAt', '#expiresAt', '#fingerprint'],
          condition: '#tokenVersion = :version',
          names: {
            '#sealed': 'tokenSealed',
            '#tokenVersion': 'tokenVersion',
            '#obtainedAt': 'tokenObtainedAt',
            '#expiresAt': 'tokenExpiresAt',
            '#fingerprint': 'tokenKeyFingerprint',
          },
          values: { ':version': version },
        },
        false,
      );
      return result.stored;
    },

    async clearFailure(orgId) {
      await update(
        {
          orgId,
          remove: ['#failure'],
          condition: 'attribute_exists(#failure)',
          names: { '#failure': 'failure' },
          values: {},
        },
        false,
      );
    },
  };
}
