/**
 * Queries over the indexes: the count of tickets per state and the listings, newest first. Read
 * only: an index entry whose ticket is gone or moved on is skipped or counted out, and left to the
 * reconciler's round (see `ticket-store.ts` on staleness). Used by `RedisTicketStore`.
 */
import { isTerminal, TicketState } from '../../domain/ticket.js';
import { ValidationError } from '../../errors.js';
import { decodeSummary, SUMMARY_FIELDS } from './ticket-codec.js';
import { decodeCursor, encodeCursor, entriesAfter } from './ticket-index.js';
import type { Pipeline, StoreContext } from './ticket-store-context.js';
import type { ListedTicket, ListQuery, TicketPage } from './ticket-store-port.js';
import { multiSlotBatch } from './connection.js';

/** `TicketStore.countByState`. */
export async function countByState(ctx: StoreContext): Promise<Record<TicketState, number>> {
  const states = Object.values(TicketState);
  const cutoff = ctx.clock() - ctx.retentionSeconds * 1000;
  const pipeline = multiSlotBatch<Pipeline>(ctx.redis);
  for (const state of states) {
    // a finished entry older than the retention is an expired ticket's (the reconciler's
    // round drops it): not counted
    if (isTerminal(state)) pipeline.zcount(ctx.keys.state(state), cutoff, '+inf');
    else pipeline.zcard(ctx.keys.state(state));
  }
  const results = (await pipeline.exec()) ?? [];
  const counts = {} as Record<TicketState, number>;
  states.forEach((state, i) => {
    const [err, count] = results[i] ?? [null, 0];
    if (err) throw err;
    counts[state] = Number(count);
  });
  return counts;
}

/** `TicketStore.list`. */
export async function listTickets(ctx: StoreContext, query: ListQuery): Promise<TicketPage> {
  if (!Number.isSafeInteger(query.limit) || query.limit < 1) {
    throw new ValidationError('limit', 'must be a positive integer');
  }
  const { state, batchId, limit } = query;
  const key =
    batchId !== undefined
      ? ctx.keys.batch(batchId)
      : state !== undefined
        ? ctx.keys.state(state)
        : ctx.keys.all;
  let position = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
  const tickets: ListedTicket[] = [];
  const chunk = limit + 1;
  for (;;) {
    const entries = await entriesAfter(ctx.redis, key, position, chunk);
    const pipeline = multiSlotBatch<Pipeline>(ctx.redis);
    for (const entry of entries) pipeline.hmget(ctx.keys.ticket(entry.member), ...SUMMARY_FIELDS);
    const rows = entries.length === 0 ? [] : ((await pipeline.exec()) ?? []);
    for (const [i, entry] of entries.entries()) {
      if (tickets.length === limit) {
        return position === undefined
          ? { tickets }
          : { tickets, nextCursor: encodeCursor(position) };
      }
      position = entry;
      const [err, values] = rows[i] ?? [null, null];
      if (err) throw err;
      const ticket = decodeSummary(entry.member, (values as (string | null)[] | null) ?? []);
      // an entry whose ticket is gone or moved on is skipped (the reconciler's round drops it)
      const belongs =
        ticket !== undefined &&
        (batchId === undefined || ticket.batchId === batchId) &&
        (state === undefined || ticket.state === state);
      if (belongs) tickets.push(ticket);
    }
    if (entries.length < chunk) return { tickets };
  }
}
