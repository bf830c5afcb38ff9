/**
 * The store's side of data minimisation: erasing a ticket's personal data (the ERASE_APPLICANT
 * script) and the schedule of erasures, `<p>:erase:due`, a sorted set of ticket ids by the time
 * (ms) their personal data is due to go. The schedule is a list of hints, written before the
 * transition that makes a ticket due (so a crash right after the transition loses no erasure) and
 * checked against the ticket when it comes due (`src/flow/personal-data.ts`).
 */
import type { ErasureReason } from '../../errors.js';
import type { TicketState } from '../../domain/ticket.js';
import { maskIdNumber, maskName } from '../../domain/mask.js';
import { decodeBinding } from './ticket-codec.js';
import type { StoreContext } from './ticket-store-context.js';
import type { MaskedApplicant } from './ticket-store-port.js';

/** What {@link eraseApplicant} answers. */
export type EraseOutcome =
  | {
      result: 'erased';
      state: TicketState;
      /** The ticket's version now (the erasure bumps it, but for passed, not_passed, cancelled). */
      version: number;
      /** The first erasure's record (an erasure again keeps it). */
      erasedAt: number;
      erasure: ErasureReason;
    }
  | { result: 'conflict' }
  | { result: 'missing' };

/** `TicketStore.eraseApplicant`. */
export async function eraseApplicant(
  ctx: StoreContext,
  ticketId: string,
  at: number,
  reason: ErasureReason,
  expectedVersion?: number,
): Promise<EraseOutcome> {
  const hash = ctx.keys.ticket(ticketId);
  // the applicant as the API shows it stays in place of the binding
  const [sealed] = await ctx.redis.hmget(hash, 'binding');
  const reply = await ctx.scripts.ticketStoreEraseApplicant(
    hash,
    expectedVersion ?? '',
    at,
    reason,
    sealed === null || sealed === undefined ? '' : maskedOrNone(ctx, ticketId, sealed),
  );
  if (reply[0] === 'missing') return { result: 'missing' };
  if (reply[0] === 'conflict') return { result: 'conflict' };
  return {
    result: 'erased',
    state: reply[1] as TicketState,
    version: Number(reply[2]),
    erasedAt: Number(reply[3]),
    erasure: reply[4] as ErasureReason,
  };
}

/** `TicketStore.scheduleErasure`: due at `at` (an earlier schedule is moved). */
export async function scheduleErasure(
  ctx: StoreContext,
  ticketId: string,
  at: number,
): Promise<void> {
  await ctx.redis.zadd(ctx.keys.eraseDue, at, ticketId);
}

/** `TicketStore.unscheduleErasure`. */
export async function unscheduleErasure(ctx: StoreContext, ticketId: string): Promise<void> {
  await ctx.redis.zrem(ctx.keys.eraseDue, ticketId);
}

/** `TicketStore.dueErasures`: up to `limit` ticket ids due at `now`, the earliest first. */
export async function dueErasures(
  ctx: StoreContext,
  now: number,
  limit: number,
): Promise<string[]> {
  return ctx.redis.zrangebyscore(ctx.keys.eraseDue, '-inf', now, 'LIMIT', 0, limit);
}

/**
 * {@link maskedOf}, or an applicant with nothing to show when the binding no longer decrypts (the
 * key was changed): the erasure must not depend on reading what it erases.
 */
function maskedOrNone(ctx: StoreContext, ticketId: string, sealed: string): string {
  try {
    return maskedOf(ctx, ticketId, sealed);
  } catch {
    return JSON.stringify({ masked: true } satisfies MaskedApplicant);
  }
}

/** The binding's name and ID number masked, as JSON ({@link MaskedApplicant}). */
function maskedOf(ctx: StoreContext, ticketId: string, sealed: string): string {
  const binding = decodeBinding(ctx.cipher, ticketId, sealed);
  const masked: MaskedApplicant = { masked: true };
  if (binding.name !== undefined) masked.name = maskName(binding.name);
  if (binding.idNumber !== undefined) masked.idNumber = maskIdNumber(binding.idNumber);
  return JSON.stringify(masked);
}

/**
 * `TicketStore.noteStaging`: intake is about to stage for these tickets (`<p>:staging:intake`, a
 * sorted set of ticket ids by the time, one command per call). The orphan sweep leaves alone the
 * objects of a TicketId staged for within its grace, even when the objects themselves are old (a
 * repeat finds its objects there and writes nothing).
 */
export async function noteStaging(
  ctx: StoreContext,
  ticketIds: readonly string[],
  at: number,
): Promise<void> {
  if (ticketIds.length === 0) return;
  await ctx.redis.zadd(ctx.keys.stagingIntake, ...ticketIds.flatMap((id) => [at, id]));
}

/** `TicketStore.stagingSince`: when intake last staged for the ticket, if it is noted. */
export async function stagingSince(
  ctx: StoreContext,
  ticketId: string,
): Promise<number | undefined> {
  const score = await ctx.redis.zscore(ctx.keys.stagingIntake, ticketId);
  return score === null ? undefined : Number(score);
}

/** `TicketStore.forgetStagingBefore`: drops the notes older than `before` (ms). */
export async function forgetStagingBefore(ctx: StoreContext, before: number): Promise<void> {
  await ctx.redis.zremrangebyscore(ctx.keys.stagingIntake, '-inf', `(${before}`);
}
