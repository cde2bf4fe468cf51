/**
 * The document layer (dynamo-documents.ts) against dynalite: native values in and out, binary
 * attributes round-tripping (top level, nested, sets), what the SDK's document client reads of
 * it, pages followed, undefined refused as lib-dynamodb refuses it, and error names kept.
 */
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalDynamo, startDynalite } from '../support/dynalite';

let dynamo: LocalDynamo;
let tableName: string;

beforeAll(async () => {
  dynamo = await startDynalite();
  tableName = await dynamo.createTable();
});
afterAll(() => dynamo.close());

const key = (pk: string, sk = 'ITEM') => ({ pk, sk });

describe('DynamoDB documents over the lean client', () => {
  it('round-trips binary values (top level, nested, sets) with the SDK reading the same bytes', async () => {
    const sealed = new Uint8Array([0, 1, 2, 250, 255]);
    const item = {
      ...key('bin'),
      sealed,
      nested: { inner: new Uint8Array([9, 8, 7]), list: [new Uint8Array([1]), 'text', 3] },
      blobs: new Set([new Uint8Array([4, 5]), new Uint8Array([6])]),
      count: 42,
      flag: true,
      none: null,
    };
    await dynamo.documents.put({ TableName: tableName, Item: item });
    const { Item } = await dynamo.documents.get({ TableName: tableName, Key: key('bin') });
    expect(Item).toEqual(item);
    expect(Item?.sealed).toBeInstanceOf(Uint8Array);
    const viaSdk = await DynamoDBDocumentClient.from(dynamo.client).send(
      new GetCommand({ TableName: tableName, Key: key('bin') }),
    );
    expect(viaSdk.Item).toEqual(item);
  });

  it('updates with expression values and returns the unmarshalled attributes', async () => {
    await dynamo.documents.put({ TableName: tableName, Item: { ...key('upd'), n: 1 } });
    const { Attributes } = await dynamo.documents.update({
      TableName: tableName,
      Key: key('upd'),
      UpdateExpression: 'SET #n = #n + :one, #m = :map',
      ExpressionAttributeNames: { '#n': 'n', '#m': 'm' },
      ExpressionAttributeValues: { ':one': 1, ':map': { a: ['x'], b: new Uint8Array([7]) } },
      ReturnValues: 'ALL_NEW',
    });
    expect(Attributes).toEqual({ ...key('upd'), n: 2, m: { a: ['x'], b: new Uint8Array([7]) } });
  });

  it('follows LastEvaluatedKey through every page', async () => {
    for (let index = 0; index < 5; index++) {
      await dynamo.documents.put({ TableName: tableName, Item: key('pages', `S${index}`) });
    }
    const pages = [];
    for await (const page of dynamo.documents.queryPages({
      TableName: tableName,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': 'pages' },
      Limit: 2,
    })) {
      pages.push(page.Items.map((item) => item.sk));
    }
    expect(pages.flat()).toEqual(['S0', 'S1', 'S2', 'S3', 'S4']);
    expect(pages.length).toBeGreaterThanOrEqual(3);
  });

  it('refuses an undefined value, as lib-dynamodb does by default', async () => {
    await expect(
      dynamo.documents.put({ TableName: tableName, Item: { ...key('undef'), gone: undefined } }),
    ).rejects.toThrow(/undefined/);
  });

  it("keeps DynamoDB's error names: a failed condition, a deleted item's old attributes", async () => {
    await dynamo.documents.put({ TableName: tableName, Item: { ...key('cond'), v: 1 } });
    await expect(
      dynamo.documents.put({
        TableName: tableName,
        Item: key('cond'),
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    ).rejects.toMatchObject({ name: 'ConditionalCheckFailedException', status: 400 });
    const { Attributes } = await dynamo.documents.delete({
      TableName: tableName,
      Key: key('cond'),
      ReturnValues: 'ALL_OLD',
    });
    expect(Attributes).toEqual({ ...key('cond'), v: 1 });
    expect(
      (await dynamo.documents.delete({ TableName: tableName, Key: key('cond') })).Attributes,
    ).toBeUndefined();
  });
});
