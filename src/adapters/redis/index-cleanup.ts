/**
 * The cleanup of the ticket store's indexes, run by the reconciler's round (one process a round,
 * under its lock) so that every read of the store stays a read. Index entries are written after
 * their ticket's script (see `ticket-store.ts`), so an entry can outlive its ticket or its state:
 *
 * 1. A finished ticket's hash expires after the retention; its entry in its state's index is
 *    scored by its last transition, so every entry below `now - retention` is dropped in one
 *    `ZREMRANGEBYSCORE` per finished state.
 * 2. An unfinished state's index (small: the tickets in flight) is read whole; an entry whose
 *    ticket is gone or in another state (a crash between a transition and its index update, or
 *    two updates landing out of order) is dropped.
 * 3. `all` and the batch indexes are scored by creation, and a ticket expires at least the
 *    retention after it was created: only entries below `now - retention` can have lost their
 *    ticket, and only those are checked, `maxChecks` at most a round with the batches.
 * 4. Batches are found through `<p>:idx:batches` (batch id by the creation of its newest ticket):
 *    a batch whose newest ticket is older than the retention has its entries checked, and leaves
 *    the registry once its index is empty.
 *
 * An entry is removed only if its score is still the one read (REMOVE_IF_SCORE): a ticket that
 * came back to the state meanwhile keeps its new entry. Left alone: an entry of a finished state
 * whose ticket is now in another one (a retried ticket whose index update failed) drops out with
 * the retention (step 1); listings skip it until then.
 */
import { multiSlotBatch, type RedisClient } from './connection.js';
import { TERMINAL_STATES, TicketState } from '../../domain/ticket.js';
import type { StoreScripts } from './scripts.js';
import { entriesAfter, type IndexEntry, type ticketStoreKeys } from './ticket-index.js';
import type { Pipeline } from './ticket-store-context.js';

/** What {@link cleanIndexes} works with. */
export interface CleanupContext {
  redis: RedisClient;
  keys: ReturnType<typeof ticketStoreKeys>;
  scripts: StoreScripts;
  /** How long a finished ticket is kept, in seconds. */
  retentionSeconds: number;
  /** ms since the epoch. */
  now: number;
}

/** What a cleanup did. */
export interface IndexCleanupReport {
  /** Entries of finished tickets past the retention dropped from the finished states' indexes. */
  expired: number;
  /** Entries dropped from the unfinished states' indexes: their ticket is gone or moved on. */
  stale: number;
  /** Entries dropped from `all` and the batch indexes: their ticket is gone. */
  gone: number;
  /** Batches whose index emptied, dropped from the batch registry. */
  batchesEmptied: number;
  /** Entries of `all` and of batches checked; the round stops at `maxChecks` and the next goes on. */
  checked: number;
}

/** Entries read per round trip. */
const CHUNK = 500;

const UNFINISHED = Object.values(TicketState).filter((s) => !TERMINAL_STATES.includes(s));

/** Runs the cleanup (see the module comment); `maxChecks` bounds steps 3 and 4. */
export async function cleanIndexes(
  ctx: CleanupContext,
  maxChecks: number,
): Promise<IndexCleanupReport> {
  const cutoff = ctx.now - ctx.retentionSeconds * 1000;
  const report: IndexCleanupReport = {
    expired: await dropExpired(ctx, cutoff),
    stale: 0,
    gone: 0,
    batchesEmptied: 0,
    checked: 0,
  };
  for (const state of UNFINISHED) report.stale += await dropStale(ctx, state);
  const budget = { left: maxChecks };
  const all = await dropGone(ctx, ctx.keys.all, cutoff, budget, undefined);
  report.gone += all.removed;
  for (let offset = 0; budget.left > 0;) {
    const raw = await ctx.redis.zrange(
      ctx.keys.batches,
      '-inf',
      `(${cutoff}`,
      'BYSCORE',
      'LIMIT',
      offset,
      CHUNK,
      'WITHSCORES',
    );
    const batches = pairs(raw);
    for (const batch of batches) {
      if (budget.left <= 0) break;
      const { removed, empty } = await dropGone(
        ctx,
        ctx.keys.batch(batch.member),
        cutoff,
        budget,
        batch.member,
      );
      report.gone += removed;
      if (empty && (await removeIfScore(ctx, ctx.keys.batches, [batch])) === 1) {
        report.batchesEmptied++;
      } else {
        offset++;
      }
    }
    if (batches.length < CHUNK) break;
  }
  report.checked = maxChecks - budget.left;
  return report;
}

