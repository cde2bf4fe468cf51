/**
 * The awsJson1_1 wire protocol's answer, shared by the local AWS endpoints that speak it (Secrets
 * Manager, KMS): a JSON body, a request id, and `x-amzn-errortype` on errors, which the SDK reads
 * to raise the service's typed exception.
 */
import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';

export function sendAwsJson(
  response: ServerResponse,
  status: number,
  body: unknown,
  errorType?: string,
): void {
  const headers: Record<string, string> = {
    'content-type': 'application/x-amz-json-1.1',
    'x-amzn-requestid': randomUUID(),
  };
  if (errorType) headers['x-amzn-errortype'] = errorType;
  response.writeHead(status, headers).end(JSON.stringify(body));
}
