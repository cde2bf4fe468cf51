/**
 * Creates the broker's table from the shared schema and waits until it is ACTIVE: used by the
 * local stack, the CLI's --local mode and tests. Items written while a table is still CREATING
 * are refused (dynalite, like DynamoDB, answers ResourceNotFoundException).
 */
import {
  CreateTableCommand,
  DescribeTableCommand,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { TABLE_SCHEMA } from '../lambda/adapters/table-schema';

export async function createBrokerTable(client: DynamoDBClient, tableName: string): Promise<void> {
  const { partitionKey, sortKey, orgIndex } = TABLE_SCHEMA;
  await client.send(
    new CreateTableCommand({
      TableName: tableName,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [
        { AttributeName: partitionKey, AttributeType: 'S' },
        { AttributeName: sortKey, AttributeType: 'S' },
        { AttributeName: orgIndex.partitionKey, AttributeType: 'S' },
      ],
      KeySchema: [
        { AttributeName: partitionKey, KeyType: 'HASH' },
        { AttributeName: sortKey, KeyType: 'RANGE' },
      ],
      GlobalSecondaryIndexes: [
        {
          IndexName: orgIndex.name,
          KeySchema: [
            { AttributeName: orgIndex.partitionKey, KeyType: 'HASH' },
            { AttributeName: orgIndex.sortKey, KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'ALL' },
        },
      ],
    }),
  );
  for (let attempt = 0; ; attempt += 1) {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
    if (Table?.TableStatus === 'ACTIVE') return;
    if (attempt >= 500) throw new Error(`Table ${tableName} did not become ACTIVE`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
