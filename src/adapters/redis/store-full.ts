/**
 * The one place that recognises Redis's out-of-memory refusal: with `maxmemory` reached under the
 * `noeviction` policy, Redis answers a write with the error reply `OOM command not allowed when
 * used memory > 'maxmemory'.` (ioredis's `ReplyError`; in a pipeline it is the command's error; from
 * inside a script it carries the script's name after the same prefix). Reads and deletions still
 * work. Everything else asks {@link storeFullOf}.
 */
import { ReplyError } from 'ioredis';
import { OrchestratorError, StoreFullError } from '../../errors.js';

/** How long a caller is asked to wait before sending again after a refusal, in ms (`Retry-After`). */
export const STORE_FULL_RETRY_AFTER_MS = 10_000;

/** True when `err` is Redis's OOM refusal itself. */
export function isOutOfMemoryReply(err: unknown): boolean {
  return err instanceof Error && err instanceof ReplyError && err.message.startsWith('OOM ');
}

/**
 * `err` as a {@link StoreFullError} when it, or an error it wraps, is Redis's OOM refusal;
 * otherwise undefined. Errors of the registry are taken as they are: only a `STORE_FULL` one is.
 */
export function storeFullOf(err: unknown): StoreFullError | undefined {
  let current: unknown = err;
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    if (current instanceof StoreFullError) return current;
    if (current instanceof OrchestratorError) return undefined;
    if (isOutOfMemoryReply(current)) {
      return new StoreFullError({ retryAfterMs: STORE_FULL_RETRY_AFTER_MS, cause: current });
    }
    current = current.cause;
  }
  return undefined;
}

/** Runs `write`; Redis's OOM refusal comes out as a {@link StoreFullError}, anything else as it is. */
export async function refusingWhenFull<T>(write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (err) {
    throw storeFullOf(err) ?? err;
  }
}
