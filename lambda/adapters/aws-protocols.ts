/**
 * The three AWS wire protocols the functions speak over an {@link AwsClient}: awsJson (DynamoDB
 * 1.0, KMS 1.1), Query (SNS Publish) and REST-JSON (Lambda Invoke). Each is a few lines once
 * signing, retries and error decoding are done by the client; see aws-request.ts for why these
 * replace the SDK clients.
 */
import type { AwsClient } from './aws-request';

/** An awsJson service: its protocol version and the `X-Amz-Target` prefix of its operations. */
export interface AwsJsonService {
  readonly version: '1.0' | '1.1';
  readonly targetPrefix: string;
}

export const DYNAMODB_JSON: AwsJsonService = { version: '1.0', targetPrefix: 'DynamoDB_20120810' };
export const KMS_JSON: AwsJsonService = { version: '1.1', targetPrefix: 'TrentService' };

export interface CallOptions {
  /** Ends the call early; it then rejects with an `AbortError`. */
  readonly signal?: AbortSignal | undefined;
}

/**
 * awsJson encodes blobs as base64 strings. Every `Uint8Array` in the input (KMS `Plaintext`,
 * `Message`, DynamoDB `B` values...) is one, so the replacer converts them wherever they are. It
 * reads the holder's own value: a Buffer's `toJSON` would otherwise have turned it into an array.
 */
function blobsAsBase64(this: unknown, key: string, value: unknown): unknown {
  const raw = (this as Record<string, unknown>)[key];
  return raw instanceof Uint8Array ? Buffer.from(raw).toString('base64') : value;
}

/** Bytes of a base64 blob in an awsJson answer (KMS `CiphertextBlob`, `Plaintext`, `Mac`...). */
export function blobOf(value: unknown): Uint8Array | undefined {
  return typeof value === 'string' ? new Uint8Array(Buffer.from(value, 'base64')) : undefined;
}

/**
 * One awsJson operation: POST `/` with `X-Amz-Target: <prefix>.<operation>`.
 * @returns the parsed answer; blobs in it are still base64 (see {@link blobOf})
 * @throws AwsServiceError named by the service's error code
 */
export async function callAwsJson<Output>(
  client: Pick<AwsClient, 'send'>,
  service: AwsJsonService,
  operation: string,
  input: object,
  options: CallOptions = {},
): Promise<Output> {
  const response = await client.send({
    headers: {
      'content-type': `application/x-amz-json-${service.version}`,
      'x-amz-target': `${service.targetPrefix}.${operation}`,
    },
    body: JSON.stringify(input, blobsAsBase64),
    signal: options.signal,
  });
  return (response.body ? JSON.parse(response.body) : {}) as Output;
}

/**
 * One Query-protocol action (SNS): a form-encoded POST of `Action`, `Version` and the flattened
 * parameters (`MessageAttributes.entry.1.Name`...).
 * @returns the XML answer, for aws-request.ts `readXmlElement`
 * @throws AwsServiceError named by the XML `<Code>` (e.g. SNS's `NotFound`)
 */
export async function callAwsQuery(
  client: Pick<AwsClient, 'send'>,
  params: Readonly<Record<string, string>>,
  options: CallOptions = {},
): Promise<string> {
  const response = await client.send({
    headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' },
    body: new URLSearchParams(params).toString(),
    signal: options.signal,
  });
  return response.body;
}
