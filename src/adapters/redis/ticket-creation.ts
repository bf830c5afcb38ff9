/**
 * The creation of tickets (the CREATE script, then their index entries) and the taking back of
 * those whose job could not be added (DISCARD_CREATED). Used by `RedisTicketStore`; the key
 * layout is described in `ticket-store.ts`.
 */
import { randomBytes } from 'node:crypto';
import { TicketState } from '../../domain/ticket.js';
import { isNoScriptReply, scriptsLoaded, storePipeline } from './scripts.js';
import { isOutOfMemoryReply, storeFullOf } from './store-full.js';
import { unavailableWhenDown } from './store-unavailable.js';
import { decodeTicket, encodeNewTicket, SUMMARY_FIELDS, TICKET_FIELDS } from './ticket-codec.js';
import { discardCreations } from './ticket-repair.js';
import {
  indexUpdateError,
  repairContextOf,
  type Pipeline,
  type StoreContext,
} from './ticket-store-context.js';
import type { CreateResult, NewTicket } from './ticket-store-port.js';
import { multiSlotBatch } from './connection.js';

/** A create script's answer. */
type Reply = readonly (string | number)[];

/** `TicketStore.createMany`: one pipeline of create scripts, one of index updates. */
export async function createTickets(
  ctx: StoreContext,
  inputs: readonly NewTicket[],
): Promise<CreateResult[]> {
  if (inputs.length === 0) return [];
  const now = ctx.clock();
  const token = randomBytes(8).toString('hex');
  const encoded = inputs.map((input) => encodeNewTicket(ctx.cipher, input, now));
  await scriptsLoaded(ctx.redis);
  const creates = multiSlotBatch<Pipeline>(ctx.redis);
  const scripts = storePipeline(creates);
  inputs.forEach((input, i) => {
    scripts.ticketStoreCreate(
      ctx.keys.ticket(input.ticketId),
      ctx.keys.history(input.ticketId),
      token,
      TICKET_FIELDS.length,
      ...TICKET_FIELDS,
      ...(encoded[i] ?? []),
    );
  });
  const replies = (await creates.exec()) ?? [];
  const indexes = multiSlotBatch<Pipeline>(ctx.redis);
  let failure: Error | undefined;
  const results: CreateResult[] = [];
  inputs.forEach((input, i) => {
    const [err, reply] = replies[i] ?? [new Error('no reply')];
    if (err) {
      // Redis full is the cause to report; a NOSCRIPT beside it came of the same refusal
      if (failure === undefined || (isOutOfMemoryReply(err) && !isOutOfMemoryReply(failure))) {
        failure = err;
      }
      if (isNoScriptReply(err)) void scriptsLoaded(ctx.redis, true);
    } else {
      const r = createResult(ctx, input, encoded[i] ?? [], reply as Reply, indexes, now);
      results.push(r.created ? { ...r, creation: token } : r);
    }
  });
  for (const [batchId, newest] of newestByBatch(results)) {
    indexes.zadd(ctx.keys.batches, 'GT', newest, batchId);
  }
  if (failure === undefined && indexes.length > 0) failure = await indexUpdateError(indexes);
  if (failure !== undefined) {
    await unavailableWhenDown(() => discardCreatedTickets(ctx, results)).catch((err: unknown) =>
      ctx.logger?.warn(
        { err: { message: err instanceof Error ? err.message : String(err) } },
        'could not take back tickets after a failed create; the reconciler will queue them',
      ),
    );
    throw storeFullOf(failure) ?? failure;
  }
  return results;
}

/** `TicketStore.discardCreated`: results not created by a call are ignored. */
export function discardCreatedTickets(
  ctx: StoreContext,
  results: readonly CreateResult[],
): Promise<string[]> {
  return discardCreations(
    repairContextOf(ctx),
    results.flatMap((r) =>
      r.created && r.creation !== undefined
        ? [
            {
              ticketId: r.ticket.ticketId,
              token: r.creation,
              createdAt: r.ticket.createdAt,
              ...(r.ticket.batchId === undefined ? {} : { batchId: r.ticket.batchId }),
            },
          ]
        : [],
    ),
  );
}

/** One create script's answer as a result; queues the new ticket's index updates. */
function createResult(
  ctx: StoreContext,
  input: NewTicket,
  fields: readonly string[],
  reply: Reply,
  indexes: Pipeline,
  now: number,
): CreateResult {
  const { ticketId } = input;
  if (reply[0] === 0) {
    const values = reply.slice(1).map((v) => (typeof v === 'string' ? v : null));
    const ticket = decodeTicket(ctx.cipher, ticketId, values);
    if (ticket === undefined) throw new Error(`ticket ${ticketId}: stored hash has no state`);
    // a crash between a ticket's write and its index updates leaves it out of the indexes:
    // the producer's repeat puts it back (NX: a present entry keeps its score)
    indexes.zadd(ctx.keys.all, 'NX', ticket.createdAt, ticketId);
    indexes.zadd(ctx.keys.state(ticket.state), 'NX', ticket.updatedAt, ticketId);
    if (ticket.batchId !== undefined) {
      indexes.zadd(ctx.keys.batch(ticket.batchId), 'NX', ticket.createdAt, ticketId);
    }
    return { created: false, ticket, payloadHash: ticket.payloadHash };
  }
  indexes.zadd(ctx.keys.all, now, ticketId);
  indexes.zadd(ctx.keys.state(TicketState.queued), now, ticketId);
  if (input.batchId !== undefined) indexes.zadd(ctx.keys.batch(input.batchId), now, ticketId);
  const ticket = decodeTicket(ctx.cipher, ticketId, [
    ...SUMMARY_FIELDS.map((f) => fieldOf(fields, f)),
    null,
  ]);
  if (ticket === undefined) throw new Error(`ticket ${ticketId}: encoding lost its state`);
  return { created: true, ticket, payloadHash: input.payloadHash };
}

/** The creation time of the newest ticket of each batch among `results`. */
function newestByBatch(results: readonly CreateResult[]): Map<string, number> {
  const newest = new Map<string, number>();
  for (const { ticket } of results) {
    if (ticket.batchId === undefined) continue;
    newest.set(ticket.batchId, Math.max(newest.get(ticket.batchId) ?? 0, ticket.createdAt));
  }
  return newest;
}

function fieldOf(pairs: readonly string[], field: string): string | null {
  for (let i = 0; i + 1 < pairs.length; i += 2) {
    if (pairs[i] === field) return pairs[i + 1] ?? null;
  }
  return null;
}
