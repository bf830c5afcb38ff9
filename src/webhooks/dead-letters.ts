/**
 * Dead letters: webhook jobs that failed permanently or ran out of attempts stay in the queue's
 * failed set (`removeOnFail: false`). Replaying one moves it back to waiting with its attempts
 * reset, under the same job id, so it is still one delivery per event.
 */
import type { Job, Queue } from 'bullmq';
import type { WebhookJobData } from './publisher.js';

const PAGE = 500;

/** Which dead letters to replay; all when empty. */
export interface DeadLetterFilter {
  /** Only the events of this ticket. */
  ticketId?: string;
}

/** The dead-lettered webhook jobs, oldest first, optionally of one ticket. */
export async function listDeadLetters(
  queue: Queue<WebhookJobData>,
  filter: DeadLetterFilter = {},
): Promise<Job<WebhookJobData>[]> {
  const jobs: Job<WebhookJobData>[] = [];
  for (let start = 0; ; start += PAGE) {
    const page = await queue.getJobs('failed', start, start + PAGE - 1, true);
    for (const job of page) {
      if (filter.ticketId === undefined || job.data.event.ticketId === filter.ticketId) {
        jobs.push(job);
      }
    }
    if (page.length < PAGE) return jobs;
  }
}

/**
 * Retries the dead-lettered webhook jobs (all, or those of `filter.ticketId`) with their attempts
 * reset; returns how many were moved back to waiting. A job that left the failed set meanwhile
 * (replayed by someone else, removed) is skipped.
 */
export async function replayDeadLetters(
  queue: Queue<WebhookJobData>,
  filter: DeadLetterFilter = {},
): Promise<number> {
  let replayed = 0;
  for (const job of await listDeadLetters(queue, filter)) {
    try {
      await job.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
      replayed++;
    } catch (err) {
      if (await job.isFailed()) throw err;
    }
  }
  return replayed;
}
