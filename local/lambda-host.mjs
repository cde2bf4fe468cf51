/**
 * A Lambda execution environment for a function bundle in this process, as far as the bundle can
 * tell: the Extensions API on a loopback port (`AWS_LAMBDA_RUNTIME_API`), and invocations served
 * one at a time, each ending only when the runtime has its response and every registered extension
 * has asked for its next event. The benchmark's and the fleet test's environment processes run the
 * token bundle here, so its after-response extension does in them what it does in Lambda.
 *
 * Plain ESM JavaScript: those processes run the bundle with `node`, without a TypeScript loader.
 */
import { createServer } from 'node:http';

/**
 * Starts the host and sets `AWS_LAMBDA_RUNTIME_API`; import the bundle after this resolves.
 * @returns `invoke(handler, event, context)` resolving to `{ response, invokedAt, respondedAt,
 *   endedAt }` (`performance.now()` values: handler called, handler returned, invocation ended),
 *   `extensions()` (registered names), and `shutdown()`.
 */
export async function startLambdaHost() {
  /** Extensions by id: `{ name, waiting }`, `waiting` being its open `event/next` answer. */
  const extensions = new Map();
  /** Resolvers of whoever waits for an extension to ask for its next event. */
  const askers = [];

  function notifyAsked() {
    for (const resolve of askers.splice(0)) resolve();
  }

  const server = createServer((req, res) => {
    const url = req.url ?? '';
    if (req.method === 'POST' && url === '/2020-01-01/extension/register') {
      const chunks = [];
      req.on('data', (chunk) => chunks.push(chunk));
      req.on('end', () => {
        const id = `ext-${extensions.size + 1}`;
        const { events } = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
        extensions.set(id, {
          name: req.headers['lambda-extension-name'],
          events: Array.isArray(events) ? events : [],
          waiting: undefined,
        });
        res.writeHead(200, {
          'Lambda-Extension-Identifier': id,
          'Content-Type': 'application/json',
        });
        res.end(JSON.stringify({ functionName: process.env.AWS_LAMBDA_FUNCTION_NAME ?? 'token' }));
      });
      return;
    }
    if (req.method === 'GET' && url === '/2020-01-01/extension/event/next') {
      const extension = extensions.get(req.headers['lambda-extension-identifier']);
      if (!extension) {
        res.writeHead(403).end();
        return;
      }
      extension.waiting = res;
      notifyAsked();
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  process.env.AWS_LAMBDA_RUNTIME_API = `127.0.0.1:${server.address().port}`;

  /** Resolves once every extension registered for INVOKE holds an open `event/next`. */
  async function allWaiting() {
    const invoked = () => [...extensions.values()].filter((e) => e.events.includes('INVOKE'));
    while (invoked().some((extension) => !extension.waiting)) {
      await new Promise((resolve) => askers.push(resolve));
    }
  }

  function send(event) {
    for (const extension of extensions.values()) {
      if (!extension.events.includes(event.eventType)) continue;
      const res = extension.waiting;
      extension.waiting = undefined;
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(event));
    }
  }

  let previous = Promise.resolve();
  return {
    extensions: () => [...extensions.values()].map((extension) => extension.name),
    invoke(handler, event, context) {
      const run = previous.then(async () => {
        await allWaiting();
        send({
          eventType: 'INVOKE',
          requestId: context.awsRequestId,
          deadlineMs: Date.now() + context.getRemainingTimeInMillis(),
          invokedFunctionArn: context.invokedFunctionArn,
        });
        // The Runtime API's own work (above) runs outside the function's process in Lambda.
        const invokedAt = performance.now();
        const response = await handler(event, context);
        const respondedAt = performance.now();
        await allWaiting();
        return { response, invokedAt, respondedAt, endedAt: performance.now() };
      });
      previous = run.then(
        () => undefined,
        () => undefined,
      );
      return run;
    },
    async shutdown() {
      await previous;
      await allWaiting();
      // Only extensions registered for it get SHUTDOWN (internal extensions are not offered it).
      send({ eventType: 'SHUTDOWN', shutdownReason: 'spindown', deadlineMs: Date.now() + 2000 });
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
