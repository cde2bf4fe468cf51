/**
 * The throughput target: the token function's production bundle behind a loopback HTTP gateway
 * that turns each request into the REST proxy event API Gateway would send. Run with
 * `node --import tsx`; prints `{"url": ...}` on fd 3 once listening and serves until killed.
 *
 * The local gateway (local/gateway.ts) has not landed on this branch yet, so this is a minimal
 * node:http wrapper over the same event builder (local/rest-event.ts); it serves the token route only.
 */
import { writeSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { buildRestEvent, createLambdaContext } from '../../local/rest-event';

type Handler = (event: APIGatewayProxyEvent, context: Context) => Promise<APIGatewayProxyResult>;

const bundle = process.env.BENCH_BUNDLE;
const callerArn = process.env.BENCH_CALLER_ARN;
if (!bundle || !callerArn) throw new Error('BENCH_BUNDLE and BENCH_CALLER_ARN are required');
const { handler } = (await import(pathToFileURL(bundle).href)) as { handler: Handler };

const server = createServer(async (request, response) => {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  const path = new URL(request.url ?? '/', 'http://127.0.0.1').pathname;
  const orgId = /^\/orgs\/([^/]+)\/token$/.exec(path)?.[1];
  if (request.method !== 'POST' || !orgId) {
    response.writeHead(404, { 'content-type': 'application/json' });
    response.end('{"message":"Not Found"}');
    return;
  }
  const result = await handler(
    buildRestEvent({
      method: 'POST',
      path,
      resource: '/orgs/{orgId}/token',
      pathParameters: { orgId: decodeURIComponent(orgId) },
      body: chunks.length > 0 ? Buffer.concat(chunks).toString('utf8') : null,
      callerArn,
    }),
    createLambdaContext({ timeoutMs: 20_000 }),
  );
  response.writeHead(result.statusCode, result.headers as Record<string, string>);
  response.end(result.body);
});
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  writeSync(3, `${JSON.stringify({ url: `http://127.0.0.1:${port}` })}\n`);
});
