/**
 * The ticket store: the port ({@link TicketStore}, declared in `ticket-store-port.ts`) and its
 * Redis adapter ({@link RedisTicketStore}). This module is the one the rest of the code imports
 * the store from; the adapter's parts each hold one concern: `ticket-creation.ts` (create, take
 * back), `ticket-transitions.ts` (transitions and the other writes), `ticket-reads.ts` (one
 * ticket), `ticket-listing.ts` (counts and listings over the indexes), `ticket-batch-reads.ts`
 * (many tickets by id or batch), `ticket-repair.ts` and `index-cleanup.ts` (the reconciler's
 * repairs), over `ticket-codec.ts` (the hash's fields) and `scripts.ts` (the Lua scripts).
 *
 * Key layout (`<p>` is the prefix, `REDIS_PREFIX`):
 * - `<p>:t:{<ticketId>}`: hash, one ticket (fields in `ticket-codec.ts`; lease, binding and user
 *   data encrypted, see `crypto.ts`).
 * - `<p>:t:{<ticketId>}:h`: list, the ticket's history entries (JSON), oldest first.
 *   The hash tag `{<ticketId>}` puts both keys in one cluster slot, so one script changes both.
 * - `<p>:idx:state:<state>`: sorted set of ticket ids by `updatedAt`.
 * - `<p>:idx:batch:<batchId>` and `<p>:idx:all`: sorted sets of ticket ids by `createdAt`.
 * - `<p>:idx:batches`: sorted set of batch ids by the `createdAt` of their newest ticket, for the
 *   cleanup of the batch indexes.
 *
 * A finished ticket's two keys expire after the retention period, and only a finished ticket's
 * keys have a TTL: the APPLY script removes it only when a ticket leaves a finished state (see
 * `scripts.ts`). Index keys live in other slots,
 * so they are updated after the ticket's script, in a pipeline: a crash in between, or two
 * transitions whose index updates land out of order, leaves an index entry stale, and an expired
 * ticket leaves its entries behind. Reads only read: {@link TicketStore.list} re-checks each
 * ticket's hash and skips entries whose ticket is gone or no longer matches, and
 * {@link TicketStore.countByState} leaves out finished entries older than the retention period.
 * The reconciler's round drops such entries ({@link TicketStore.cleanIndexes}, `index-cleanup.ts`).
 * A ticket missing from its indexes (or finished without an expiry) is found by the reconciler's
 * walk over the tickets' hashes ({@link TicketStore.scanTickets}, {@link TicketStore.restore}).
 *
 * Every method raises a `StoreUnavailableError` (`STORE_UNAVAILABLE`) when Redis cannot be
 * reached (see `store-unavailable.ts`), and a `TicketNotFoundError` (`TICKET_NOT_FOUND`) where it
 * says so.
 *
 * A new ticket's hash keeps the creating call's token in the field `creator` until a repeat of its
 * TicketId is answered: until then that call may take the ticket back
 * ({@link TicketStore.discardCreated}) when its job cannot be added. When Redis is over
 * `maxmemory` every write script is refused whole (see `scripts.ts`), as a `StoreFullError`.
 */
import type { RedisClient, ReplicaWait } from './connection.js';
import type { TicketBinding } from '../../domain/binding.js';
import type { HistoryEntry, Ticket, TicketError, TicketState } from '../../domain/ticket.js';
import type { Logger } from '../../logger.js';
import type { FieldCipher } from './crypto.js';
import { cleanIndexes, type IndexCleanupReport } from './index-cleanup.js';
import { TOUCH_SCRIPT, installScripts } from './scripts.js';
import { storeUnavailableOf, unavailableWhenDown } from './store-unavailable.js';
import {
  BATCH_READ_CHUNK,
  batchTickets,
  countBatch,
  existingTickets,
} from './ticket-batch-reads.js';
import { createTickets, discardCreatedTickets } from './ticket-creation.js';
import {
  dueErasures,
  eraseApplicant,
  forgetStagingBefore,
  noteStaging,
  scheduleErasure,
  stagingSince,
  unscheduleErasure,
  type EraseOutcome,
} from './ticket-erasure.js';
import { TicketNotFoundError, type ErasureReason } from '../../errors.js';
import { ticketStoreKeys } from './ticket-index.js';
import { countByState, listTickets } from './ticket-listing.js';
import { getApplicant, getBinding, getTicket, getUserData, readHistory } from './ticket-reads.js';
import {
  restoreTickets,
  scanTicketIds,
  type RestoredTicket,
  type TicketScanPage,
} from './ticket-repair.js';
import { repairContextOf, type StoreContext } from './ticket-store-context.js';
import type {
  Applicant,
  ApplyOutcome,
  CreateResult,
  ListQuery,
  ListedTicket,
  NewTicket,
  RecordErrorOutcome,
  StoredTicket,
  TicketPage,
  TicketStore,
} from './ticket-store-port.js';
import {
  applyTransition,
  markIfVersion,
  markSubmitStarted,
  recordAttemptError,
} from './ticket-transitions.js';
import { sealJson } from './ticket-codec.js';

