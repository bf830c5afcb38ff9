/**
 * The ticket store's port: {@link TicketStore} and the types it takes and answers. Its Redis
 * adapter is `RedisTicketStore` (`ticket-store.ts`, which re-exports all of this).
 */
import type { ApiFamily } from '../../domain/biz.js';
import type { ErasureReason } from '../../errors.js';
import type { EraseOutcome } from './ticket-erasure.js';
import type { TicketBinding } from '../../domain/binding.js';
import type { Flow, HistoryEntry, Ticket, TicketError, TicketState } from '../../domain/ticket.js';
import type { IndexCleanupReport } from './index-cleanup.js';
import type { RestoredTicket, TicketScanPage } from './ticket-repair.js';

/** A ticket with what only the store keeps about it. */
export type StoredTicket = Ticket & {
  /** ms since the epoch: when a worker began SubmitMaterials (see {@link TicketStore.markSubmitStarted}). */
  submitStartedAt?: number;
  /** ms since the epoch: when the Biz's pre-check was made (see {@link TicketStore.markPrechecked}). */
  precheckedAt?: number;
  /** Where the outcome is delivered. */
  callbackUrl?: string;
  /** The caller's digest of the creation payload, to tell a repeated request from a different one. */
  payloadHash: string;
  /** ms since the epoch: when its personal data was erased (see {@link TicketStore.eraseApplicant}). */
  erasedAt?: number;
  /** Why it was erased. */
  erasure?: ErasureReason;
  /** An erased ticket's applicant as it was shown, masked (the binding is gone). */
  maskedApplicant?: MaskedApplicant;
};

/** The applicant of an erased ticket, masked when it was erased (`李*`, `1101**********002X`). */
export interface MaskedApplicant {
  masked: true;
  name?: string;
  idNumber?: string;
}

/** A ticket as listed: no lease (read one ticket with {@link TicketStore.get} for it). */
export type ListedTicket = Omit<StoredTicket, 'lease'>;

/** What {@link TicketStore.create} takes. */
export interface NewTicket {
  ticketId: string;
  biz: string;
  flow: Flow;
  /** The Biz's API family; every new ticket records it (default `legacy`). */
  family?: ApiFamily;
  /** Financial `ID_PRO`: the start link's end (ms since the epoch). */
  startBy?: number;
  /** The applicant's data (name, identity number, material sources); stored encrypted. */
  binding: TicketBinding;
  /** The caller's opaque data, JSON-serialisable; stored encrypted. */
  userData?: unknown;
  batchId?: string;
  callbackUrl?: string;
  /**
   * Digest of the creation payload. Use a keyed digest such as `FieldCipher.fingerprint`
   * (`crypto.ts`): a plain hash of an identity number can be reversed by trying every number.
   */
  payloadHash: string;
}

/** {@link TicketStore.create}'s answer. */
export interface CreateResult {
  /** false: the ticket existed; nothing was written and `ticket` is the stored one. */
  created: boolean;
  ticket: StoredTicket;
  /** The stored payload hash: equal to the request's for an idempotent repeat, else a conflict. */
  payloadHash: string;
  /** When `created`: the creating call's token, with which {@link TicketStore.discardCreated} takes it back. */
  creation?: string;
}

/** {@link TicketStore.getApplicant}'s answer. */
export interface Applicant {
  /** As {@link TicketStore.getBinding} answers it. */
  binding: TicketBinding;
  /** As {@link TicketStore.getUserData} answers it: undefined when absent. */
  userData: unknown;
  /** Financial `ID_PRO`: the MetaInfo the person's browser handed in; undefined before that. */
  metaInfo?: string | undefined;
}

/** `conflict`: the stored version was not the expected one; nothing was written. */
export type ApplyOutcome = 'applied' | 'conflict' | 'missing';

/**
 * {@link TicketStore.recordAttemptError}'s answer: `applied` with the attempts so far and the new
 * version, or `conflict` (the ticket moved on since it was read; nothing was written).
 */
export type RecordErrorOutcome =
  { result: 'applied'; attempts: number; version: number } | { result: 'conflict' };

/** {@link TicketStore.list}'s query. With both `state` and `batchId`: the batch's tickets in that state. */
export interface ListQuery {
  state?: TicketState;
  batchId?: string;
  /** `nextCursor` of the previous page. */
  cursor?: string;
  /** Page size, at least 1. */
  limit: number;
}

/** One page of a listing, newest first (by `updatedAt` for a state, else by `createdAt`). */
export interface TicketPage {
  tickets: ListedTicket[];
  /** Present when more entries follow. */
  nextCursor?: string;
}

