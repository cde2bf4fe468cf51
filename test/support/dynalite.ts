/**
 * A real DynamoDB API (dynalite, in memory) on an ephemeral loopback port, with the broker's
 * table created from the same schema the CDK stack uses.
 */
import type { AddressInfo } from 'node:net';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
import type { DynamoDocuments } from '../../lambda/adapters/dynamo-documents';
import { createLocalDocuments } from '../../local/aws-clients';
import { createBrokerTable } from '../../local/create-table';

export interface LocalDynamo {
  readonly endpoint: string;
  /** The SDK client: tables and fixtures only. */
  readonly client: DynamoDBClient;
  /** The functions' own document client (dynamo-documents.ts), for the adapters under test. */
  readonly documents: DynamoDocuments;
  createTable(name?: string): Promise<string>;
  close(): Promise<void>;
}

let tableCounter = 0;

export async function startDynalite(): Promise<LocalDynamo> {
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new DynamoDBClient({
    endpoint,
    region: 'eu-west-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  return {
    endpoint,
    client,
    documents: createLocalDocuments(endpoint),
    async createTable(name = `broker-test-${process.pid}-${++tableCounter}`) {
      await createBrokerTable(client, name);
      return name;
    },
    async close() {
      client.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
