/**
 * Incidents in the broker's table (`incidentKey`), one item per open (org, category). Every
 * operation is a single atomic DynamoDB call, because dynalite (the local stack) has no
 * transactions and because one call is all the lifecycle needs:
 * - a failure is an UpdateItem that creates-or-increments; the caller that sees `count = 1` opened it;
 * - a reminder is claimed by a conditional update of `lastNotifiedAt`;
 * - closing is a DeleteItem returning the old item, so only one caller gets to resolve it.
 * Closed incidents are deleted, not kept: the events and logs are their history.
 */
import { type Category, isCategory } from '../core/categories';
import type { FailureRecord, StoredIncident } from '../core/incidents';
import type { IncidentStore } from '../core/ports';
import type { Remediation, SalesforceErrorDetail } from '../core/types';
import type { DynamoDocuments } from './dynamo-documents';
import { incidentKey, TABLE_SCHEMA } from './table-schema';

const INCIDENT_PREFIX = 'INCIDENT#';

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
  /** The function's document client, shared with the org registry. */
  readonly documents: Pick<DynamoDocuments, 'update' | 'delete' | 'queryPages'>;
  readonly tableName: string;
}

export class DynamoIncidentStore implements IncidentStore {
  readonly #documents: DynamoIncidentStoreOptions['documents'];
  readonly #tableName: string;

  constructor(options: DynamoIncidentStoreOptions) {
    this.#documents = options.documents;
    this.#tableName = options.tableName;
  }

  async recordFailure(failure: FailureRecord): Promise<StoredIncident> {
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
    const output = await this.#documents.update({
      TableName: this.#tableName,
      Key: incidentKey(failure.orgId, failure.category),
      UpdateExpression: `SET ${set.join(', ')} ADD #count :one`,
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
      ReturnValues: 'ALL_NEW',
    });
    const incident = parseIncident(output.Attributes ?? {});
    if (!incident) throw new Error(`Malformed incident item for ${failure.orgId}`);
    return incident;
  }

  async claimReminder(incident: StoredIncident, at: number): Promise<boolean> {
    try {
      await this.#documents.update({
        TableName: this.#tableName,
        Key: incidentKey(incident.orgId, incident.category),
        UpdateExpression: 'SET #lastNotifiedAt = :at',
        ConditionExpression: '#lastNotifiedAt = :previous',
        ExpressionAttributeNames: { '#lastNotifiedAt': 'lastNotifiedAt' },
        ExpressionAttributeValues: { ':at': at, ':previous': incident.lastNotifiedAt },
      });
      return true;
    } catch (error) {
      if (isConditionalCheckFailure(error)) return false;
      throw error;
    }
  }

  async listOpen(orgId: string): Promise<StoredIncident[]> {
    const { partitionKey, sortKey } = TABLE_SCHEMA;
    const incidents: StoredIncident[] = [];
    const pages = this.#documents.queryPages({
      TableName: this.#tableName,
      KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :prefix)',
      ExpressionAttributeNames: { '#pk': partitionKey, '#sk': sortKey },
      ExpressionAttributeValues: {
        ':pk': incidentKey(orgId, '').pk,
        ':prefix': INCIDENT_PREFIX,
      },
      // A just-opened incident must be seen by the success that follows it.
      ConsistentRead: true,
    });
    for await (const page of pages) {
      for (const item of page.Items) {
        const incident = parseIncident(item);
        if (incident) incidents.push(incident);
      }
    }
    return incidents;
  }

  async close(orgId: string, category: Category): Promise<StoredIncident | undefined> {
    const output = await this.#documents.delete({
      TableName: this.#tableName,
      Key: incidentKey(orgId, category),
      ReturnValues: 'ALL_OLD',
    });
    return output.Attributes ? parseIncident(output.Attributes) : undefined;
  }
}
