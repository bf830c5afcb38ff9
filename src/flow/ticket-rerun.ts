/**
 * Running a ticket's job again after an operator's retry. A retry moves the ticket back to
 * `queued` first and then re-runs its job; the job may still be active at that moment (its
 * processor has just marked the ticket failed, or found it finished, and is about to fail or
 * complete the job), and BullMQ ignores an add under the id of a job it still holds. So a retry
 * must also be honoured when the job settles: by the worker that ran it (on its `failed` and
 * `completed` events, {@link rerunIfRetried}) and, when that worker died in between, by the
 * reconciler, both with the rule of {@link retriedDuringOrAfterRun}.
 *
 * A finished job is re-run with BullMQ's `job.retry(state)`: one script that moves the job from
 * the failed or completed set to the wait list only if it is still there, so two processes
 * re-running it at once run it once. (`job.remove()` refuses a job that is active: its lock is
 * held. Remove and add is two steps, and an add in between is ignored.)
 */
import type { Job, Queue } from 'bullmq';
import type { Ticket } from '../domain/ticket.js';
import type { TicketStore } from '../adapters/redis/ticket-store.js';
import {
  jobIdOf,
  ticketJobOptions,
  type TicketJobData,
  type TicketJobSettings,
} from '../adapters/bullmq/queues.js';

/** What {@link runJobAgain} did. */
export type RerunOutcome =
  /** A failed or completed job was moved back to the wait list. */
  | 'rerun'
  /** There was no job: one was added. */
  | 'added'
  /** The job is waiting or delayed already: it will run and find the ticket `queued`. */
  | 'pending'
  /** The job is active: the worker holding it, or the reconciler, re-runs it when it settles. */
  | 'active';

/** Tries of {@link runJobAgain} against a job that keeps changing state under it. */
const RERUN_TRIES = 5;

/**
 * True when a ticket whose job has failed or completed needs a new run of it: the ticket is
 * `queued` (only creation and an operator's retry lead there) and was put there after the job's
 * last attempt started (`processedOn`, ms since the epoch), so no attempt has seen it since. A
 * completed job never leaves its ticket `queued` otherwise (the processor completes a job only on a
 * finished ticket), so under a completed job `queued` is enough. A failed job whose last attempt
 * started after the ticket's last transition failed without recording it: that is the
 * reconciler's to fail, not to run again (a ticket that crashes its workers would loop).
 */
export function retriedDuringOrAfterRun(
  ticket: Pick<Ticket, 'state' | 'updatedAt'>,
  job: { processedOn?: number | undefined },
  jobState: 'failed' | 'completed',
): boolean {
  if (ticket.state !== 'queued') return false;
  return jobState === 'completed' || ticket.updatedAt >= (job.processedOn ?? 0);
}

/**
 * Makes sure the ticket's job will run again: re-runs a failed or completed job, adds a missing
 * one, and leaves a waiting, delayed or active one (see {@link RerunOutcome}). Safe to call from
 * several processes at once.
 */
export async function runJobAgain(
  queue: Queue<TicketJobData>,
  ticketId: string,
  jobs: TicketJobSettings,
): Promise<RerunOutcome> {
  const jobId = jobIdOf(ticketId);
  let lastError: unknown;
  for (let i = 0; i < RERUN_TRIES; i++) {
    const job: Job<TicketJobData> | undefined = await queue.getJob(jobId);
    if (job === undefined) {
      await queue.add('ticket', { ticketId }, ticketJobOptions(ticketId, jobs));
      return 'added';
    }
    const state = await job.getState();
    if (state === 'active') return 'active';
    if (state === 'unknown') continue; // removed meanwhile: the next turn adds it
    if (state !== 'failed' && state !== 'completed') return 'pending';
    try {
      // a new run, as from the start: a fresh attempt budget and polling schedule
      await job.updateData({ ticketId });
      await job.retry(state, { resetAttemptsMade: true, resetAttemptsStarted: true });
      return 'rerun';
    } catch (err) {
      // moved by another process between the read and the retry (re-run, removed): read again
      lastError = err;
    }
  }
  throw lastError instanceof Error
    ? lastError
    : new Error(`the job of ticket ${ticketId} kept changing state`);
}

/** What {@link rerunIfRetried} needs. */
export interface RerunDeps {
  store: Pick<TicketStore, 'get'>;
  queue: Queue<TicketJobData>;
  jobs: TicketJobSettings;
}

/**
 * Re-runs a ticket's job that has just failed or completed when the ticket was retried while it
 * ran ({@link retriedDuringOrAfterRun}); does nothing otherwise (a job retried by the backoff, a
 * ticket that did not go back to `queued`). Answers what it did, or undefined.
 */
export async function rerunIfRetried(
  deps: RerunDeps,
  ticketId: string,
): Promise<RerunOutcome | undefined> {
  // The ticket first: it is `queued` only after a retry (or before its first step), so a settled
  // job costs one read and the job is read only then. Either order sees a retry that lands in
  // between: the retry moves the ticket first and looks at the job after.
  const ticket = await deps.store.get(ticketId);
  if (ticket?.state !== 'queued') return undefined;
  const job = await deps.queue.getJob(jobIdOf(ticketId));
  if (job === undefined) return undefined;
  const state = await job.getState();
  if (state !== 'failed' && state !== 'completed') return undefined;
  if (!retriedDuringOrAfterRun(ticket, job, state)) return undefined;
  return runJobAgain(deps.queue, ticketId, deps.jobs);
}
