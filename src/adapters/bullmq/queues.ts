/**
 * Queue layout. One BullMQ queue, `tickets`: one job per ticket, its id derived from the
 * TicketId (so a TicketId enqueued twice is one job), its payload the TicketId only. The job
 * advances the ticket as far as it can; to wait for a verdict it moves itself to the delayed set
 * (a status re-check, not a failed attempt); retryable errors are retried with the one backoff
 * strategy; permanent ones fail the job at once. Queue keys live under `{<prefix>:q}`, one Redis
 * Cluster slot.
 */
import type { Job, JobsOptions } from 'bullmq';
import { BACKOFF_TYPE } from './backoff.js';

export const TICKET_QUEUE = 'tickets';

/** The only thing a ticket job carries. */
export interface TicketJobData {
  ticketId: string;
  /** Status re-checks made so far (drives the polling schedule). */
  polls?: number;
}

/** BullMQ's key prefix for a store prefix: a hash tag keeps every queue key in one slot. */
export function bullPrefix(prefix: string): string {
  return `{${prefix}:q}`;
}

/**
 * The job id of a ticket. BullMQ refuses ids with `:` and ids that read as integers, so `:` and
 * `%` are percent-encoded and a prefix is added.
 */
export function jobIdOf(ticketId: string): string {
  return `t-${ticketId.replaceAll('%', '%25').replaceAll(':', '%3A')}`;
}

export interface TicketJobSettings {
  /** Processing attempts before the ticket fails. */
  attempts: number;
  /**
   * Completed jobs are kept this long, in seconds (the ticket itself is in the store). Applied by
   * the worker ({@link ticketJobOptions} says why), so a producer's value does not reach the job.
   */
  keepCompletedSeconds: number;
  /** Failed jobs are kept this long, in seconds, for operators. Applied by the worker. */
  keepFailedSeconds: number;
}

/**
 * A ticket job's options: its id, attempts and backoff. How long a finished job is kept
 * (`keepCompletedSeconds`, `keepFailedSeconds`) is the worker's setting, not the job's
 * (`startTicketWorker`'s `keep`; BullMQ applies a worker's `removeOnComplete`/`removeOnFail` to a
 * job that names none): BullMQ stores a job's options as one JSON value in the job's hash, and
 * with the two retention objects it is 125 bytes, over Redis's 64-byte limit for a compact
 * (listpack) hash value, which made every job hash a full hashtable: 944 bytes instead of about
 * 330 (bench `redis-bytes`). Without them it is about 40 bytes.
 */
export function ticketJobOptions(ticketId: string, settings: TicketJobSettings): JobsOptions {
  return {
    jobId: jobIdOf(ticketId),
    attempts: settings.attempts,
    backoff: { type: BACKOFF_TYPE },
  };
}

/**
 * Runs a delayed job next: promoted out of the delayed set, then moved to the front of the wait
 * list (BullMQ's promote appends it behind every waiting job, and a person who has just opened a
 * start link, or whose verification the provider just reported finished, should not wait behind a
 * back-office batch). A job no longer delayed (active, done) is left alone; either step may find
 * it taken by a worker meanwhile, which is what was wanted. The move to the front removes the job
 * from the wait list by value (LREM), linear in the list's length: a few milliseconds of Redis at
 * a hundred thousand waiting jobs, once per wake.
 */
export async function runNext(job: Job | undefined): Promise<void> {
  if (job === undefined) return;
  try {
    await job.promote();
  } catch {
    return; // not delayed
  }
  await job.changePriority({ lifo: true }).catch(() => undefined);
}
