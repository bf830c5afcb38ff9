/**
 * `GET /v1/ops/overview`: what the operations page draws, read from Redis so that it shows what
 * every worker process did, not only this one. Authenticated like the rest of `/v1`.
 *
 * - Finished tickets per minute by outcome, last hour: ZCOUNTs over the state indexes.
 * - Provider calls per second by action, last five minutes, with each action's configured QPS: the
 *   limiter's per-second counts (`rate-limiter.ts`); an action without a limit is not counted.
 * - Retried attempts and Throttling answers per minute, last hour (`ops-counters.ts`).
 * - The ticket queue now: waiting jobs and how long the one next in line has waited (BullMQ's
 *   counts and the wait list's oldest job); the page keeps the series while it is open.
 * - The {@link MAX_BATCHES} newest batches with their progress and time left at the configured QPS.
 *
 * Cost per request: one TIME, one pipeline of 300 ZCOUNTs, one of an HMGET per action, one of 60
 * HGETALLs, two queue reads. The batch list reads each ticket of the listed batches (state, batch
 * and Biz), so it is kept for {@link BATCHES_FRESH_MS} per process, shared by every open page,
 * and a batch found finished is counted again only every {@link FINISHED_BATCH_FRESH_MS}.
 */
import type { Queue } from 'bullmq';
import { z } from 'zod';
import { TERMINAL_STATES, TicketState } from '../../domain/ticket.js';
import type { BizCatalogue } from '../../domain/biz.js';
import type { RedisClient } from '../../adapters/redis/connection.js';
import { readMinuteCounts } from '../../adapters/redis/ops-counters.js';
import {
  finishedPerMinute,
  newestBatches,
  readBatchProgress,
  redisNowMs,
  type BatchEntry,
  type BatchProgressRead,
} from '../../adapters/redis/ops-overview-reads.js';
import type { ProviderRateLimiter } from '../../adapters/redis/rate-limiter.js';
import { unavailableWhenDown } from '../../adapters/redis/store-unavailable.js';
import { ticketStoreKeys } from '../../adapters/redis/ticket-index.js';
import type { RouteSpec } from '../route-spec.js';
import {
  batchEta,
  CHART_MINUTES,
  CHART_SECONDS,
  chartActions,
  MAX_BATCHES,
  windowsAt,
} from './overview-model.js';

/** How long the batch list is reused, in ms. */
export const BATCHES_FRESH_MS = 5_000;

/** How long a finished batch's counts are reused, in ms (only a retry changes them). */
export const FINISHED_BATCH_FRESH_MS = 60_000;

/** Where the overview reads from. */
export interface OverviewSources {
  redis: RedisClient;
  /** `REDIS_PREFIX`. */
  prefix: string;
  /** The `tickets` queue. */
  queue: Pick<Queue, 'getJobCounts' | 'getWaiting'>;
  /** The provider limiter: its configured QPS, headroom and per-second counts. */
  limiter: Pick<ProviderRateLimiter, 'qpsOf' | 'headroom' | 'recentCalls'>;
  /** `CLOUDAUTH_BIZ`: the actions the tickets call, and the calls a batch has left. */
  biz: BizCatalogue;
  /** `CLOUDAUTH_QPS`: actions it names are charted too. */
  qps: Readonly<Record<string, number>>;
}

/** What the overview route reads; absent: the route is not served. */
export interface OverviewRouteDeps {
  overview?: OverviewSources | undefined;
}

const count = z.number().int().min(0);
const series = (what: string) => z.array(count).describe(what);
const instant = z.string().describe('ISO 8601.');

const finishedStates = TERMINAL_STATES;

const batchSchema = z
  .object({
    batchId: z.string(),
    lastCreatedAt: instant.describe('When its newest ticket was created.'),
    total: count,
    finished: count.describe('Tickets in a finished state.'),
    failed: count.describe('Tickets in `failed`.'),
    byState: z.object(
      Object.fromEntries(Object.values(TicketState).map((s) => [s, count])) as Record<
        TicketState,
        typeof count
      >,
    ),
    eta: z
      .object({
        kind: z.enum(['limited', 'unlimited', 'waiting', 'done']),
        seconds: z.number().int().min(0).nullable(),
        action: z.string().nullable().describe('The bottleneck action.'),
        qps: z.number().min(0).nullable().describe("The bottleneck action's QPS."),
      })
      .describe(
        "Time left if the batch had the quota to itself: the calls its unfinished tickets still make over each action's QPS (headroom included). `waiting`: the tickets left wait for the provider or a person; `unlimited`: no QPS configured.",
      ),
  })
  .strict();

