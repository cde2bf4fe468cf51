/** Creates the broker's table from the shared schema: used by the local stack, the CLI's --local mode and tests. */
import { CreateTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
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
}
