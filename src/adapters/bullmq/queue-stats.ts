/**
 * What the operations side reads from a BullMQ queue: job counts by state, and how long the oldest
 * waiting job has waited.
 */
import type { Queue } from 'bullmq';

/** The job states `cloudauth_orchestrator_queue_jobs` reports, in BullMQ's names. */
export const QUEUE_JOB_STATES = ['waiting', 'active', 'delayed', 'failed', 'completed'] as const;
/** One of {@link QUEUE_JOB_STATES}. */
export type QueueJobState = (typeof QUEUE_JOB_STATES)[number];

/** The part of a BullMQ queue read here. */
export type ObservedQueue = Pick<Queue, 'getJobCounts' | 'getWaiting'>;

/** Jobs per state, for {@link QUEUE_JOB_STATES}. */
export async function jobCounts(queue: ObservedQueue): Promise<Record<QueueJobState, number>> {
  const counts = await queue.getJobCounts(...QUEUE_JOB_STATES);
  const out = {} as Record<QueueJobState, number>;
  for (const state of QUEUE_JOB_STATES) out[state] = counts[state] ?? 0;
  return out;
}

/**
 * How long the oldest job of the wait list has been waiting, in seconds; 0 when none waits.
 *
 * BullMQ pushes a job onto the head of the wait list (LPUSH, also when a delayed job comes due)
 * and workers take from its tail (RPOPLPUSH), so the tail has waited longest; `getWaiting(0, 0)`
 * reads the list in ascending order and answers that tail. BullMQ does not record when a job
 * entered the list: it waits since it was added (plus its initial delay) or since its last run
 * started (a retry or a status re-check come due), whichever is later. The second case includes
 * the job's run and backoff or poll delay, so the age reads at most that much high. A job retried
 * by an operator (`Job.retry`) has its last start cleared and counts from when it was added.
 */
export async function oldestWaitingAgeSeconds(queue: ObservedQueue, now: number): Promise<number> {
  const [job] = await queue.getWaiting(0, 0);
  if (!job) return 0;
  const since = Math.max(job.timestamp + (job.opts.delay ?? 0), job.processedOn ?? 0);
  return Math.max(0, (now - since) / 1000);
}
