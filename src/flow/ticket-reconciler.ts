/**
 * The reconciler: every unfinished ticket must have a job that will move it. It pages the
 * unfinished tickets (by the state indexes) and looks up each one's job:
 * - no job (a crash between the ticket's creation and its job's, a Redis restored from an AOF
 *   cut short by a machine crash, a job removed by hand): the job is added again;
 * - a failed or completed job under a ticket an operator retried while the job ran or after it
 *   (the ticket is `queued` and its last transition is later than the start of the job's last
 *   attempt, see `ticket-rerun.ts`): the job is run again (the worker that ran it does so when the
 *   job settles; this is for a worker that died in between, or an operator's retry cut short);
 * - another failed job (one that stalled more than the limit, its workers dying one after another,
 *   or whose processor could not record the failure): the ticket fails with `JOB_FAILED`, so its
 *   business hears of it and an operator can retry it;
 * - another completed job under an unfinished ticket: counted and logged, left alone (it should
 *   not happen; the ticket's record is the truth and an operator decides).
 *
 * Every decision is taken on a fresh read of the ticket, and adding a job is idempotent by job
 * id, so a sweep racing intake or a worker does no harm. Workers sweep every
 * `RECONCILE_INTERVAL_SECONDS`, one process at a time (a lock in Redis); a job failing by stall is
 * reconciled at once. After its sweep, a round also walks part of the tickets' hashes
 * (`ticket-scan.ts`, `RECONCILE_SCAN_KEYS` keys a round) for tickets missing from the indexes,
 * and drops the index entries that outlived their ticket or its state
 * ({@link TicketStore.cleanIndexes}): the store's reads never write, so this is where the
 * indexes are cleaned.
 */
import type { Queue } from 'bullmq';
import type { RedisClient } from '../adapters/redis/connection.js';
import { TERMINAL_STATES, TicketState, isTerminal } from '../domain/ticket.js';
import type { Logger } from '../logger.js';
import type { IndexCleanupReport, TicketStore } from '../adapters/redis/ticket-store.js';
import {
  jobIdOf,
  ticketJobOptions,
  type TicketJobData,
  type TicketJobSettings,
} from '../adapters/bullmq/queues.js';
import type { TicketLifecycle } from './ticket-lifecycle.js';
import { retriedDuringOrAfterRun, runJobAgain } from './ticket-rerun.js';
import { scanRound, type ScanReport } from './ticket-scan.js';

/** Keys the walk over the tickets' hashes examines per round when the deps do not say. */
const DEFAULT_SCAN_KEYS = 100_000;

/** The states a sweep looks at: every one that is not terminal. */
export const UNFINISHED_STATES: readonly TicketState[] = Object.values(TicketState).filter(
  (s) => !TERMINAL_STATES.includes(s),
);

/** BullMQ's reason for a job moved to failed because it stalled more than `maxStalledCount`. */
export const STALLED_OUT = /stalled more than allowable limit/;

/** What a sweep did. */
export interface ReconcileReport {
  /** Unfinished tickets looked at. */
  scanned: number;
  /** Jobs added again for tickets that had none. */
  readded: number;
  /** Tickets failed because their job had failed. */
  failed: number;
  /** Finished jobs run again for tickets retried while they ran or after. */
  rerun: number;
  /** Unfinished tickets under a completed job, left alone. */
  anomalies: number;
}

export interface TicketReconcilerDeps {
  store: TicketStore;
  lifecycle: TicketLifecycle;
  queue: Queue<TicketJobData>;
  /** For the sweep lock. */
  redis: RedisClient;
  prefix: string;
  jobs: TicketJobSettings;
  logger: Logger;
  /** Tickets read per page. Default 500. */
  pageSize?: number;
  /** Keys the walk over the tickets' hashes examines per round, about; 0: no walk. Default 100000. */
  scanKeysPerRound?: number;
  /**
   * Entries of the `all` and batch indexes the index cleanup checks per round, at most (see
   * {@link TicketStore.cleanIndexes}). Default the store's (10000).
   */
  indexChecksPerRound?: number;
  clock?: () => number;
}

type Outcome = 'ok' | 'readded' | 'failed' | 'rerun' | 'anomaly';

export class TicketReconciler {
  readonly #deps: TicketReconcilerDeps;
  readonly #clock: () => number;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<unknown> | undefined;
  #stopped = true;

  constructor(deps: TicketReconcilerDeps) {
    this.#deps = deps;
    this.#clock = deps.clock ?? Date.now;
  }

