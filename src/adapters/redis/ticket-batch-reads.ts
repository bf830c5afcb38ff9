/**
 * Queries over many tickets named by a caller or a batch, read from each ticket's hash rather
 * than the state indexes (which may be stale), a chunk of tickets per round trip. Read only. Used
 * by `RedisTicketStore`; the key layout is described in `ticket-store.ts`.
 */
import { TicketState } from '../../domain/ticket.js';
import { decodeSummary, SUMMARY_FIELDS } from './ticket-codec.js';
import type { Pipeline, StoreContext } from './ticket-store-context.js';
import type { ListedTicket } from './ticket-store-port.js';
import { multiSlotBatch } from './connection.js';

/** Tickets read per round trip by the batch and existence queries. */
export const BATCH_READ_CHUNK = 500;

/** `TicketStore.existing`. */
export async function existingTickets(
  ctx: StoreContext,
  ticketIds: readonly string[],
): Promise<Set<string>> {
  const found = new Set<string>();
  for (let i = 0; i < ticketIds.length; i += BATCH_READ_CHUNK) {
    const ids = ticketIds.slice(i, i + BATCH_READ_CHUNK);
    const pipeline = multiSlotBatch<Pipeline>(ctx.redis);
    for (const id of ids) pipeline.exists(ctx.keys.ticket(id));
    const results = (await pipeline.exec()) ?? [];
    ids.forEach((id, j) => {
      const [err, n] = results[j] ?? [null, 0];
      if (err) throw err;
      if (Number(n) > 0) found.add(id);
    });
  }
  return found;
}

/** `TicketStore.countBatch`. */
export async function countBatch(
  ctx: StoreContext,
  batchId: string,
): Promise<Record<TicketState, number>> {
  const counts = Object.fromEntries(Object.values(TicketState).map((s) => [s, 0])) as Record<
    TicketState,
    number
  >;
  for await (const ids of batchMembers(ctx, batchId, BATCH_READ_CHUNK)) {
    const pipeline = multiSlotBatch<Pipeline>(ctx.redis);
    for (const id of ids) pipeline.hmget(ctx.keys.ticket(id), 'state', 'batchId');
    for (const [err, values] of (await pipeline.exec()) ?? []) {
      if (err) throw err;
      const [state, batch] = values as (string | null)[];
      if (
        batch === batchId &&
        state !== null &&
        state !== undefined &&
        Object.hasOwn(counts, state)
      ) {
        counts[state as TicketState]++;
      }
    }
  }
  return counts;
}

/** `TicketStore.batchTickets` (errors as Redis raised them). */
export async function* batchTickets(
  ctx: StoreContext,
  batchId: string,
  pageSize: number,
): AsyncGenerator<ListedTicket> {
  for await (const ids of batchMembers(ctx, batchId, pageSize)) {
    const pipeline = multiSlotBatch<Pipeline>(ctx.redis);
    for (const id of ids) pipeline.hmget(ctx.keys.ticket(id), ...SUMMARY_FIELDS);
    const rows = (await pipeline.exec()) ?? [];
    for (const [i, id] of ids.entries()) {
      const [err, values] = rows[i] ?? [null, null];
      if (err) throw err;
      const ticket = decodeSummary(id, (values as (string | null)[] | null) ?? []);
      if (ticket?.batchId === batchId) yield ticket;
    }
  }
}

/**
 * The batch index's members, oldest first, by rank. A batch's index grows at its end; only an
 * expired ticket's entry is ever removed (by the index cleanup), which may shift one entry
 * unread.
 */
async function* batchMembers(
  ctx: StoreContext,
  batchId: string,
  chunk: number,
): AsyncGenerator<string[]> {
  const key = ctx.keys.batch(batchId);
  for (let start = 0; ; start += chunk) {
    const ids = await ctx.redis.zrange(key, String(start), String(start + chunk - 1));
    if (ids.length > 0) yield ids;
    if (ids.length < chunk) return;
  }
}