/** The answer of `GET /v1/ops/overview`. */
export const overviewSchema = z
  .object({
    at: instant.describe("When it was read, by Redis's clock."),
    finished: z
      .object({
        start: instant.describe('Start of the first minute.'),
        stepSeconds: z.literal(60),
        byOutcome: z.object(
          Object.fromEntries(
            finishedStates.map((s) => [s, series(`Tickets that reached ${s}, per minute.`)]),
          ) as Record<string, z.ZodArray<typeof count>>,
        ),
      })
      .describe(
        'Tickets finished per minute by outcome, last hour, oldest first (a ticket counts in the minute of its last transition while it stays there).',
      ),
    calls: z
      .object({
        start: instant.describe('Start of the first second.'),
        stepSeconds: z.literal(1),
        actions: z.array(
          z
            .object({
              action: z.string(),
              qps: z.number().min(0).describe('Its configured QPS; 0: no limit.'),
              counted: z
                .boolean()
                .describe('False without a QPS limit: such calls skip the limiter, uncounted.'),
              perSecond: series('Calls per second, by the second they left.'),
            })
            .strict(),
        ),
      })
      .describe('Provider calls per second by action, last five minutes, oldest first.'),
    troubles: z
      .object({
        start: instant.describe('Start of the first minute.'),
        stepSeconds: z.literal(60),
        retried: series('Failed attempts that were retried, per minute.'),
        throttled: series('Throttling answers (every action), per minute.'),
        throttledBy: z.record(z.string(), z.array(count)).describe('Throttling answers by action.'),
      })
      .describe('Retries and throttling per minute, last hour, oldest first.'),
    queue: z
      .object({
        waiting: count.describe('Ticket jobs waiting for a worker.'),
        delayed: count.describe('Ticket jobs waiting for a re-check or a backoff.'),
        active: count.describe('Ticket jobs being processed.'),
        oldestWaitingMs: count
          .nullable()
          .describe(
            'How long the job next in line has waited, in ms: since it was added, or since its previous run started for one that ran before (an upper bound: a re-check waits out its delay first); null when none waits.',
          ),
      })
      .strict(),
    batches: z.array(batchSchema).describe(`The ${MAX_BATCHES} newest batches, newest first.`),
  })
  .strict();

/** The answer of `GET /v1/ops/overview`. */
export type OverviewView = z.output<typeof overviewSchema>;
type BatchView = OverviewView['batches'][number];

const iso = (ms: number) => new Date(ms).toISOString();

/** Reads the overview; the batch list is cached (see the module comment). */
export class OpsOverview {
  readonly #src: OverviewSources;
  readonly #keys: ReturnType<typeof ticketStoreKeys>;
  readonly #clock: () => number;
  /** The last batch list read, and when the next read is due (ms, this process's clock). */
  #batches: { dueAt: number; views: BatchView[] } | undefined;
  /** The batch read in flight: one at a time, whatever the number of pages polling. */
  #reading: Promise<BatchView[]> | undefined;
  /** Finished batches' counts, by batch id, with the batch's newest ticket when they were read. */
  readonly #finished = new Map<
    string,
    { at: number; lastCreatedAt: number; read: BatchProgressRead }
  >();

  constructor(sources: OverviewSources, clock: () => number = Date.now) {
    this.#src = sources;
    this.#keys = ticketStoreKeys(sources.prefix);
    this.#clock = clock;
  }

