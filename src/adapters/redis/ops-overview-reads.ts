/**
 * The ticket store's reads behind the operations page's charts and batch list (`GET
 * /v1/ops/overview`), each bounded and read only:
 * - finished tickets per minute by outcome: one ZCOUNT per finished state and minute over the
 *   state indexes (scored by the ticket's last transition), in one pipeline (a multi-slot batch on
 *   a Cluster, where the indexes sit in different slots);
 * - the newest batches from `<prefix>:idx:batches` (batch id by the creation of its newest ticket);
 * - one batch's progress: each ticket's state and Biz from its hash (the state indexes may be
 *   stale; see `ticket-batch-reads.ts`), a chunk of tickets per round trip.
 * The key layout is `ticket-index.ts`'s.
 */
import { TERMINAL_STATES, TicketState } from '../../domain/ticket.js';
import { multiSlotBatch, type RedisClient } from './connection.js';
import { BATCH_READ_CHUNK } from './ticket-batch-reads.js';
import type { ticketStoreKeys } from './ticket-index.js';
import type { Pipeline } from './ticket-store-context.js';

type Keys = ReturnType<typeof ticketStoreKeys>;

/** A finished state. */
export type FinishedState = 'passed' | 'not_passed' | 'expired' | 'failed' | 'cancelled';

/** Redis's clock, in ms since the epoch (the limiter's slots use it too). */
export async function redisNowMs(redis: RedisClient): Promise<number> {
  const [seconds, micros] = await redis.time();
  return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
}

/**
 * Tickets that reached each finished state in each of `minutes` minutes from `firstMinute` on
 * (minutes since the epoch), oldest first. A ticket counts once, in the minute of its last
 * transition, while it stays in that state (a retried one leaves it).
 */
export async function finishedPerMinute(
  redis: RedisClient,
  keys: Keys,
  firstMinute: number,
  minutes: number,
): Promise<Record<FinishedState, number[]>> {
  const states = TERMINAL_STATES as readonly FinishedState[];
  const batch = multiSlotBatch<Pipeline>(redis);
  for (const state of states) {
    for (let i = 0; i < minutes; i++) {
      const from = (firstMinute + i) * 60_000;
      batch.zcount(keys.state(state), from, `(${from + 60_000}`);
    }
  }
  const results = (await batch.exec()) ?? [];
  const out = {} as Record<FinishedState, number[]>;
  states.forEach((state, s) => {
    out[state] = Array.from({ length: minutes }, (_, i) => {
      const [err, n] = results[s * minutes + i] ?? [null, 0];
      if (err) throw err;
      return Number(n);
    });
  });
  return out;
}

/** A batch in the registry. */
export interface BatchEntry {
  batchId: string;
  /** When its newest ticket was created, ms since the epoch. */
  lastCreatedAt: number;
}

/** The `count` batches whose newest ticket is newest, newest first. */
export async function newestBatches(
  redis: RedisClient,
  keys: Keys,
  count: number,
): Promise<BatchEntry[]> {
  const raw = await redis.zrange(keys.batches, '0', String(count - 1), 'REV', 'WITHSCORES');
  const out: BatchEntry[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    out.push({ batchId: raw[i] as string, lastCreatedAt: Number(raw[i + 1]) });
  }
  return out;
}

/** What one batch's tickets are doing. */
export interface BatchProgressRead {
  /** Tickets per state. */
  byState: Record<TicketState, number>;
  /** Unfinished tickets per Biz and state (for the time left). */
  unfinished: Record<string, Partial<Record<TicketState, number>>>;
}

/** Reads every ticket of `batchId` (state, batch and Biz of each), {@link BATCH_READ_CHUNK} a round trip. */
export async function readBatchProgress(
  redis: RedisClient,
  keys: Keys,
  batchId: string,
): Promise<BatchProgressRead> {
  const byState = Object.fromEntries(Object.values(TicketState).map((s) => [s, 0])) as Record<
    TicketState,
    number
  >;
  const unfinished: BatchProgressRead['unfinished'] = {};
  const key = keys.batch(batchId);
  for (let start = 0; ; start += BATCH_READ_CHUNK) {
    const ids = await redis.zrange(key, String(start), String(start + BATCH_READ_CHUNK - 1));
    const batch = multiSlotBatch<Pipeline>(redis);
    for (const id of ids) batch.hmget(keys.ticket(id), 'state', 'batchId', 'biz');
    for (const [err, values] of ids.length > 0 ? ((await batch.exec()) ?? []) : []) {
      if (err) throw err;
      const [state, batchOf, biz] = values as (string | null)[];
      // a ticket gone (past retention) or of another batch (an index entry left behind) is skipped
      if (batchOf !== batchId || !state || !Object.hasOwn(byState, state)) continue;
      const s = state as TicketState;
      byState[s]++;
      if (!TERMINAL_STATES.includes(s) && biz) {
        const perState = (unfinished[biz] ??= {});
        perState[s] = (perState[s] ?? 0) + 1;
      }
    }
    if (ids.length < BATCH_READ_CHUNK) break;
  }
  return { byState, unfinished };
}
