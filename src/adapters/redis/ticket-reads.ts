/**
 * Reads of one ticket: the ticket, its encrypted fields decrypted, its history. Read only. Used by
 * `RedisTicketStore`; the key layout is described in `ticket-store.ts`.
 */
import type { TicketBinding } from '../../domain/binding.js';
import type { HistoryEntry } from '../../domain/ticket.js';
import { PersonalDataErasedError, TicketNotFoundError, type ErasureReason } from '../../errors.js';
import { decodeBinding, decodeTicket, openJson, TICKET_FIELDS } from './ticket-codec.js';
import type { StoreContext } from './ticket-store-context.js';
import type { Applicant, StoredTicket } from './ticket-store-port.js';

/** `TicketStore.get`. */
export async function getTicket(
  ctx: StoreContext,
  ticketId: string,
): Promise<StoredTicket | undefined> {
  const values = await ctx.redis.hmget(ctx.keys.ticket(ticketId), ...TICKET_FIELDS);
  return decodeTicket(ctx.cipher, ticketId, values);
}

/** `TicketStore.getBinding`. */
export async function getBinding(ctx: StoreContext, ticketId: string): Promise<TicketBinding> {
  const [state, sealed, erasure] = await ctx.redis.hmget(
    ctx.keys.ticket(ticketId),
    'state',
    'binding',
    'erasure',
  );
  if (state === null || state === undefined) throw new TicketNotFoundError(ticketId);
  return bindingOf(ctx, ticketId, sealed ?? null, erasure ?? null);
}

/**
 * The decoded binding; a {@link PersonalDataErasedError} when it was erased (rather than the
 * corrupt-binding error an absent one is otherwise).
 */
function bindingOf(
  ctx: StoreContext,
  ticketId: string,
  sealed: string | null,
  erasure: string | null,
): TicketBinding {
  if (sealed === null && erasure !== null) {
    throw new PersonalDataErasedError(ticketId, erasure as ErasureReason);
  }
  return decodeBinding(ctx.cipher, ticketId, sealed);
}

/** `TicketStore.getUserData`. */
export async function getUserData(ctx: StoreContext, ticketId: string): Promise<unknown> {
  const sealed = await ctx.redis.hget(ctx.keys.ticket(ticketId), 'userData');
  return openUserData(ctx, ticketId, sealed);
}

/** `TicketStore.getApplicant`: the binding and the user data in one HMGET. */
export async function getApplicant(ctx: StoreContext, ticketId: string): Promise<Applicant> {
  const [state, binding, userData, erasure, metaInfo] = await ctx.redis.hmget(
    ctx.keys.ticket(ticketId),
    'state',
    'binding',
    'userData',
    'erasure',
    'metaInfo',
  );
  if (state === null || state === undefined) throw new TicketNotFoundError(ticketId);
  return {
    binding: bindingOf(ctx, ticketId, binding ?? null, erasure ?? null),
    userData: openUserData(ctx, ticketId, userData ?? null),
    metaInfo:
      metaInfo === null || metaInfo === undefined
        ? undefined
        : (openJson(ctx.cipher, ticketId, 'metaInfo', metaInfo) as string),
  };
}

/** `TicketStore.history`. */
export async function readHistory(ctx: StoreContext, ticketId: string): Promise<HistoryEntry[]> {
  const lines = await ctx.redis.lrange(ctx.keys.history(ticketId), 0, -1);
  return lines.map((line) => JSON.parse(line) as HistoryEntry);
}

function openUserData(ctx: StoreContext, ticketId: string, sealed: string | null): unknown {
  return sealed === null ? undefined : openJson(ctx.cipher, ticketId, 'userData', sealed);
}
