/**
 * Recognises an unreachable Redis in what the store or the queues threw, so that the API answers
 * 503 `STORE_UNAVAILABLE` with `Retry-After` rather than 500. The one place that knows how
 * ioredis (and BullMQ over it) reports an outage:
 * - `MaxRetriesPerRequestError` (a redis-errors `AbortError`, not exported by ioredis): the
 *   command waited through `maxRetriesPerRequest` failed reconnections (see `src/app.ts`);
 * - `Connection is closed.`: the client has ended (ioredis; BullMQ's `ConnectionClosedError`);
 * - `Stream isn't writeable…`: not connected, and the client has no offline queue;
 * - a socket error (`ECONNREFUSED`, `ECONNRESET`, …) on the paths that pass one through;
 * - a `LOADING` reply: a restarted server is still reading its AOF.
 */
import { OrchestratorError } from '../../errors.js';

/** How long a client is asked to wait before sending again, in ms (`Retry-After`). */
export const STORE_RETRY_AFTER_MS = 2000;

const OUTAGE_NAMES = new Set(['MaxRetriesPerRequestError', 'ConnectionClosedError']);
const OUTAGE_MESSAGES = [/^Connection is closed\.?$/, /^Stream isn't writeable/, /^LOADING\b/];
const SOCKET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);

function isOutage(err: Error): boolean {
  const { code } = err as { code?: unknown };
  return (
    OUTAGE_NAMES.has(err.name) ||
    OUTAGE_MESSAGES.some((m) => m.test(err.message)) ||
    (typeof code === 'string' && SOCKET_CODES.has(code))
  );
}

/**
 * `err` as a `STORE_UNAVAILABLE` error when it (or an error it wraps) says that Redis is
 * unreachable; otherwise undefined. Errors of the registry are taken as they are: only a
 * `STORE_UNAVAILABLE` one is an outage.
 */
export function storeOutageOf(err: unknown): OrchestratorError | undefined {
  let current: unknown = err;
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    if (current instanceof OrchestratorError) {
      return current.code === 'STORE_UNAVAILABLE' ? current : undefined;
    }
    if (isOutage(current)) {
      return new OrchestratorError('STORE_UNAVAILABLE', 'Redis is unreachable', {
        retryAfterMs: STORE_RETRY_AFTER_MS,
        cause: err,
      });
    }
    current = current.cause;
  }
  return undefined;
}
