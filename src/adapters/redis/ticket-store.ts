/**
 * The ticket store: the port ({@link TicketStore}) and its Redis adapter ({@link RedisTicketStore}).
 *
 * Key layout (`<p>` is the prefix, `REDIS_PREFIX`):
 * - `<p>:t:{<ticketId>}`: hash, one ticket (fields in `ticket-codec.ts`; lease, binding, user
 *   data and provider materials encrypted, see `crypto.ts`).
 * - `<p>:t:{<ticketId>}:h`: list, the ticket's history entries (JSON), oldest first.
 *   The hash tag `{<ticketId>}` puts both keys in one cluster slot, so one script changes both.
 * - `<p>:idx:state:<state>`: sorted set of ticket ids by `updatedAt`.
 * - `<p>:idx:batch:<batchId>` and `<p>:idx:all`: sorted sets of ticket ids by `createdAt`.
 * - `<p>:idx:batches`: sorted set of batch ids by the `createdAt` of their newest ticket, for the
 *   cleanup of the batch indexes.
 *
 * A finished ticket's two keys expire after the retention period. Index keys live in other slots,
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
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { TicketBinding } from '../../domain/binding.js';
import { TicketNotFoundError, ValidationError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import {
  isTerminal,
  TicketState,
  type Flow,
  type HistoryEntry,
  type Ticket,
  type TicketError,
} from '../../domain/ticket.js';
import type { FieldCipher } from './crypto.js';
import { cleanIndexes, type IndexCleanupReport } from './index-cleanup.js';
import {
  installScripts,
  isNoScriptReply,
  scriptsLoaded,
  storePipeline,
  type StoreScripts,
} from './scripts.js';
import { isOutOfMemoryReply, storeFullOf } from './store-full.js';
import { storeUnavailableOf, unavailableWhenDown } from './store-unavailable.js';
import {
  discardCreations,
  restoreTickets,
  scanTicketIds,
  type RepairContext,
  type RestoredTicket,
  type TicketScanPage,
} from './ticket-repair.js';
import { decodeCursor, encodeCursor, entriesAfter, ticketStoreKeys } from './ticket-index.js';
import {
  decodeBinding,
  decodeSummary,
  decodeTicket,
  encodeNewTicket,
  encodeTransition,
  openJson,
  sealJson,
  SUMMARY_FIELDS,
  TICKET_FIELDS,
} from './ticket-codec.js';

export { ticketStoreKeys } from './ticket-index.js';
export type { RestoredTicket, TicketScanPage } from './ticket-repair.js';
export type { IndexCleanupReport } from './index-cleanup.js';

/** A ticket with what only the store keeps about it. */
export type StoredTicket = Ticket & {
  /** ms since the epoch: when a worker began SubmitMaterials (see {@link TicketStore.markSubmitStarted}). */
  submitStartedAt?: number;
  /** Where the outcome is delivered. */
  callbackUrl?: string;
  /** The caller's digest of the creation payload, to tell a repeated request from a different one. */
  payloadHash: string;
};

/** A ticket as listed: no lease (read one ticket with {@link TicketStore.get} for it). */
export type ListedTicket = Omit<StoredTicket, 'lease'>;

