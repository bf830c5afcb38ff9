/**
 * The BullMQ worker of the `tickets` queue: concurrency, lock and stall settings, the one backoff
 * strategy, the re-check of a job that settles under a ticket retried while it ran (see
 * `ticket-rerun.ts`), and a close that waits for active jobs up to a deadline before it gives up on
 * them (they are then recovered as stalled by another worker).
 */
import { Worker, type Job, type Telemetry as QueueTelemetry } from 'bullmq';
import type { RedisClient } from '../redis/connection.js';
import { CONFIG_DEFAULTS } from '../../config.js';
import type { Logger } from '../../logger.js';
import { BACKOFF_TYPE, backoffDelay, type BackoffSettings } from './backoff.js';
import { TICKET_QUEUE, bullPrefix, type TicketJobData } from './queues.js';
import type { TicketJobResult } from '../../flow/ticket-processor.js';
import { rerunIfRetried, type RerunDeps } from '../../flow/ticket-rerun.js';

export interface TicketWorkerDeps {
  /** A connection with `maxRetriesPerRequest: null`, as BullMQ workers require. */
  connection: RedisClient;
  prefix: string;
  processor: (job: Job<TicketJobData>, token?: string) => Promise<TicketJobResult>;
  concurrency: number;
  /** A job's lock; a worker that stops renewing it (a crash) loses the job after this, in ms. */
  lockDurationMs: number;
  /** How often stalled jobs are looked for, in ms. */
  stalledIntervalMs: number;
  backoff: BackoffSettings;
  logger: Logger;
  /**
   * When a job fails or completes, its ticket is read again and the job re-run if an operator
   * retried the ticket while the job ran. Unset: no re-check (the reconciler's sweep still does it).
   */
  rerun?: RerunDeps | undefined;
  /**
   * How long finished jobs are kept, in seconds (JOB_KEEP_COMPLETED_SECONDS,
   * JOB_KEEP_FAILED_SECONDS): the worker's setting, as jobs carry none (`ticketJobOptions`).
   * Default the configuration's defaults.
   */
  keep?: { completedSeconds: number; failedSeconds: number } | undefined;
  /**
   * BullMQ's telemetry (`bullmq-otel`, see `src/ops/tracing.ts`): each run is traced under the
   * trace its job was added in. Unset: BullMQ traces nothing.
   */
  queueTelemetry?: QueueTelemetry | undefined;
}

export interface RunningWorker {
  worker: Worker<TicketJobData, TicketJobResult>;
  /** Stops taking jobs and waits for active ones, up to `deadlineMs`. */
  close(deadlineMs: number): Promise<void>;
}

export function startTicketWorker(deps: TicketWorkerDeps): RunningWorker {
  const worker = new Worker<TicketJobData, TicketJobResult>(TICKET_QUEUE, deps.processor, {
    connection: deps.connection,
    prefix: bullPrefix(deps.prefix),
    concurrency: deps.concurrency,
    lockDuration: deps.lockDurationMs,
    stalledInterval: deps.stalledIntervalMs,
    maxStalledCount: 5,
    removeOnComplete: {
      age: deps.keep?.completedSeconds ?? CONFIG_DEFAULTS.queue.keepCompletedSeconds,
    },
    removeOnFail: { age: deps.keep?.failedSeconds ?? CONFIG_DEFAULTS.queue.keepFailedSeconds },
    ...(deps.queueTelemetry === undefined ? {} : { telemetry: deps.queueTelemetry }),
    settings: {
      backoffStrategy: (attemptsMade: number, type?: string, err?: Error) =>
        type === BACKOFF_TYPE ? backoffDelay(attemptsMade, err, deps.backoff) : 0,
    },
  });
  worker.on('error', (err) => deps.logger.error({ err: { message: err.message } }, 'worker error'));
  const rechecks = new Set<Promise<void>>();
  const recheck = (ticketId: string) => {
    const { rerun } = deps;
    if (rerun === undefined) return;
    const p = rerunIfRetried(rerun, ticketId).then(
      (outcome) => {
        if (outcome !== undefined) {
          deps.logger.info(
            { ticketId, outcome },
            'ticket retried while its job ran: job run again',
          );
        }
      },
      (err: unknown) =>
        deps.logger.warn(
          { ticketId, err: { message: err instanceof Error ? err.message : String(err) } },
          'could not re-check a settled job; the reconciler will',
        ),
    );
    rechecks.add(p);
    void p.finally(() => rechecks.delete(p));
  };
  worker.on('failed', (job, err) => {
    if (job && err.name !== 'DelayedError') {
      deps.logger.debug(
        { ticketId: job.data.ticketId, attemptsMade: job.attemptsMade },
        'job attempt failed',
      );
      recheck(job.data.ticketId);
    }
  });
  worker.on('completed', (job) => recheck(job.data.ticketId));
  return {
    worker,
    close: async (deadlineMs: number) => {
      await closeWithDeadline(worker, deadlineMs, deps.logger);
      await Promise.allSettled([...rechecks]);
    },
  };
}

/**
 * Stops a worker taking jobs and waits for its active ones up to `deadlineMs`; then closes it
 * without waiting (the jobs it held are recovered as stalled by another worker).
 */
export async function closeWithDeadline(
  worker: Worker,
  deadlineMs: number,
  logger: Logger,
): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<'late'>((resolve) => {
    timer = setTimeout(() => resolve('late'), deadlineMs);
  });
  const result = await Promise.race([worker.close().then(() => 'closed' as const), deadline]);
  clearTimeout(timer);
  if (result === 'late') {
    logger.warn(
      { queue: worker.name, deadlineMs },
      'active jobs did not finish in time; leaving them to stall recovery',
    );
    await worker.close(true);
  }
}
