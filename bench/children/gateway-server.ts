/**
 * The throughput target: the token function's production bundle behind the local gateway
 * (local/gateway.ts), which turns each HTTP request into the REST proxy event API Gateway would
 * send. Run with `node --import tsx`; prints `{"url": ...}` on fd 3 once listening and serves
 * until killed.
 */
import { writeSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { type RestHandler, startGateway } from '../../local/gateway';

const bundle = process.env.BENCH_BUNDLE;
const callerArn = process.env.BENCH_CALLER_ARN;
if (!bundle || !callerArn) throw new Error('BENCH_BUNDLE and BENCH_CALLER_ARN are required');
const { handler } = (await import(pathToFileURL(bundle).href)) as { handler: RestHandler };

const gateway = await startGateway({ handlers: { token: handler }, callerArn, timeoutMs: 20_000 });
writeSync(3, `${JSON.stringify({ url: gateway.url })}\n`);
