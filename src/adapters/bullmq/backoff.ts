/**
 * The one retry delay for every retryable error: exponential with full jitter and a cap; an
 * error's `retryAfterMs` (a throttled provider) wins when it is longer. Registered once, as the
 * workers' BullMQ backoff strategy `jitter`.
 */
import { OrchestratorError } from '../../errors.js';

export interface BackoffSettings {
  /** First step's ceiling, in ms. */
  baseMs: number;
  /** Largest delay, in ms. */
  capMs: number;
}

/** The BullMQ backoff type name of {@link backoffDelay}. */
export const BACKOFF_TYPE = 'jitter';

/**
 * Delay before retry number `attemptsMade` (1 after the first failure): uniform in
 * [0, min(cap, base · 2^(attemptsMade − 1))], or the error's `retryAfterMs` when that is longer.
 */
export function backoffDelay(
  attemptsMade: number,
  err: unknown,
  settings: BackoffSettings,
  random: () => number = Math.random,
): number {
  const exponent = Math.max(0, Math.min(attemptsMade - 1, 30));
  const ceiling = Math.min(settings.capMs, settings.baseMs * 2 ** exponent);
  const jittered = Math.floor(random() * (ceiling + 1));
  const floor = err instanceof OrchestratorError ? (err.retryAfterMs ?? 0) : 0;
  return Math.max(jittered, floor);
}