/** What {@link TicketStore.create} takes. */
export interface NewTicket {
  ticketId: string;
  biz: string;
  flow: Flow;
  /** The applicant's data (name, identity number, material sources); stored encrypted. */
  binding: TicketBinding;
  /** The caller's opaque data, JSON-serialisable; stored encrypted. */
  userData?: unknown;
  batchId?: string;
  callbackUrl?: string;
  /**
   * Digest of the creation payload. Use a keyed digest such as {@link FieldCipher.fingerprint}:
   * a plain hash of an identity number can be reversed by trying every number.
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

/** What a transition may write besides the ticket (see {@link TicketStore.apply}). */
export interface TransitionExtras {
  /** What GetMaterials answered; stored encrypted. */
  providerMaterials?: unknown;
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
   * Persists the result of a transition computed from the ticket at `expectedVersion`
   * (compare-and-set): writes `next`, appends `history`, and sets the retention TTL when `next` is
   * finished (removes it otherwise). `next.version` must be `expectedVersion + 1`. With
   * `extras.providerMaterials`, keeps them as {@link saveProviderMaterials} does, in the same atomic
   * write: only the worker whose transition is applied saves them.
   */
  apply(
    ticketId: string,
    expectedVersion: number,
    next: Ticket,
    history: HistoryEntry,
    extras?: TransitionExtras,
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
   * Keeps what GetMaterials answered (the person's data as Cloudauth recorded it), encrypted.
   * Throws {@link TicketNotFoundError}.
   */
  saveProviderMaterials(ticketId: string, materials: unknown): Promise<void>;
  /** What {@link saveProviderMaterials} kept, decrypted; undefined when absent. */
  getProviderMaterials(ticketId: string): Promise<unknown>;
  /** Records that SubmitMaterials is about to be sent (ms since the epoch). Throws {@link TicketNotFoundError}. */
  markSubmitStarted(ticketId: string, at: number): Promise<void>;
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

/** What {@link RedisTicketStore} needs. */
export interface RedisTicketStoreDeps {
  redis: Redis;
  /** Key prefix (`REDIS_PREFIX`). */
  prefix: string;
  cipher: FieldCipher;
  /** How long a finished ticket is kept, in seconds (`TICKET_RETENTION_SECONDS`). */
  retentionSeconds: number;
  /** ms since the epoch; default `Date.now`. */
  clock?: () => number;
  /** Told when an index update fails after a ticket changed (the change itself stands). */
  logger?: Pick<Logger, 'warn'>;
}

/**
 * {@link TicketStore} on one Redis connection (see the module comment for the layout, whose hash
 * tags keep each script on one cluster slot).
 */
export class RedisTicketStore implements TicketStore {
  readonly #redis: Redis;
  readonly #prefix: string;
  readonly #scripts: StoreScripts;
  readonly #keys: ReturnType<typeof ticketStoreKeys>;
  readonly #cipher: FieldCipher;
  readonly #retentionSeconds: number;
  readonly #clock: () => number;
  readonly #logger: Pick<Logger, 'warn'> | undefined;

  constructor(deps: RedisTicketStoreDeps) {
    if (!Number.isSafeInteger(deps.retentionSeconds) || deps.retentionSeconds < 1) {
      throw new RangeError('retentionSeconds must be a positive integer');
    }
    this.#redis = deps.redis;
    this.#prefix = deps.prefix;
    this.#scripts = installScripts(deps.redis);
    this.#keys = ticketStoreKeys(deps.prefix);
    this.#cipher = deps.cipher;
    this.#retentionSeconds = deps.retentionSeconds;
    this.#clock = deps.clock ?? Date.now;
    this.#logger = deps.logger;
  }

  async create(input: NewTicket): Promise<CreateResult> {
    const [result] = await this.createMany([input]);
    if (!result) throw new Error('createMany answered nothing');
    return result;
  }

  createMany(inputs: readonly NewTicket[]): Promise<CreateResult[]> {
    return unavailableWhenDown(async () => {
      if (inputs.length === 0) return [];
      const now = this.#clock();
      const token = randomBytes(8).toString('hex');
      const encoded = inputs.map((input) => encodeNewTicket(this.#cipher, input, now));
      await scriptsLoaded(this.#redis);
      const creates = this.#redis.pipeline();
      const scripts = storePipeline(creates);
      inputs.forEach((input, i) => {
        scripts.ticketStoreCreate(
          this.#keys.ticket(input.ticketId),
          this.#keys.history(input.ticketId),
          token,
          TICKET_FIELDS.length,
          ...TICKET_FIELDS,
          ...(encoded[i] ?? []),
        );
      });
      const replies = (await creates.exec()) ?? [];
      const indexes = this.#redis.pipeline();
      let failure: Error | undefined;
      const results: CreateResult[] = [];
      inputs.forEach((input, i) => {
        const [err, reply] = replies[i] ?? [new Error('no reply')];
        if (err) {
          // Redis full is the cause to report; a NOSCRIPT beside it came of the same refusal
          if (failure === undefined || (isOutOfMemoryReply(err) && !isOutOfMemoryReply(failure))) {
            failure = err;
          }
          if (isNoScriptReply(err)) void scriptsLoaded(this.#redis, true);
        } else {
          const r = this.#createResult(input, encoded[i] ?? [], reply as Reply, indexes, now);
          results.push(r.created ? { ...r, creation: token } : r);
        }
      });
      for (const [batchId, newest] of newestByBatch(results)) {
        indexes.zadd(this.#keys.batches, 'GT', newest, batchId);
      }
      if (failure === undefined && indexes.length > 0) failure = await indexUpdateError(indexes);
      if (failure !== undefined) {
        await this.discardCreated(results).catch((err: unknown) =>
          this.#logger?.warn(
            { err: { message: err instanceof Error ? err.message : String(err) } },
            'could not take back tickets after a failed create; the reconciler will queue them',
          ),
        );
        throw storeFullOf(failure) ?? failure;
      }
      return results;
    });
  }

  discardCreated(results: readonly CreateResult[]): Promise<string[]> {
    return unavailableWhenDown(async () => {
      return discardCreations(
        this.#repairContext(),
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
    });
  }

  scanTickets(cursor: string, count: number): Promise<TicketScanPage> {
    return unavailableWhenDown(async () => {
      return scanTicketIds(this.#redis, this.#prefix, cursor, count);
    });
  }

  restore(
    ticketIds: readonly string[],
    options: { createdBefore?: number } = {},
  ): Promise<RestoredTicket[]> {
    return unavailableWhenDown(async () => {
      return restoreTickets(this.#repairContext(), ticketIds, options.createdBefore);
    });
  }

  #repairContext(): RepairContext {
    return {
      redis: this.#redis,
      prefix: this.#prefix,
      keys: this.#keys,
      scripts: this.#scripts,
      retentionSeconds: this.#retentionSeconds,
      now: this.#clock(),
    };
  }

  /** One create script's answer as a result; queues the new ticket's index updates. */
  #createResult(
    input: NewTicket,
    fields: readonly string[],
    reply: Reply,
    indexes: ReturnType<Redis['pipeline']>,
    now: number,
  ): CreateResult {
    const { ticketId } = input;
    if (reply[0] === 0) {
      const values = reply.slice(1).map((v) => (typeof v === 'string' ? v : null));
      const ticket = decodeTicket(this.#cipher, ticketId, values);
      if (ticket === undefined) throw new Error(`ticket ${ticketId}: stored hash has no state`);
      // a crash between a ticket's write and its index updates leaves it out of the indexes:
      // the producer's repeat puts it back (NX: a present entry keeps its score)
      indexes.zadd(this.#keys.all, 'NX', ticket.createdAt, ticketId);
      indexes.zadd(this.#keys.state(ticket.state), 'NX', ticket.updatedAt, ticketId);
      if (ticket.batchId !== undefined) {
        indexes.zadd(this.#keys.batch(ticket.batchId), 'NX', ticket.createdAt, ticketId);
      }
      return { created: false, ticket, payloadHash: ticket.payloadHash };
    }
    indexes.zadd(this.#keys.all, now, ticketId);
    indexes.zadd(this.#keys.state(TicketState.queued), now, ticketId);
    if (input.batchId !== undefined) indexes.zadd(this.#keys.batch(input.batchId), now, ticketId);
    const ticket = decodeTicket(this.#cipher, ticketId, [
      ...SUMMARY_FIELDS.map((f) => fieldOf(fields, f)),
      null,
    ]);
    if (ticket === undefined) throw new Error(`ticket ${ticketId}: encoding lost its state`);
    return { created: true, ticket, payloadHash: input.payloadHash };
  }

  get(ticketId: string): Promise<StoredTicket | undefined> {
    return unavailableWhenDown(async () => {
      const values = await this.#redis.hmget(this.#keys.ticket(ticketId), ...TICKET_FIELDS);
      return decodeTicket(this.#cipher, ticketId, values);
    });
  }

  getBinding(ticketId: string): Promise<TicketBinding> {
    return unavailableWhenDown(async () => {
      const [state, sealed] = await this.#redis.hmget(
        this.#keys.ticket(ticketId),
        'state',
        'binding',
      );
      if (state === null || state === undefined) throw new TicketNotFoundError(ticketId);
      return decodeBinding(this.#cipher, ticketId, sealed ?? null);
    });
  }

  getUserData(ticketId: string): Promise<unknown> {
    return unavailableWhenDown(async () => {
      const sealed = await this.#redis.hget(this.#keys.ticket(ticketId), 'userData');
      return sealed === null ? undefined : openJson(this.#cipher, ticketId, 'userData', sealed);
    });
  }

  apply(
    ticketId: string,
    expectedVersion: number,
    next: Ticket,
    history: HistoryEntry,
    extras: TransitionExtras = {},
  ): Promise<ApplyOutcome> {
    return unavailableWhenDown(async () => {
      if (next.ticketId !== ticketId) {
        throw new RangeError(`apply: next.ticketId ${next.ticketId} is not ${ticketId}`);
      }
      if (next.version !== expectedVersion + 1) {
        throw new RangeError(
          `apply: next.version ${next.version} must be expectedVersion + 1 (${expectedVersion + 1})`,
        );
      }
      const { set, del } = encodeTransition(this.#cipher, next);
      if (extras.providerMaterials !== undefined) {
        set.push(
          'providerMaterials',
          sealJson(this.#cipher, ticketId, 'providerMaterials', extras.providerMaterials),
        );
      }
      const ttl = isTerminal(next.state) ? this.#retentionSeconds : 0;
      const reply = await this.#scripts.ticketStoreApply(
        this.#keys.ticket(ticketId),
        this.#keys.history(ticketId),
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
      const pipeline = this.#redis.pipeline();
      if (previous !== undefined && previous !== next.state) {
        pipeline.zrem(this.#keys.state(previous as TicketState), ticketId);
      }
      pipeline.zadd(this.#keys.state(next.state), next.updatedAt, ticketId);
      await this.#execIndexUpdate(pipeline, ticketId);
      return 'applied';
    });
  }

  recordAttemptError(
    ticketId: string,
    expectedVersion: number,
    error: TicketError,
  ): Promise<RecordErrorOutcome> {
    return unavailableWhenDown(async () => {
      const [result, attempts] = await this.#scripts.ticketStoreRecordError(
        this.#keys.ticket(ticketId),
        expectedVersion,
        JSON.stringify(error),
      );
      if (result === 'missing') throw new TicketNotFoundError(ticketId);
      if (result === 'conflict') return { result: 'conflict' };
      return { result: 'applied', attempts: Number(attempts), version: expectedVersion + 1 };
    });
  }

  saveProviderMaterials(ticketId: string, materials: unknown): Promise<void> {
    return unavailableWhenDown(async () => {
      const written = await this.#scripts.ticketStoreSetIfExists(
        this.#keys.ticket(ticketId),
        'providerMaterials',
        sealJson(this.#cipher, ticketId, 'providerMaterials', materials),
      );
      if (written === 0) throw new TicketNotFoundError(ticketId);
    });
  }

  getProviderMaterials(ticketId: string): Promise<unknown> {
    return unavailableWhenDown(async () => {
      const sealed = await this.#redis.hget(this.#keys.ticket(ticketId), 'providerMaterials');
      return sealed === null
        ? undefined
        : openJson(this.#cipher, ticketId, 'providerMaterials', sealed);
    });
  }

  markSubmitStarted(ticketId: string, at: number): Promise<void> {
    return unavailableWhenDown(async () => {
      const written = await this.#scripts.ticketStoreSetIfExists(
        this.#keys.ticket(ticketId),
        'submitStartedAt',
        at,
      );
      if (written === 0) throw new TicketNotFoundError(ticketId);
    });
  }

  history(ticketId: string): Promise<HistoryEntry[]> {
    return unavailableWhenDown(async () => {
      const lines = await this.#redis.lrange(this.#keys.history(ticketId), 0, -1);
      return lines.map((line) => JSON.parse(line) as HistoryEntry);
    });
  }

  countByState(): Promise<Record<TicketState, number>> {
    return unavailableWhenDown(async () => {
      const states = Object.values(TicketState);
      const cutoff = this.#clock() - this.#retentionSeconds * 1000;
      const pipeline = this.#redis.pipeline();
      for (const state of states) {
        // a finished entry older than the retention is an expired ticket's (the reconciler's
        // round drops it): not counted
        if (isTerminal(state)) pipeline.zcount(this.#keys.state(state), cutoff, '+inf');
        else pipeline.zcard(this.#keys.state(state));
      }
      const results = (await pipeline.exec()) ?? [];
      const counts = {} as Record<TicketState, number>;
      states.forEach((state, i) => {
        const [err, count] = results[i] ?? [null, 0];
        if (err) throw err;
        counts[state] = Number(count);
      });
      return counts;
    });
  }

  list(query: ListQuery): Promise<TicketPage> {
    return unavailableWhenDown(async () => {
      if (!Number.isSafeInteger(query.limit) || query.limit < 1) {
        throw new ValidationError('limit', 'must be a positive integer');
      }
      const { state, batchId, limit } = query;
      const key =
        batchId !== undefined
          ? this.#keys.batch(batchId)
          : state !== undefined
            ? this.#keys.state(state)
            : this.#keys.all;
      let position = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
      const tickets: ListedTicket[] = [];
      const chunk = limit + 1;
      for (;;) {
        const entries = await entriesAfter(this.#redis, key, position, chunk);
        const pipeline = this.#redis.pipeline();
        for (const entry of entries)
          pipeline.hmget(this.#keys.ticket(entry.member), ...SUMMARY_FIELDS);
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
    });
  }

  existing(ticketIds: readonly string[]): Promise<Set<string>> {
    return unavailableWhenDown(async () => {
      const found = new Set<string>();
      for (let i = 0; i < ticketIds.length; i += BATCH_READ_CHUNK) {
        const ids = ticketIds.slice(i, i + BATCH_READ_CHUNK);
        const pipeline = this.#redis.pipeline();
        for (const id of ids) pipeline.exists(this.#keys.ticket(id));
        const results = (await pipeline.exec()) ?? [];
        ids.forEach((id, j) => {
          const [err, n] = results[j] ?? [null, 0];
          if (err) throw err;
          if (Number(n) > 0) found.add(id);
        });
      }
      return found;
    });
  }

  countBatch(batchId: string): Promise<Record<TicketState, number>> {
    return unavailableWhenDown(async () => {
      const counts = Object.fromEntries(Object.values(TicketState).map((s) => [s, 0])) as Record<
        TicketState,
        number
      >;
      for await (const ids of this.#batchMembers(batchId, BATCH_READ_CHUNK)) {
        const pipeline = this.#redis.pipeline();
        for (const id of ids) pipeline.hmget(this.#keys.ticket(id), 'state', 'batchId');
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
    });
  }

  async *batchTickets(batchId: string, pageSize = BATCH_READ_CHUNK): AsyncIterable<ListedTicket> {
    try {
      for await (const ids of this.#batchMembers(batchId, pageSize)) {
        const pipeline = this.#redis.pipeline();
        for (const id of ids) pipeline.hmget(this.#keys.ticket(id), ...SUMMARY_FIELDS);
        const rows = (await pipeline.exec()) ?? [];
        for (const [i, id] of ids.entries()) {
          const [err, values] = rows[i] ?? [null, null];
          if (err) throw err;
          const ticket = decodeSummary(id, (values as (string | null)[] | null) ?? []);
          if (ticket?.batchId === batchId) yield ticket;
        }
      }
    } catch (err) {
      throw storeUnavailableOf(err) ?? err;
    }
  }

  cleanIndexes(options: { maxChecks?: number } = {}): Promise<IndexCleanupReport> {
    return unavailableWhenDown(() =>
      cleanIndexes(
        {
          redis: this.#redis,
          keys: this.#keys,
          scripts: this.#scripts,
          retentionSeconds: this.#retentionSeconds,
          now: this.#clock(),
        },
        options.maxChecks ?? DEFAULT_CLEANUP_CHECKS,
      ),
    );
  }

  /**
   * The batch index's members, oldest first, by rank. A batch's index grows at its end; only an
   * expired ticket's entry is ever removed (by {@link cleanIndexes}), which may shift one entry
   * unread.
   */
  async *#batchMembers(batchId: string, chunk: number): AsyncGenerator<string[]> {
    const key = this.#keys.batch(batchId);
    for (let start = 0; ; start += chunk) {
      const ids = await this.#redis.zrange(key, String(start), String(start + chunk - 1));
      if (ids.length > 0) yield ids;
      if (ids.length < chunk) return;
    }
  }

  async #execIndexUpdate(pipeline: ReturnType<Redis['pipeline']>, ticketId: string): Promise<void> {
    const error = await indexUpdateError(pipeline);
    if (error) {
      this.#logger?.warn(
        { ticketId, err: error },
        'ticket index update failed; the reconciler heals it',
      );
    }
  }
}

/** A create script's answer. */
type Reply = readonly (string | number)[];

/** Runs an index update; answers its first error, or undefined when every command succeeded. */
async function indexUpdateError(
  pipeline: ReturnType<Redis['pipeline']>,
): Promise<Error | undefined> {
  try {
    const results = (await pipeline.exec()) ?? [];
    return results.find(([err]) => err !== null)?.[0] ?? undefined;
  } catch (err) {
    return err instanceof Error ? err : new Error(String(err));
  }
}

/** Entries of `all` and of the batches {@link RedisTicketStore.cleanIndexes} checks a call by default. */
const DEFAULT_CLEANUP_CHECKS = 10_000;

/** The creation time of the newest ticket of each batch among `results`. */
function newestByBatch(results: readonly CreateResult[]): Map<string, number> {
  const newest = new Map<string, number>();
  for (const { ticket } of results) {
    if (ticket.batchId === undefined) continue;
    newest.set(ticket.batchId, Math.max(newest.get(ticket.batchId) ?? 0, ticket.createdAt));
  }
  return newest;
}

/** Tickets read per round trip by the batch and existence queries. */
const BATCH_READ_CHUNK = 500;

function fieldOf(pairs: readonly string[], field: string): string | null {
  for (let i = 0; i + 1 < pairs.length; i += 2) {
    if (pairs[i] === field) return pairs[i + 1] ?? null;
  }
  return null;
}
