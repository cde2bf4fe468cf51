/**
 * Incidents in the broker's table (`incidentKey`), one item per open (org, category). Every
 * operation is a single atomic DynamoDB call, because dynalite (the local stack) has no
 * transactions and because one call is all the lifecycle needs:
 * - a failure is an UpdateItem that creates-or-increments; the caller that sees `count = 1` opened it;
 * - a reminder is claimed by a conditional update of `lastNotifiedAt`;
 * - closing is a DeleteItem returning the old item, so only one caller gets to resolve it.
 * Closed incidents are deleted, not kept: the events and logs are their history.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { type Category, isCategory } from '../core/categories';
import type { FailureRecord, StoredIncident } from '../core/incidents';
import type { IncidentStore } from '../core/ports';
import type { Remediation, SalesforceErrorDetail } from '../core/types';
import { buildBoundedClientConfig } from './aws-client-config';
import { incidentKey, TABLE_SCHEMA } from './table-schema';

const INCIDENT_PREFIX = 'INCIDENT#';

let documentModule: Promise<typeof import('@aws-sdk/lib-dynamodb')> | undefined;
/** The SDK is loaded on first use, keeping it off the function's cold-start import path. */
function loadSdk() {
  documentModule ??= import('@aws-sdk/lib-dynamodb');
  return documentModule;
}

/** Plain JSON data without its `undefined` members, which a document client refuses by default. */
function toStorable<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

function isConditionalCheckFailure(error: unknown): boolean {
  return (error as { name?: string }).name === 'ConditionalCheckFailedException';
}

function parseIncident(item: Record<string, unknown>): StoredIncident | undefined {
  const { orgId, category, count, firstSeenAt, lastSeenAt, lastNotifiedAt } = item;
  if (typeof orgId !== 'string' || !isCategory(category) || typeof count !== 'number') {
    return undefined;
  }
  return {
    orgId,
    category,
    count,
    firstSeenAt: Number(firstSeenAt),
    lastSeenAt: Number(lastSeenAt),
    lastNotifiedAt: Number(lastNotifiedAt),
    salesforce: item.salesforce as SalesforceErrorDetail | undefined,
    remediation: item.remediation as Remediation | undefined,
  };
}

export interface DynamoIncidentStoreOptions {
  /** A document client to share (e.g. with the org registry); takes precedence over `client`. */
  readonly documents?: DynamoDBDocumentClient;
  /**
   * @default a new client built on first use, with {@link buildBoundedClientConfig}'s timeouts
   * (endpoint from AWS_ENDPOINT_URL_DYNAMODB if set)
   */
  readonly client?: DynamoDBClient;
  readonly tableName: string;
}

export class DynamoIncidentStore implements IncidentStore {
  readonly #client: DynamoDBClient | undefined;
  readonly #tableName: string;
  #documents: Promise<DynamoDBDocumentClient> | undefined;

  constructor(options: DynamoIncidentStoreOptions) {
    this.#client = options.client;
    this.#documents = options.documents && Promise.resolve(options.documents);
    this.#tableName = options.tableName;
  }

  /** Built on first use so that constructing the ledger loads no SDK code. */
  #getDocuments(): Promise<DynamoDBDocumentClient> {
    this.#documents ??= this.#createDocuments();
    return this.#documents;
  }

  async #createDocuments(): Promise<DynamoDBDocumentClient> {
    const { DynamoDBDocumentClient } = await loadSdk();
    const client =
      this.#client ??
      new (await import('@aws-sdk/client-dynamodb')).DynamoDBClient(buildBoundedClientConfig());
    return DynamoDBDocumentClient.from(client);
  }

  async recordFailure(failure: FailureRecord): Promise<StoredIncident> {
    const [{ UpdateCommand }, documents] = await Promise.all([loadSdk(), this.#getDocuments()]);
    const set = [
      '#orgId = :orgId',
      '#category = :category',
      '#firstSeenAt = if_not_exists(#firstSeenAt, :at)',
      '#lastSeenAt = :at',
      '#lastNotifiedAt = if_not_exists(#lastNotifiedAt, :at)',
    ];
    const names: Record<string, string> = {
      '#orgId': 'orgId',
      '#category': 'category',
      '#firstSeenAt': 'firstSeenAt',
      '#lastSeenAt': 'lastSeenAt',
      '#lastNotifiedAt': 'lastNotifiedAt',
      '#count': 'count',
    };
    const values: Record<string, unknown> = {
      ':orgId': failure.orgId,
      ':category': failure.category,
      ':at': failure.at,
      ':one': 1,
    };
    // The latest Salesforce answer and remediation win: they describe the incident as it is now.
    if (failure.salesforce) {
      set.push('#salesforce = :salesforce');
      names['#salesforce'] = 'salesforce';
      values[':salesforce'] = toStorable(failure.salesforce);
    }
    if (failure.remediation) {
      set.push('#remediation = :remediation');
      names['#remediation'] = 'remediation';
      values[':remediation'] = toStorable(failure.remediation);
    }
    const output = await documents.send(
      new UpdateCommand({
        TableName: this.#tableName,
        Key: incidentKey(failure.orgId, failure.category),
        UpdateExpression: `SET ${set.join(', ')} ADD #count :one`,
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
        ReturnValues: 'ALL_NEW',
      }),
    );
    const incident = parseIncident(output.Attributes ?? {});
    if (!incident) throw new Error(`Malformed incident item for ${failure.orgId}`);
    return incident;
  }

  async claimReminder(incident: StoredIncident, at: number): Promise<boolean> {
    const [{ UpdateCommand }, documents] = await Promise.all([loadSdk(), this.#getDocuments()]);
    try {
      await documents.send(
        new UpdateCommand({
          TableName: this.#tableName,
          Key: incidentKey(incident.orgId, incident.category),
          UpdateExpression: 'SET #lastNotifiedAt = :at',
          ConditionExpression: '#lastNotifiedAt = :previous',
          ExpressionAttributeNames: { '#lastNotifiedAt': 'lastNotifiedAt' },
          ExpressionAttributeValues: { ':at': at, ':previous': incident.lastNotifiedAt },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionalCheckFailure(error)) return false;
      throw error;
    }
  }

  async listOpen(orgId: string): Promise<StoredIncident[]> {
    const [{ QueryCommand }, documents] = await Promise.all([loadSdk(), this.#getDocuments()]);
    const { partitionKey, sortKey } = TABLE_SCHEMA;
    const incidents: StoredIncident[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const output = await documents.send(
        new QueryCommand({
          TableName: this.#tableName,
          KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :prefix)',
          ExpressionAttributeNames: { '#pk': partitionKey, '#sk': sortKey },
          ExpressionAttributeValues: {
            ':pk': incidentKey(orgId, '').pk,
            ':prefix': INCIDENT_PREFIX,
          },
          // A just-opened incident must be seen by the success that follows it.
          ConsistentRead: true,
          ExclusiveStartKey: startKey,
        }),
      );
      for (const item of output.Items ?? []) {
        const incident = parseIncident(item);
        if (incident) incidents.push(incident);
      }
      startKey = output.LastEvaluatedKey;
    } while (startKey);
    return incidents;
  }

  async close(orgId: string, category: Category): Promise<StoredIncident | undefined> {
    const [{ DeleteCommand }, documents] = await Promise.all([loadSdk(), this.#getDocuments()]);
    const output = await documents.send(
      new DeleteCommand({
        TableName: this.#tableName,
        Key: incidentKey(orgId, category),
        ReturnValues: 'ALL_OLD',
      }),
    );
    return output.Attributes ? parseIncident(output.Attributes) : undefined;
  }
}