export { ticketStoreKeys } from './ticket-index.js';

/**
 * How long a wake signal waits for its job to leave the delayed set. A wake is only a nudge: the
 * job's own re-check comes anyway (the start link's end, the next status poll).
 */
const WAKE_TTL_SECONDS = 3600;
export type { RestoredTicket, TicketScanPage } from './ticket-repair.js';
export type { IndexCleanupReport } from './index-cleanup.js';
export type {
  Applicant,
  ApplyOutcome,
  CreateResult,
  ListedTicket,
  ListQuery,
  NewTicket,
  RecordErrorOutcome,
  StoredTicket,
  TicketPage,
  TicketStore,
} from './ticket-store-port.js';

/** What {@link RedisTicketStore} needs. */
export interface RedisTicketStoreDeps {
  redis: RedisClient;
  /** Key prefix (`REDIS_PREFIX`). */
  prefix: string;
  cipher: FieldCipher;
  /** How long a finished ticket is kept, in seconds (`TICKET_RETENTION_SECONDS`). */
  retentionSeconds: number;
  /** ms since the epoch; default `Date.now`. */
  clock?: () => number;
  /** Told when an index update fails after a ticket changed (the change itself stands). */
  logger?: Pick<Logger, 'warn'>;
  /**
   * Replicas that must hold a ticket before {@link RedisTicketStore.confirmDurable} resolves and
   * a submit mark before {@link RedisTicketStore.markSubmitStarted} does (`REDIS_WAIT_REPLICAS`);
   * default: none.
   */
  replicaWait?: ReplicaWait | undefined;
}

/** Entries of `all` and of the batches {@link RedisTicketStore.cleanIndexes} checks a call by default. */
const DEFAULT_CLEANUP_CHECKS = 10_000;

/**
 * {@link TicketStore} on one Redis connection (see the module comment for the layout, whose hash
 * tags keep each script on one cluster slot).
 */
export class RedisTicketStore implements TicketStore {
  readonly #ctx: StoreContext;
  readonly #replicaWait: ReplicaWait | undefined;

