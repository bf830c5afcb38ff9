/**
 * The writes that advance a ticket: a transition (the APPLY script, then the state indexes), a
 * recorded attempt error (RECORD_ERROR) and the submit mark (MARK_IF_VERSION). Used by
 * `RedisTicketStore`; the key layout is described in `ticket-store.ts`.
 */
import { TicketNotFoundError } from '../../errors.js';
import {
  isTerminal,
  type HistoryEntry,
  type Ticket,
  type TicketError,
  type TicketState,
} from '../../domain/ticket.js';
import { encodeTransition } from './ticket-codec.js';
import { execIndexUpdate, type Pipeline, type StoreContext } from './ticket-store-context.js';
import type { ApplyOutcome, RecordErrorOutcome } from './ticket-store-port.js';
import { multiSlotBatch } from './connection.js';

/** `TicketStore.apply`: the compare-and-set write, then the move between state indexes. */
export async function applyTransition(
  ctx: StoreContext,
  ticketId: string,
  expectedVersion: number,
  next: Ticket,
  history: HistoryEntry,
): Promise<ApplyOutcome> {
  if (next.ticketId !== ticketId) {
    throw new RangeError(`apply: next.ticketId ${next.ticketId} is not ${ticketId}`);
  }
  if (next.version !== expectedVersion + 1) {
    throw new RangeError(
      `apply: next.version ${next.version} must be expectedVersion + 1 (${expectedVersion + 1})`,
    );
  }
  // every field absent from `next` is named for deletion: the script deletes those it finds
  const { set, del } = encodeTransition(ctx.cipher, next);
  const ttl = isTerminal(next.state) ? ctx.retentionSeconds : 0;
  const reply = await ctx.scripts.ticketStoreApply(
    ctx.keys.ticket(ticketId),
    ctx.keys.history(ticketId),
    expectedVersion,
    JSON.stringify(history),
    ttl,
    set.length / 2,
    ...set,
    ...del,
  );
  if (reply[0] === 'missing') return 'missing';
  if (reply[0] === 'conflict') return 'conflict';
  const previous = reply[1];
  const pipeline = multiSlotBatch<Pipeline>(ctx.redis);
  if (previous !== undefined && previous !== null && previous !== next.state) {
    pipeline.zrem(ctx.keys.state(previous as TicketState), ticketId);
  }
  pipeline.zadd(ctx.keys.state(next.state), next.updatedAt, ticketId);
  await execIndexUpdate(ctx, pipeline, ticketId);
  return 'applied';
}

/** `TicketStore.recordAttemptError`. */
export async function recordAttemptError(
  ctx: StoreContext,
  ticketId: string,
  expectedVersion: number,
  error: TicketError,
): Promise<RecordErrorOutcome> {
  const [result, attempts] = await ctx.scripts.ticketStoreRecordError(
    ctx.keys.ticket(ticketId),
    expectedVersion,
    JSON.stringify(error),
  );
  if (result === 'missing') throw new TicketNotFoundError(ticketId);
  if (result === 'conflict') return { result: 'conflict' };
  return { result: 'applied', attempts: Number(attempts), version: expectedVersion + 1 };
}

/** `TicketStore.markSubmitStarted`. */
export function markSubmitStarted(
  ctx: StoreContext,
  ticketId: string,
  at: number,
  expectedVersion: number,
  previousMark: number | undefined,
): Promise<'applied' | 'conflict'> {
  return markIfVersion(ctx, ticketId, expectedVersion, 'submitStartedAt', previousMark, [at]);
}

/**
 * Sets `field` to `value` if the ticket is at `expectedVersion` and `field` still holds `read`
 * (undefined: none); no transition, no bump.
 */
export async function markIfVersion(
  ctx: StoreContext,
  ticketId: string,
  expectedVersion: number,
  field: string,
  read: number | undefined,
  [value]: [number],
): Promise<'applied' | 'conflict'> {
  const [result] = await ctx.scripts.ticketStoreMarkIfVersion(
    ctx.keys.ticket(ticketId),
    expectedVersion,
    field,
    read === undefined ? '' : String(read),
    field,
    value,
  );
  if (result === 'missing') throw new TicketNotFoundError(ticketId);
  return result === 'applied' ? 'applied' : 'conflict';
}
