/**
 * The one place that recognises an unreachable Redis in what ioredis (and BullMQ over it) threw,
 * and turns it into a {@link StoreUnavailableError}. The ticket store runs every call through
 * {@link unavailableWhenDown}; the intake and the operator commands do the same with their queue
 * calls. Everything above them (the HTTP API, the CLI, the workers) tests for the class.
 *
 * What counts as an outage:
 * - `MaxRetriesPerRequestError` (a redis-errors `AbortError`, not exported by ioredis): the
 *   command waited through `maxRetriesPerRequest` failed reconnections (see `src/app.ts`);
 * - `Connection is closed.`: the client has ended (ioredis; BullMQ's `ConnectionClosedError`);
 * - `Stream isn't writeable…`: not connected, and the client has no offline queue;
 * - `Command timed out`: ioredis's `commandTimeout` ran out;
 * - `Command aborted due to connection close`: the connection closed with the command sent and
 *   unanswered, inside a pipeline (every command of the auto-pipelining store connection, `src/app.ts`),
 *   which ioredis does not send again;
 * - a socket error (`ECONNREFUSED`, `ECONNRESET`, `ETIMEDOUT`, …) on the paths that pass one
 *   through;
 * - a `LOADING` reply: a restarted server is still reading its AOF;
 * - a failover under way (Sentinel or Cluster): `READONLY` (the node written to is a replica now),
 *   `CLUSTERDOWN`, `TRYAGAIN`, `MASTERDOWN`, and ioredis's own `Too many Cluster redirections`,
 *   `Failed to refresh slots cache`, `None of startup nodes is available`, `All sentinels are
 *   unreachable`.
 *
 * ioredis has no error classes for most of these (they are plain `Error`s told apart by their
 * message), hence the matching on names and messages, kept here and nowhere else.
 */
import { OrchestratorError, StoreUnavailableError } from '../../errors.js';

/** How long a caller is asked to wait before sending again, in ms (`Retry-After`). */
export const STORE_RETRY_AFTER_MS = 2000;

const OUTAGE_NAMES = new Set(['MaxRetriesPerRequestError', 'ConnectionClosedError']);
const OUTAGE_MESSAGES = [
  /^Connection is closed\.?$/,
  /^Stream isn't writeable/,
  /^Command timed out$/,
  /^Command aborted due to connection close$/,
  /^LOADING\b/,
  // during a failover: the node written to was demoted, a Cluster has slots without a primary
  // yet, the client could not learn a new slot map or primary, a replica lost its primary
  /^READONLY\b/,
  /^CLUSTERDOWN\b/,
  /^TRYAGAIN\b/,
  /^MASTERDOWN\b/,
  /^Too many Cluster redirections/,
  /^Failed to refresh slots cache/,
  /^None of startup nodes is available/,
  /^All sentinels are unreachable/,
];
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
 * `err` as a {@link StoreUnavailableError} when it, or an error it wraps, says that Redis is
 * unreachable; otherwise undefined. Errors of the registry are taken as they are: only a
 * `STORE_UNAVAILABLE` one is an outage.
 */
export function storeUnavailableOf(err: unknown): StoreUnavailableError | undefined {
  let current: unknown = err;
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    if (current instanceof StoreUnavailableError) return current;
    if (current instanceof OrchestratorError) return undefined;
    if (isOutage(current)) {
      return new StoreUnavailableError({ retryAfterMs: STORE_RETRY_AFTER_MS, cause: current });
    }
    current = current.cause;
  }
  return undefined;
}

/** Runs `call`; an unreachable Redis comes out as a {@link StoreUnavailableError}, anything else as it is. */
export async function unavailableWhenDown<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    throw storeUnavailableOf(err) ?? err;
  }
}