  constructor(deps: RedisTicketStoreDeps) {
    if (!Number.isSafeInteger(deps.retentionSeconds) || deps.retentionSeconds < 1) {
      throw new RangeError('retentionSeconds must be a positive integer');
    }
    this.#ctx = {
      redis: deps.redis,
      prefix: deps.prefix,
      keys: ticketStoreKeys(deps.prefix),
      scripts: installScripts(deps.redis),
      cipher: deps.cipher,
      retentionSeconds: deps.retentionSeconds,
      clock: deps.clock ?? Date.now,
      logger: deps.logger,
    };
    this.#replicaWait = deps.replicaWait;
  }

  async create(input: NewTicket): Promise<CreateResult> {
    const [result] = await this.createMany([input]);
    if (!result) throw new Error('createMany answered nothing');
    return result;
  }

  createMany(inputs: readonly NewTicket[]): Promise<CreateResult[]> {
    return unavailableWhenDown(() => createTickets(this.#ctx, inputs));
  }

  discardCreated(results: readonly CreateResult[]): Promise<string[]> {
    return unavailableWhenDown(() => discardCreatedTickets(this.#ctx, results));
  }

  scanTickets(cursor: string, count: number): Promise<TicketScanPage> {
    return unavailableWhenDown(() =>
      scanTicketIds(this.#ctx.redis, this.#ctx.prefix, cursor, count),
    );
  }

  restore(
    ticketIds: readonly string[],
    options: { createdBefore?: number } = {},
  ): Promise<RestoredTicket[]> {
    return unavailableWhenDown(() =>
      restoreTickets(repairContextOf(this.#ctx), ticketIds, options.createdBefore),
    );
  }

  get(ticketId: string): Promise<StoredTicket | undefined> {
    return unavailableWhenDown(() => getTicket(this.#ctx, ticketId));
  }

  getBinding(ticketId: string): Promise<TicketBinding> {
    return unavailableWhenDown(() => getBinding(this.#ctx, ticketId));
  }

  getUserData(ticketId: string): Promise<unknown> {
    return unavailableWhenDown(() => getUserData(this.#ctx, ticketId));
  }

  getApplicant(ticketId: string): Promise<Applicant> {
    return unavailableWhenDown(() => getApplicant(this.#ctx, ticketId));
  }

  apply(
    ticketId: string,
    expectedVersion: number,
    next: Ticket,
    history: HistoryEntry,
  ): Promise<ApplyOutcome> {
    return unavailableWhenDown(() =>
      applyTransition(this.#ctx, ticketId, expectedVersion, next, history),
    );
  }

  recordAttemptError(
    ticketId: string,
    expectedVersion: number,
    error: TicketError,
  ): Promise<RecordErrorOutcome> {
    return unavailableWhenDown(() =>
      recordAttemptError(this.#ctx, ticketId, expectedVersion, error),
    );
  }

  markSubmitStarted(
    ticketId: string,
    at: number,
    expectedVersion: number,
    previousMark?: number,
  ): Promise<'applied' | 'conflict'> {
    return unavailableWhenDown(async () => {
      const outcome = await markSubmitStarted(
        this.#ctx,
        ticketId,
        at,
        expectedVersion,
        previousMark,
      );
      // the mark guards a paid call: the replicas must hold it before the call is made, or a
      // failover could take it away and let another run pay again
      if (outcome === 'applied') await this.#confirm([ticketId], 'submitStartedAt', at);
      return outcome;
    });
  }

  /**
   * Resolves once the replicas (`replicaWait`) hold the tickets `ticketIds` as this store wrote
   * them; a ticket a failover lost, or fewer replicas within the timeout: a
   * {@link StoreUnavailableError}. Without `replicaWait`, at once.
   */
  confirmDurable(ticketIds: readonly string[]): Promise<void> {
    return this.#confirm(ticketIds, 'version', '');
  }

  /** {@link ReplicaWait.confirm} of the tickets' hashes, touching `field` (holding `expected`). */
  async #confirm(ticketIds: readonly string[], field: string, expected: string | number) {
    const wait = this.#replicaWait;
    if (wait === undefined || wait.replicas === 0) return;
    await wait.confirm(
      this.#ctx.redis,
      ticketIds.map((id) => this.#ctx.keys.ticket(id)),
      (pipeline, key) => pipeline.eval(TOUCH_SCRIPT, 1, key, field, expected),
    );
  }

  markPrechecked(
    ticketId: string,
    at: number,
    expectedVersion: number,
  ): Promise<'applied' | 'conflict'> {
    return unavailableWhenDown(() =>
      markIfVersion(this.#ctx, ticketId, expectedVersion, 'precheckedAt', undefined, [at]),
    );
  }

  async releaseMark(
    ticketId: string,
    mark: 'submitStartedAt' | 'precheckedAt',
    at: number,
  ): Promise<boolean> {
    return unavailableWhenDown(
      async () =>
        (await this.#ctx.scripts.ticketStoreReleaseMark(
          this.#ctx.keys.ticket(ticketId),
          mark,
          at,
        )) === 1,
    );
  }

  async recordStart(
    ticketId: string,
    metaInfo: string,
    at: number,
    expectedVersion: number,
  ): Promise<'applied' | 'started' | 'conflict'> {
    const sealed = sealJson(this.#ctx.cipher, ticketId, 'metaInfo', metaInfo);
    const [result] = await unavailableWhenDown(() =>
      this.#ctx.scripts.ticketStoreRecordStart(
        this.#ctx.keys.ticket(ticketId),
        expectedVersion,
        sealed,
        at,
      ),
    );
    if (result === 'missing') throw new TicketNotFoundError(ticketId);
    return result === 'applied' || result === 'started' ? result : 'conflict';
  }

  async wake(ticketId: string, debounceMs?: number): Promise<boolean> {
    const { redis, keys } = this.#ctx;
    if (debounceMs !== undefined) {
      const first = await unavailableWhenDown(() =>
        redis.set(`${keys.wake(ticketId)}:debounce`, '1', 'PX', debounceMs, 'NX'),
      );
      if (first === null) return false;
    }
    await unavailableWhenDown(() => redis.set(keys.wake(ticketId), '1', 'EX', WAKE_TTL_SECONDS));
    return true;
  }

  async consumeWake(ticketId: string): Promise<boolean> {
    const value = await unavailableWhenDown(() =>
      this.#ctx.redis.getdel(this.#ctx.keys.wake(ticketId)),
    );
    return value !== null;
  }

  eraseApplicant(
    ticketId: string,
    at: number,
    reason: ErasureReason,
    expectedVersion?: number,
  ): Promise<EraseOutcome> {
    return unavailableWhenDown(() =>
      eraseApplicant(this.#ctx, ticketId, at, reason, expectedVersion),
    );
  }

  scheduleErasure(ticketId: string, at: number): Promise<void> {
    return unavailableWhenDown(() => scheduleErasure(this.#ctx, ticketId, at));
  }

  unscheduleErasure(ticketId: string): Promise<void> {
    return unavailableWhenDown(() => unscheduleErasure(this.#ctx, ticketId));
  }

  dueErasures(now: number, limit: number): Promise<string[]> {
    return unavailableWhenDown(() => dueErasures(this.#ctx, now, limit));
  }

  noteStaging(ticketIds: readonly string[], at: number): Promise<void> {
    return unavailableWhenDown(() => noteStaging(this.#ctx, ticketIds, at));
  }

  stagingSince(ticketId: string): Promise<number | undefined> {
    return unavailableWhenDown(() => stagingSince(this.#ctx, ticketId));
  }

  forgetStagingBefore(before: number): Promise<void> {
    return unavailableWhenDown(() => forgetStagingBefore(this.#ctx, before));
  }

  history(ticketId: string): Promise<HistoryEntry[]> {
    return unavailableWhenDown(() => readHistory(this.#ctx, ticketId));
  }

  countByState(): Promise<Record<TicketState, number>> {
    return unavailableWhenDown(() => countByState(this.#ctx));
  }

  list(query: ListQuery): Promise<TicketPage> {
    return unavailableWhenDown(() => listTickets(this.#ctx, query));
  }

  existing(ticketIds: readonly string[]): Promise<Set<string>> {
    return unavailableWhenDown(() => existingTickets(this.#ctx, ticketIds));
  }

  countBatch(batchId: string): Promise<Record<TicketState, number>> {
    return unavailableWhenDown(() => countBatch(this.#ctx, batchId));
  }

  async *batchTickets(batchId: string, pageSize = BATCH_READ_CHUNK): AsyncIterable<ListedTicket> {
    try {
      yield* batchTickets(this.#ctx, batchId, pageSize);
    } catch (err) {
      throw storeUnavailableOf(err) ?? err;
    }
  }

  cleanIndexes(options: { maxChecks?: number } = {}): Promise<IndexCleanupReport> {
    return unavailableWhenDown(() =>
      cleanIndexes(
        {
          redis: this.#ctx.redis,
          keys: this.#ctx.keys,
          scripts: this.#ctx.scripts,
          retentionSeconds: this.#ctx.retentionSeconds,
          now: this.#ctx.clock(),
        },
        options.maxChecks ?? DEFAULT_CLEANUP_CHECKS,
      ),
    );
  }
}
