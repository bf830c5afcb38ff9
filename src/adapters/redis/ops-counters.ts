/**
 * Per-minute counters for the operations page, shared by every process through Redis: retried
 * ticket attempts (`retried`) and Throttling answers (`throttled:<action>`), one small hash per
 * minute, `<prefix>:ops:m:<minute>` (minutes since the epoch by the writer's clock), expiring two
 * hours after its last write, so the page's last hour is always there and nothing outlives it.
 *
 * Both events are rare next to provider calls (a retry follows a failed attempt, a Throttling
 * answer blocks the action for every worker), so each costs one pipelined round trip (HINCRBY and
 * EXPIRE on one key: one slot on a Cluster too). Counting is best effort: a refusal (Redis full,
 * unreachable) is dropped, as the event itself goes on without it.
 */
import { multiSlotBatch, type RedisClient } from './connection.js';
import type { Pipeline } from './ticket-store-context.js';

/** How long a minute's hash lives after its last write, in seconds (twice the page's hour). */
export const MINUTE_COUNTS_TTL_SECONDS = 2 * 3600;

/** The field a retried attempt counts in. */
export const RETRIED_FIELD = 'retried';

/** The field a Throttling answer of `action` counts in. */
export const throttledField = (action: string): string => `throttled:${action}`;

/** The hash of one minute (minutes since the epoch). */
export function minuteCountsKey(prefix: string, minute: number): string {
  return `${prefix}:ops:m:${minute}`;
}

/** Adds one to `field` in the hash of the minute of `atMs`; never throws. */
export async function countInMinute(
  redis: RedisClient,
  prefix: string,
  field: string,
  atMs: number = Date.now(),
): Promise<void> {
  const key = minuteCountsKey(prefix, Math.floor(atMs / 60_000));
  try {
    await redis.pipeline().hincrby(key, field, 1).expire(key, MINUTE_COUNTS_TTL_SECONDS).exec();
  } catch {
    // best effort: the page shows one event fewer, the event itself is unaffected
  }
}

/** What {@link readMinuteCounts} found, one entry per minute, oldest first. */
export interface MinuteCounts {
  /** Retried attempts. */
  retried: number[];
  /** Throttling answers, all actions. */
  throttled: number[];
  /** Throttling answers by action (only actions that had some). */
  throttledBy: Record<string, number[]>;
}

/** The counters of `minutes` minutes from `firstMinute` on (one pipeline of HGETALLs). */
export async function readMinuteCounts(
  redis: RedisClient,
  prefix: string,
  firstMinute: number,
  minutes: number,
): Promise<MinuteCounts> {
  const batch = multiSlotBatch<Pipeline>(redis);
  for (let i = 0; i < minutes; i++) batch.hgetall(minuteCountsKey(prefix, firstMinute + i));
  const results = (await batch.exec()) ?? [];
  const out: MinuteCounts = {
    retried: new Array<number>(minutes).fill(0),
    throttled: new Array<number>(minutes).fill(0),
    throttledBy: {},
  };
  results.forEach(([err, value], i) => {
    if (err) throw err;
    for (const [field, text] of Object.entries((value ?? {}) as Record<string, string>)) {
      const n = Number(text);
      if (!Number.isSafeInteger(n) || n <= 0) continue;
      if (field === RETRIED_FIELD) out.retried[i] = n;
      else if (field.startsWith('throttled:')) {
        const action = field.slice('throttled:'.length);
        out.throttled[i] = (out.throttled[i] ?? 0) + n;
        const series = (out.throttledBy[action] ??= new Array<number>(minutes).fill(0));
        series[i] = n;
      }
    }
  });
  return out;
}
