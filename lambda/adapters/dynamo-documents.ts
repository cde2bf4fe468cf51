/**
 * DynamoDB with native JavaScript values, as `@aws-sdk/lib-dynamodb`'s document client offers it,
 * over the lean awsJson client: the same input shapes (`GetCommandInput`...), marshalled with the
 * SDK's own `@aws-sdk/util-dynamodb`, and `Item` / `Items` / `Attributes` / `LastEvaluatedKey`
 * unmarshalled. Only the operations the adapters use are here; the types are imported as types
 * only, so lib-dynamodb adds nothing to the bundles.
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import type {
  DeleteCommandInput,
  GetCommandInput,
  PutCommandInput,
  QueryCommandInput,
  UpdateCommandInput,
} from '@aws-sdk/lib-dynamodb';
import type { marshallOptions } from '@aws-sdk/util-dynamodb';
import { blobOf, type CallOptions, callAwsJson, DYNAMODB_JSON } from './aws-protocols';
import type { AwsClient } from './aws-request';

/** An item or key as the adapters read and write it. */
export type DocumentItem = Record<string, unknown>;

export interface DocumentAttributes {
  /** The item's attributes as asked for by `ReturnValues`; absent when none were returned. */
  readonly Attributes?: DocumentItem | undefined;
}

export interface DocumentPage {
  readonly Items: DocumentItem[];
  /** Where the next page starts; absent on the last page. */
  readonly LastEvaluatedKey?: DocumentItem | undefined;
}

/** The document operations the broker uses. Errors are aws-request.ts `AwsServiceError`s. */
export interface DynamoDocuments {
  get(input: GetCommandInput, options?: CallOptions): Promise<{ Item?: DocumentItem | undefined }>;
  put(input: PutCommandInput, options?: CallOptions): Promise<DocumentAttributes>;
  update(input: UpdateCommandInput, options?: CallOptions): Promise<DocumentAttributes>;
  delete(input: DeleteCommandInput, options?: CallOptions): Promise<DocumentAttributes>;
  query(input: QueryCommandInput, options?: CallOptions): Promise<DocumentPage>;
  /** Every page of a query, following `LastEvaluatedKey`. */
  queryPages(input: QueryCommandInput, options?: CallOptions): AsyncIterable<DocumentPage>;
}

/**
 * lib-dynamodb's defaults, which the broker used unchanged (`DynamoDBDocumentClient.from(client)`
 * without options): an `undefined` value is refused rather than silently dropped, so the adapters
 * keep stripping them on purpose (their `toStorable`).
 */
const MARSHALL: marshallOptions = { removeUndefinedValues: false };

type WireItem = Record<string, AttributeValue>;

let utilModule: Promise<typeof import('@aws-sdk/util-dynamodb')> | undefined;
/** Loaded on first use, keeping the marshaller's module off the function's cold-start import. */
function loadUtil() {
  utilModule ??= import('@aws-sdk/util-dynamodb');
  return utilModule;
}

/** `B` / `BS` values arrive as base64 (awsJson blobs); util-dynamodb expects bytes. */
function fromWire(value: AttributeValue): AttributeValue {
  if (value.B !== undefined) return { B: blobOf(value.B) as Uint8Array };
  if (value.BS !== undefined) return { BS: value.BS.map((blob) => blobOf(blob) as Uint8Array) };
  if (value.M !== undefined) return { M: fromWireItem(value.M) };
  if (value.L !== undefined) return { L: value.L.map(fromWire) };
  return value;
}

function fromWireItem(item: WireItem): WireItem {
  const out: WireItem = {};
  for (const [name, value] of Object.entries(item)) out[name] = fromWire(value);
  return out;
}

type Util = typeof import('@aws-sdk/util-dynamodb');

function toNative(util: Util, item: WireItem | undefined): DocumentItem | undefined {
  return item === undefined ? undefined : util.unmarshall(fromWireItem(item));
}

/** The input with its native-value members marshalled, the rest passed through. */
function marshallInput<T extends object>(util: Util, input: T): object {
  const toWire = (item: Record<string, unknown> | undefined): WireItem | undefined =>
    item === undefined ? undefined : util.marshall(item, MARSHALL);
  const members = input as {
    Key?: Record<string, unknown>;
    Item?: Record<string, unknown>;
    ExpressionAttributeValues?: Record<string, unknown>;
    ExclusiveStartKey?: Record<string, unknown>;
  };
  return {
    ...input,
    ...(members.Key && { Key: toWire(members.Key) }),
    ...(members.Item && { Item: toWire(members.Item) }),
    ...(members.ExpressionAttributeValues && {
      ExpressionAttributeValues: toWire(members.ExpressionAttributeValues),
    }),
    ...(members.ExclusiveStartKey && { ExclusiveStartKey: toWire(members.ExclusiveStartKey) }),
  };
}

interface WireOutput {
  readonly Item?: WireItem;
  readonly Items?: WireItem[];
  readonly Attributes?: WireItem;
  readonly LastEvaluatedKey?: WireItem;
}

/** @param client a client for the `dynamodb` service */
export function createDynamoDocuments(client: AwsClient): DynamoDocuments {
  /** One operation, with the answer's items unmarshalled. */
  async function call(operation: string, input: object, options?: CallOptions) {
    const util = await loadUtil();
    const output = await callAwsJson<WireOutput>(
      client,
      DYNAMODB_JSON,
      operation,
      marshallInput(util, input),
      options,
    );
    return {
      Item: toNative(util, output.Item),
      Items: (output.Items ?? []).map((item) => toNative(util, item) as DocumentItem),
      Attributes: toNative(util, output.Attributes),
      LastEvaluatedKey: toNative(util, output.LastEvaluatedKey),
    };
  }

  async function query(input: QueryCommandInput, options?: CallOptions): Promise<DocumentPage> {
    const { Items, LastEvaluatedKey } = await call('Query', input, options);
    return { Items, LastEvaluatedKey };
  }

  return {
    async get(input, options) {
      return { Item: (await call('GetItem', input, options)).Item };
    },
    async put(input, options) {
      return { Attributes: (await call('PutItem', input, options)).Attributes };
    },
    async update(input, options) {
      return { Attributes: (await call('UpdateItem', input, options)).Attributes };
    },
    async delete(input, options) {
      return { Attributes: (await call('DeleteItem', input, options)).Attributes };
    },
    query,
    async *queryPages(input, options) {
      let startKey = input.ExclusiveStartKey;
      do {
        const page = await query({ ...input, ExclusiveStartKey: startKey }, options);
        yield page;
        startKey = page.LastEvaluatedKey;
      } while (startKey);
    },
  };
}
