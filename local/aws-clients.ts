/**
 * The broker's lean AWS clients (lambda/adapters/aws-request.ts) on a local endpoint: the local
 * stack, the tests and the benchmark point the very clients the functions use at dynalite, the
 * local KMS or the local SNS, signed with throwaway credentials (the endpoints are loopback).
 */
import {
  type AwsClient,
  type AwsClientOptions,
  createAwsClient,
} from '../lambda/adapters/aws-request';
import { createDynamoDocuments, type DynamoDocuments } from '../lambda/adapters/dynamo-documents';

/** What local clients sign with; no local endpoint checks them except the gateway's callers. */
export const LOCAL_AWS_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' } as const;

export type LocalAwsClientOptions = Partial<Omit<AwsClientOptions, 'service' | 'endpoint'>>;

/** A lean client for `service` at `endpoint`. @param options.region @default 'eu-west-1' */
export function createLocalAwsClient(
  service: string,
  endpoint: string,
  options: LocalAwsClientOptions = {},
): AwsClient {
  return createAwsClient({
    region: 'eu-west-1',
    credentials: async () => LOCAL_AWS_CREDENTIALS,
    ...options,
    service,
    endpoint,
  });
}

/** The document client over a local DynamoDB (dynalite) at `endpoint`. */
export function createLocalDocuments(
  endpoint: string,
  options: LocalAwsClientOptions = {},
): DynamoDocuments {
  return createDynamoDocuments(createLocalAwsClient('dynamodb', endpoint, options));
}
