/**
 * When Salesforce's token answers arrive, timed inside the measured process itself: the
 * `undici:request:trailers` diagnostics channel fires as soon as fetch's HTTP client has parsed
 * the last byte of a response, before the caller has read the body. So "answer in hand" and
 * "handler returned" are read from the same `performance.now()` clock, with no cross-process
 * clock, no proxy in the path and nothing changed in the code under test.
 */
import { subscribe } from 'node:diagnostics_channel';

const TOKEN_PATH = '/services/oauth2/token';

/** Starts watching; call it before the bundle is imported so no answer is missed. */
export function watchTokenAnswers() {
  let count = 0;
  let lastAt = Number.NaN;
  subscribe('undici:request:trailers', ({ request }) => {
    if (request.method !== 'POST' || !request.path.endsWith(TOKEN_PATH)) return;
    count += 1;
    lastAt = performance.now();
  });
  return {
    /**
     * Runs `call`, which must make exactly one token POST, and returns its result with
     * `afterAnswerMs`: from the token answer's last byte to `call` settling, or to the time
     * `answeredAt(result)` gives (an invocation's `respondedAt`: the caller had its answer then,
     * while the invocation went on with its after-response work).
     */
    async time(call, answeredAt = () => performance.now()) {
      const before = count;
      const result = await call();
      const settled = answeredAt(result);
      if (count !== before + 1) {
        throw new Error(`expected one token POST, saw ${count - before}`);
      }
      return { result, afterAnswerMs: settled - lastAt };
    },
  };
}