/** Step 1: the finished states' entries below `cutoff`. */
async function dropExpired(ctx: CleanupContext, cutoff: number): Promise<number> {
  const pipeline = multiSlotBatch<Pipeline>(ctx.redis);
  for (const state of TERMINAL_STATES) {
    pipeline.zremrangebyscore(ctx.keys.state(state), '-inf', `(${cutoff}`);
  }
  let removed = 0;
  for (const [err, n] of (await pipeline.exec()) ?? []) {
    if (err) throw err;
    removed += Number(n);
  }
  return removed;
}

/** Step 2: the entries of `state`'s index whose ticket is gone or in another state. */
async function dropStale(ctx: CleanupContext, state: TicketState): Promise<number> {
  const key = ctx.keys.state(state);
  let removed = 0;
  let position: IndexEntry | undefined;
  for (;;) {
    const entries = await entriesAfter(ctx.redis, key, position, CHUNK);
    const rows = await ticketFields(ctx, entries, 'state');
    removed += await removeIfScore(
      ctx,
      key,
      entries.filter((_, i) => rows[i]?.[0] !== state),
    );
    position = entries.at(-1);
    if (entries.length < CHUNK) return removed;
  }
}

/**
 * Steps 3 and 4: the entries of `key` below `cutoff` whose ticket is gone (or, for a batch's
 * index, belongs to another batch: a TicketId used again after it expired), oldest first, while
 * the budget lasts. `empty`: the index has no entry left.
 */
async function dropGone(
  ctx: CleanupContext,
  key: string,
  cutoff: number,
  budget: { left: number },
  batchId: string | undefined,
): Promise<{ removed: number; empty: boolean }> {
  let removed = 0;
  // entries kept stay below the cutoff: the next chunk starts after them
  for (let kept = 0; budget.left > 0;) {
    const count = Math.min(CHUNK, budget.left);
    const raw = await ctx.redis.zrange(
      key,
      '-inf',
      `(${cutoff}`,
      'BYSCORE',
      'LIMIT',
      kept,
      count,
      'WITHSCORES',
    );
    const entries = pairs(raw);
    budget.left -= entries.length;
    const rows = await ticketFields(ctx, entries, 'state', 'batchId');
    const gone = entries.filter((_, i) => {
      const [state, batch] = rows[i] ?? [];
      return !state || (batchId !== undefined && batch !== batchId);
    });
    removed += await removeIfScore(ctx, key, gone);
    kept += entries.length - gone.length;
    if (entries.length < count) break;
  }
  return { removed, empty: (await ctx.redis.exists(key)) === 0 };
}

/** `fields` of each entry's ticket, in order (null where absent). */
async function ticketFields(
  ctx: CleanupContext,
  entries: readonly IndexEntry[],
  ...fields: string[]
): Promise<(string | null)[][]> {
  if (entries.length === 0) return [];
  const pipeline = multiSlotBatch<Pipeline>(ctx.redis);
  for (const e of entries) pipeline.hmget(ctx.keys.ticket(e.member), ...fields);
  return ((await pipeline.exec()) ?? []).map(([err, values]) => {
    if (err) throw err;
    return values as (string | null)[];
  });
}

/** Removes each entry whose score is still the one read; answers how many it removed. */
async function removeIfScore(
  ctx: CleanupContext,
  key: string,
  entries: readonly IndexEntry[],
): Promise<number> {
  const removed = await Promise.all(
    entries.map((e) => ctx.scripts.ticketStoreRemoveIfScore(key, e.member, e.score)),
  );
  return removed.reduce((a, b) => a + Number(b), 0);
}

/** `ZRANGE … WITHSCORES` as entries. */
function pairs(raw: readonly string[]): IndexEntry[] {
  const out: IndexEntry[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    out.push({ member: raw[i] as string, score: Number(raw[i + 1]) });
  }
  return out;
}