  async read(): Promise<OverviewView> {
    const { redis, prefix, limiter } = this.#src;
    const now = await redisNowMs(redis);
    const w = windowsAt(now);
    const actions = chartActions(this.#src.biz, this.#src.qps);
    const [finished, calls, minutes, queue, batches] = await Promise.all([
      finishedPerMinute(redis, this.#keys, w.firstMinute, CHART_MINUTES),
      limiter.recentCalls(actions, w.lastSecond, CHART_SECONDS),
      readMinuteCounts(redis, prefix, w.firstMinute, CHART_MINUTES),
      this.#queue(now),
      this.#batchList(),
    ]);
    return {
      at: iso(now),
      finished: { start: iso(w.firstMinute * 60_000), stepSeconds: 60, byOutcome: finished },
      calls: {
        start: iso(w.firstSecond * 1000),
        stepSeconds: 1,
        actions: actions.map((action) => {
          const qps = limiter.qpsOf(action);
          return {
            action,
            qps,
            counted: qps > 0,
            perSecond: calls[action] ?? new Array<number>(CHART_SECONDS).fill(0),
          };
        }),
      },
      troubles: { start: iso(w.firstMinute * 60_000), stepSeconds: 60, ...minutes },
      queue,
      batches,
    };
  }

  async #queue(now: number): Promise<OverviewView['queue']> {
    const { queue } = this.#src;
    const [counts, [next]] = await Promise.all([
      queue.getJobCounts('waiting', 'prioritized', 'delayed', 'active'),
      queue.getWaiting(0, 0),
    ]);
    const since = next === undefined ? undefined : Math.max(next.timestamp, next.processedOn ?? 0);
    return {
      waiting: (counts.waiting ?? 0) + (counts.prioritized ?? 0),
      delayed: counts.delayed ?? 0,
      active: counts.active ?? 0,
      oldestWaitingMs: since === undefined ? null : Math.max(0, Math.round(now - since)),
    };
  }

  /**
   * The batch list. Reading it costs one read per ticket of the listed batches (up to
   * {@link MAX_BATCHES} of any size), so one read runs at a time and the next is due
   * {@link BATCHES_FRESH_MS} after it ended, or ten times its own duration if that is longer: a
   * read of large batches takes at most a tenth of Redis's time for this page, however many
   * browsers poll. Meanwhile the last list is answered (the first request waits for the first read).
   */
  #batchList(): Promise<BatchView[]> {
    const now = this.#clock();
    const kept = this.#batches;
    if (kept !== undefined && (now < kept.dueAt || this.#reading !== undefined)) {
      return Promise.resolve(kept.views);
    }
    if (this.#reading !== undefined) return this.#reading;
    const started = now;
    // a failed read is not kept: the next request tries again
    const reading = this.#readBatches().then((views) => {
      const ended = this.#clock();
      this.#batches = { dueAt: ended + Math.max(BATCHES_FRESH_MS, 10 * (ended - started)), views };
      return views;
    });
    this.#reading = reading;
    void reading.then(
      () => (this.#reading = undefined),
      () => (this.#reading = undefined),
    );
    return kept === undefined ? reading : Promise.resolve(kept.views);
  }

  async #readBatches(): Promise<BatchView[]> {
    const { redis, biz, limiter } = this.#src;
    const entries = await newestBatches(redis, this.#keys, MAX_BATCHES);
    const listed = new Set(entries.map((e) => e.batchId));
    for (const id of this.#finished.keys()) if (!listed.has(id)) this.#finished.delete(id);
    const views: BatchView[] = [];
    for (const entry of entries) {
      const read = await this.#progress(entry);
      const total = Object.values(read.byState).reduce((a, b) => a + b, 0);
      const finished = TERMINAL_STATES.reduce((n, s) => n + read.byState[s], 0);
      views.push({
        batchId: entry.batchId,
        lastCreatedAt: iso(entry.lastCreatedAt),
        total,
        finished,
        failed: read.byState.failed,
        byState: read.byState,
        eta: batchEta(read.unfinished, biz, (a) => limiter.qpsOf(a), limiter.headroom),
      });
    }
    return views;
  }

  /** A batch's counts; a finished one's are reused until they are old or the batch grew. */
  async #progress({ batchId, lastCreatedAt }: BatchEntry): Promise<BatchProgressRead> {
    const kept = this.#finished.get(batchId);
    if (
      kept !== undefined &&
      kept.lastCreatedAt === lastCreatedAt &&
      this.#clock() - kept.at < FINISHED_BATCH_FRESH_MS
    ) {
      return kept.read;
    }
    const read = await readBatchProgress(this.#src.redis, this.#keys, batchId);
    if (Object.keys(read.unfinished).length === 0) {
      this.#finished.set(batchId, { at: this.#clock(), lastCreatedAt, read });
    } else this.#finished.delete(batchId);
    return read;
  }
}

/** The overview route, when its sources are given (none otherwise). */
export function overviewRoutes(deps: OverviewRouteDeps): RouteSpec[] {
  if (deps.overview === undefined) return [];
  const overview = new OpsOverview(deps.overview);
  return [
    {
      method: 'GET',
      url: '/v1/ops/overview',
      operationId: 'getOpsOverview',
      summary:
        'What the operations page draws: finished tickets, provider calls, retries, the queue, batches.',
      responses: { 200: { description: 'The overview.', schema: overviewSchema } },
      problems: [],
      // an unreachable Redis answers 503 STORE_UNAVAILABLE, as the store's routes do
      handler: (): Promise<OverviewView> => unavailableWhenDown(() => overview.read()),
    },
  ];
}