  /** Looks at every unfinished ticket once. */
  async sweep(): Promise<ReconcileReport> {
    const report: ReconcileReport = { scanned: 0, readded: 0, failed: 0, rerun: 0, anomalies: 0 };
    for (const state of UNFINISHED_STATES) {
      let cursor: string | undefined;
      do {
        const page = await this.#deps.store.list({
          state,
          limit: this.#deps.pageSize ?? 500,
          ...(cursor === undefined ? {} : { cursor }),
        });
        const outcomes = await Promise.all(page.tickets.map((t) => this.reconcile(t.ticketId)));
        report.scanned += outcomes.length;
        for (const o of outcomes) {
          if (o === 'readded') report.readded++;
          else if (o === 'failed') report.failed++;
          else if (o === 'rerun') report.rerun++;
          else if (o === 'anomaly') report.anomalies++;
        }
        cursor = page.nextCursor;
      } while (cursor !== undefined);
    }
    const { logger } = this.#deps;
    const repaired = report.readded + report.failed + report.rerun + report.anomalies > 0;
    (repaired ? logger.warn.bind(logger) : logger.debug.bind(logger))(
      { ...report },
      'reconciled unfinished tickets with their jobs',
    );
    return report;
  }

  /** Makes one ticket's job agree with the ticket; says what it did. */
  async reconcile(ticketId: string): Promise<Outcome> {
    const { queue, store, logger } = this.#deps;
    const jobId = jobIdOf(ticketId);
    const jobState = await queue.getJobState(jobId);
    if (jobState !== 'unknown' && jobState !== 'failed' && jobState !== 'completed') return 'ok';
    const ticket = await store.get(ticketId);
    if (ticket === undefined || isTerminal(ticket.state)) return 'ok';
    if (jobState === 'unknown') {
      await queue.add('ticket', { ticketId }, ticketJobOptions(ticketId, this.#deps.jobs));
      logger.warn({ ticketId, state: ticket.state }, 'unfinished ticket had no job; added again');
      return 'readded';
    }
    const job = await queue.getJob(jobId);
    if (job === undefined) return 'ok';
    if (retriedDuringOrAfterRun(ticket, job, jobState)) {
      const outcome = await runJobAgain(queue, ticketId, this.#deps.jobs);
      logger.warn(
        { ticketId, jobState, outcome },
        'ticket retried while its job ran, or after: job run again',
      );
      return 'rerun';
    }
    if (jobState === 'completed') {
      logger.warn({ ticketId, state: ticket.state }, 'unfinished ticket under a completed job');
      return 'anomaly';
    }
    // A failed job under a ticket moved on since it failed is not this case: only a job that
    // failed after the ticket's last transition fails the ticket.
    if ((job.finishedOn ?? 0) < ticket.updatedAt) return 'ok';
    const stalled = STALLED_OUT.test(job.failedReason ?? '');
    const { result } = await this.#deps.lifecycle.advance(ticket, {
      type: 'failed',
      error: {
        code: 'JOB_FAILED',
        // a fixed text: a job's failure reason is whatever its thrower wrote
        message: stalled
          ? 'the job stalled more than the limit: the workers holding it kept stopping'
          : 'the job failed without recording why on the ticket',
        retryable: false,
        at: this.#clock(),
      },
    });
    if (result !== 'applied') return 'ok';
    logger.warn({ ticketId, state: ticket.state, stalled }, 'ticket failed: its job had failed');
    return 'failed';
  }

  /**
   * Sweeps now and then every `intervalMs`, in the process that takes the lock for the round
   * (the others skip it). Errors are logged; the next round tries again.
   */
  start(intervalMs: number): void {
    this.#stopped = false;
    const round = async () => {
      await this.#sweepIfLocked(intervalMs).catch((err: unknown) =>
        this.#deps.logger.warn(
          { err: { message: err instanceof Error ? err.message : String(err) } },
          'reconcile sweep failed; next round will retry',
        ),
      );
      // the next round is timed from the end of this one: rounds never overlap
      if (!this.#stopped) {
        this.#timer = setTimeout(() => {
          this.#running = round();
        }, intervalMs);
        this.#timer.unref();
      }
    };
    this.#running = round();
  }

  /** Stops the rounds and waits for the one in progress. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#running;
  }

  /**
   * One round of the walk over the tickets' hashes (see `ticket-scan.ts`): restores the index
   * entries of tickets that lack them, adds the job again of the unfinished ones among them, and
   * gives finished tickets without an expiry their retention.
   */
  async scanRound(): Promise<ScanReport> {
    const { store, redis, prefix, logger } = this.#deps;
    return scanRound({
      store,
      redis,
      prefix,
      keysPerRound: this.#deps.scanKeysPerRound ?? DEFAULT_SCAN_KEYS,
      reconcile: (ticketId) => this.reconcile(ticketId),
      logger,
      clock: this.#clock,
    });
  }

  /**
   * Drops the index entries that outlived their ticket (expired) or its state (an index update
   * lost to a crash); see `src/adapters/redis/index-cleanup.ts`.
   */
  async cleanIndexes(): Promise<IndexCleanupReport> {
    const maxChecks = this.#deps.indexChecksPerRound;
    const report = await this.#deps.store.cleanIndexes(
      maxChecks === undefined ? {} : { maxChecks },
    );
    const { logger } = this.#deps;
    // expired entries are routine; a stale one tells of a lost index update
    (report.stale > 0 ? logger.warn.bind(logger) : logger.debug.bind(logger))(
      { ...report },
      'cleaned the ticket indexes',
    );
    return report;
  }

  async #sweepIfLocked(intervalMs: number): Promise<void> {
    const lockKey = `${this.#deps.prefix}:reconcile:lock`;
    const took = await this.#deps.redis.set(
      lockKey,
      String(process.pid),
      'PX',
      Math.max(1000, Math.floor(intervalMs * 0.9)),
      'NX',
    );
    if (took !== 'OK') return;
    await this.sweep();
    if ((this.#deps.scanKeysPerRound ?? DEFAULT_SCAN_KEYS) > 0) await this.scanRound();
    await this.cleanIndexes();
  }
}
