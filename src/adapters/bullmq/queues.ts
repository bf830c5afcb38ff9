/**
 * Queue layout. One BullMQ queue, `tickets`: one job per ticket, its id derived from the
 * TicketId (so a TicketId enqueued twice is one job), its payload the TicketId only. The job
 * advances the ticket as far as it can; to wait for a verdict it moves itself to the delayed set
 * (a status re-check, not a failed attempt); retryable errors are retried with the one backoff
 * strategy; permanent ones fail the job at once. Queue keys live under `{<prefix>:q}`, one Redis
 * Cluster slot.
 */
import type { JobsOptions } from 'bullmq';
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
  /** Completed jobs are kept this long, in seconds (the ticket itself is in the store). */
  keepCompletedSeconds: number;
  /** Failed jobs are kept this long, in seconds, for operators. */
  keepFailedSeconds: number;
}

export function ticketJobOptions(ticketId: string, settings: TicketJobSettings): JobsOptions {
  return {
    jobId: jobIdOf(ticketId),
    attempts: settings.attempts,
    backoff: { type: BACKOFF_TYPE },
    removeOnComplete: { age: settings.keepCompletedSeconds },
    removeOnFail: { age: settings.keepFailedSeconds },
  };
}