/** Persistence of tickets, their history and their indexes. */
export interface TicketStore {
  /** Creates a ticket in state `queued`, version 0, atomically unless it exists (then changes nothing). */
  create(input: NewTicket): Promise<CreateResult>;
  /**
   * {@link create} for many tickets in two round trips (one pipeline of create scripts, one of
   * index updates); the answers are in the order of `inputs`. All or nothing for the tickets it
   * creates: when one create or an index update fails, those it created are taken back
   * ({@link discardCreated}) and the error is thrown (a `StoreFullError` when Redis is full).
   */
  createMany(inputs: readonly NewTicket[]): Promise<CreateResult[]>;
  /**
   * Takes back tickets {@link createMany} created whose job could not be added: deletes each one
   * still as that call left it (version 0, no repeat of its TicketId answered since), and its
   * index entries. Results not `created` are ignored. Works when Redis is full. Returns the
   * TicketIds deleted.
   */
  discardCreated(results: readonly CreateResult[]): Promise<string[]>;
  /**
   * One step of a walk over every ticket's hash (SCAN, about `count` keys examined), whatever the
   * indexes say. Start with cursor `'0'`; the walk is complete when the answer's cursor is `'0'`.
   */
  scanTickets(cursor: string, count: number): Promise<TicketScanPage>;
  /**
   * Gives each ticket the index entries it lacks and a finished one without an expiry the rest of
   * its retention. Answers what it found, per ticket present; with `createdBefore` (ms since the
   * epoch), tickets created at or after it are left alone and out of the answer.
   */
  restore(
    ticketIds: readonly string[],
    options?: { createdBefore?: number },
  ): Promise<RestoredTicket[]>;
  /** The ticket with its lease decrypted; undefined when absent or expired. */
  get(ticketId: string): Promise<StoredTicket | undefined>;
  /**
   * The decrypted binding, checked to be a {@link TicketBinding} (an Error naming the field when
   * the stored one is not). Throws {@link TicketNotFoundError} when the ticket is absent.
   */
  getBinding(ticketId: string): Promise<TicketBinding>;
  /** The decrypted user data; undefined when absent. */
  getUserData(ticketId: string): Promise<unknown>;
  /**
   * {@link getBinding} and {@link getUserData} in one read (one HMGET), for the worker that asks
   * for a token. Throws {@link TicketNotFoundError} when the ticket is absent.
   */
  getApplicant(ticketId: string): Promise<Applicant>;
  /**
   * Persists the result of a transition computed from the ticket at `expectedVersion`
   * (compare-and-set): writes `next`, appends `history`, and sets the retention TTL when `next` is
   * finished (removes it otherwise). `next.version` must be `expectedVersion + 1`. Also deletes
   * `providerMaterials`, the GetMaterials answer an earlier version kept in the hash (see
   * `ticket-codec.ts`), where present.
   */
  apply(
    ticketId: string,
    expectedVersion: number,
    next: Ticket,
    history: HistoryEntry,
  ): Promise<ApplyOutcome>;
  /**
   * Counts a failed attempt and records its error, if the ticket is still at `expectedVersion`
   * (compare-and-set), and bumps the version: a transition computed from a read before it is then
   * refused as a conflict instead of overwriting `attempts` and `lastError`. No history entry;
   * `updatedAt` stays the time of the last transition. On a conflict nothing is written: re-read
   * and decide again. Throws {@link TicketNotFoundError}.
   */
  recordAttemptError(
    ticketId: string,
    expectedVersion: number,
    error: TicketError,
  ): Promise<RecordErrorOutcome>;
  /**
   * Records that SubmitMaterials is about to be sent (ms since the epoch), if the ticket is still
   * at `expectedVersion` (the version is not bumped); `conflict` when it moved on (cancelled,
   * advanced by another worker): nothing is written, and the caller must not submit. Throws
   * {@link TicketNotFoundError}.
   */
  /**
   * Records that the Biz's pre-check (Id2MetaVerify) is about to be made, if the ticket is still at
   * `expectedVersion` and has no such mark: a later run does not pay for it again (a call that
   * surely was not acted on releases it, {@link releaseMark}). No transition.
   */
  markPrechecked(
    ticketId: string,
    at: number,
    expectedVersion: number,
  ): Promise<'applied' | 'conflict'>;
  /**
   * Financial ID_PRO: keeps the MetaInfo the person's browser produced (encrypted) and `startedAt`,
   * once: only for a ticket still `queued` at `expectedVersion` and not started (`started`: it was
   * already, nothing written). No transition; the ticket's next transition removes the MetaInfo
   * (it serves InitFaceVerify only), as does the erasure of the personal data.
   */
  recordStart(
    ticketId: string,
    metaInfo: string,
    at: number,
    expectedVersion: number,
  ): Promise<'applied' | 'started' | 'conflict'>;
  /**
   * Asks that the ticket's job run now: a flag its worker reads right after it moves the job to
   * the delayed set ({@link consumeWake}), so a wake that came while the job ran is not lost. The
   * caller promotes the delayed job itself too. With `debounceMs`, at most one wake per ticket in
   * that time (false: this one was dropped), which bounds what an unauthenticated caller triggers.
   */
  wake(ticketId: string, debounceMs?: number): Promise<boolean>;
  /** Takes the wake flag: true when one was set since it was last taken. */
  consumeWake(ticketId: string): Promise<boolean>;
  /**
   * Records that a worker begins the submission (the paid call) at `at`, if the ticket is still
   * at `expectedVersion` and its mark is still `previousMark`, the one the worker read (undefined:
   * none): of two runs of one job at once, only one marks. Resolves once the mark would survive a
   * failover (see {@link confirmDurable}): a mark lost with a dead primary would let another run
   * pay again.
   */
  markSubmitStarted(
    ticketId: string,
    at: number,
    expectedVersion: number,
    previousMark?: number,
  ): Promise<'applied' | 'conflict'>;
  /**
   * Removes the mark `mark` if it still holds `at` (the value this worker set): its call surely
   * was not acted on (refused with a code, or never sent), so a later run may make it. True when
   * removed. No transition, no version bump.
   */
  releaseMark(
    ticketId: string,
    mark: 'submitStartedAt' | 'precheckedAt',
    at: number,
  ): Promise<boolean>;
  /**
   * Resolves once the configured number of replicas (`REDIS_WAIT_REPLICAS`, Redis `WAIT`) holds
   * what the store wrote for `ticketIds`; rejects with `StoreUnavailableError` when fewer
   * acknowledge in time. Intake calls it before it answers 202.
   */
  confirmDurable(ticketIds: readonly string[]): Promise<void>;
  /**
   * Erases the ticket's personal data (its binding), records when and why, and bumps the version
   * of a ticket a retry may leave (failed, expired; passed, not_passed and cancelled keep theirs,
   * so their event's id stays the same); with `expectedVersion`, only if the ticket is still at it. The masked applicant, the verdict,
   * scores and history stay. Erasing again keeps the first record.
   */
  eraseApplicant(
    ticketId: string,
    at: number,
    reason: ErasureReason,
    expectedVersion?: number,
  ): Promise<EraseOutcome>;
  /** Schedules the erasure of the ticket's personal data at `at` (ms); moves an earlier one. */
  scheduleErasure(ticketId: string, at: number): Promise<void>;
  /** Drops the ticket from the erasure schedule. */
  unscheduleErasure(ticketId: string): Promise<void>;
  /** Up to `limit` ticket ids whose erasure is due at `now`, the earliest first. */
  dueErasures(now: number, limit: number): Promise<string[]>;
  /** Notes that intake is staging materials for these tickets now (`at`, ms). */
  noteStaging(ticketIds: readonly string[], at: number): Promise<void>;
  /** When intake last noted staging for the ticket, ms; undefined when not noted. */
  stagingSince(ticketId: string): Promise<number | undefined>;
  /** Forgets the staging notes older than `before` (ms). */
  forgetStagingBefore(before: number): Promise<void>;
  /** The ticket's history, oldest first; empty when absent. */
  history(ticketId: string): Promise<HistoryEntry[]>;
  /**
   * Tickets per state, from the indexes, finished ones past the retention left out (see the
   * module comment on staleness). Read only.
   */
  countByState(): Promise<Record<TicketState, number>>;
  /** A page of tickets, newest first; index entries whose ticket is gone or moved on are skipped. Read only. */
  list(query: ListQuery): Promise<TicketPage>;
  /** Which of `ticketIds` exist (pipelined EXISTS, in chunks). */
  existing(ticketIds: readonly string[]): Promise<Set<string>>;
  /**
   * A batch's tickets per state, read from each ticket rather than the state indexes (which may
   * be stale); expired tickets are left out.
   */
  countBatch(batchId: string): Promise<Record<TicketState, number>>;
  /** A batch's tickets, oldest first, read `pageSize` at a time (never the whole batch in memory). */
  batchTickets(batchId: string, pageSize?: number): AsyncIterable<ListedTicket>;
  /**
   * Drops the index entries that outlived their ticket or its state (see `index-cleanup.ts`):
   * the reconciler's round runs it, in one process at a time. `maxChecks` (default 10000) bounds
   * the entries of `all` and of the batches checked in one call; the next call goes on.
   */
  cleanIndexes(options?: { maxChecks?: number }): Promise<IndexCleanupReport>;
}
