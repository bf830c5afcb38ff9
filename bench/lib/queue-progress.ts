/**
 * Watching a BullMQ queue drain from outside: the sizes of its completed and failed sets, polled
 * (each poll recorded on the phase's {@link CommandMeter} so it is not counted against the system
 * under test), and afterwards the measured window from the jobs' own timestamps: the first job's
 * `processedOn` to the last one's `finishedOn` (the completed set's score), both stamped by the
 * workers. Intake and process start-up fall outside that window.
 *
 * On a Cluster, the pipelines here read one queue's keys only; they share a hash slot when the
 * queue's prefix is hash-tagged (ours is, `{<prefix>:q}`), so each pipeline goes to one primary.
 */
import type { RedisClient } from '../../src/adapters/redis/connection.js';
import type { ManagedProcess } from '../../testkit/processes.js';
import { sleep } from '../../testkit/waiting.js';
import type { CommandMeter } from './redis-stats.js';

/** The keys of one queue. */
export interface QueueKeys {
  completed: string;
  failed: string;
  job(id: string): string;
}

/** BullMQ's key layout: `<prefix>:<queue>:<suffix>`. */
export function queueKeys(prefix: string, queue: string): QueueKeys {
  const base = `${prefix}:${queue}`;
  return { completed: `${base}:completed`, failed: `${base}:failed`, job: (id) => `${base}:${id}` };
}

/** What {@link waitForFinished} watches and for how long. */
export interface WaitOptions {
  /** Completed plus failed jobs to wait for. */
  count: number;
  timeoutMs: number;
  meter?: CommandMeter;
  /** Processes whose exit is an error while waiting. */
  children?: readonly ManagedProcess[];
  /** Told every `logEveryMs` (default 5 s). */
  log?: (line: string) => void;
  everyMs?: number;
  /** Told on each poll, e.g. to sample memory at a count. */
  onPoll?: (completed: number) => Promise<void>;
}

/** Waits until `count` jobs are completed or failed; answers both sizes. */
export async function waitForFinished(
  redis: RedisClient,
  keys: QueueKeys,
  options: WaitOptions,
): Promise<{ completed: number; failed: number }> {
  const deadline = Date.now() + options.timeoutMs;
  let lastLog = Date.now();
  for (;;) {
    const [completed, failed] = await sizes(redis, keys);
    options.meter?.own('zcard', 2);
    await options.onPoll?.(completed);
    if (completed + failed >= options.count) return { completed, failed };
    const dead = options.children?.find((c) => !c.running());
    if (dead) throw new Error(`${dead.name} exited while ${completed}/${options.count} were done`);
    if (Date.now() > deadline) {
      throw new Error(`only ${completed} completed, ${failed} failed of ${options.count} in time`);
    }
    if (options.log && Date.now() - lastLog > 5000) {
      lastLog = Date.now();
      options.log(`  ${completed}/${options.count} completed, ${failed} failed`);
    }
    await sleep(options.everyMs ?? 100);
  }
}

async function sizes(redis: RedisClient, keys: QueueKeys): Promise<[number, number]> {
  const answers = await redis.pipeline().zcard(keys.completed).zcard(keys.failed).exec();
  const at = (i: number) => Number(answers?.[i]?.[1] ?? 0);
  return [at(0), at(1)];
}

/** The measured window of a drained queue, in ms since the epoch. */
export interface JobWindow {
  jobs: number;
  firstStart: number;
  lastFinish: number;
  seconds: number;
}

/** The window spanned by jobs' start and finish times. */
export function windowOf(starts: readonly number[], finishes: readonly number[]): JobWindow {
  if (starts.length === 0 || finishes.length === 0) throw new Error('no finished jobs');
  const firstStart = starts.reduce((a, b) => Math.min(a, b));
  const lastFinish = finishes.reduce((a, b) => Math.max(a, b));
  return {
    jobs: finishes.length,
    firstStart,
    lastFinish,
    seconds: Math.max(0.001, (lastFinish - firstStart) / 1000),
  };
}

/** A completed job's timestamps, stamped by the worker that ran it (ms since the epoch). */
export interface CompletedJob {
  id: string;
  /**
   * When its last run started: BullMQ stamps `processedOn` at every move to active, so a job that
   * ran more than once keeps only its last run's start.
   */
  processedOn: number;
  /** When it completed (the completed set's score, also the job's `finishedOn`). */
  finishedOn: number;
  /**
   * Runs started (BullMQ's `ats`): 1 for a job that ran once; more when it waited in the delayed
   * set or was retried. NaN when the job has no such field.
   */
  runs: number;
}

/** Reads every completed job's timestamps (read after the phase's counts: not metered). */
export async function completedJobs(redis: RedisClient, keys: QueueKeys): Promise<CompletedJob[]> {
  const flat = await redis.zrange(keys.completed, '0', '-1', 'WITHSCORES');
  const finished: { id: string; finishedOn: number }[] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) {
    finished.push({ id: flat[i] ?? '', finishedOn: Number(flat[i + 1]) });
  }
  const jobs: CompletedJob[] = [];
  for (let i = 0; i < finished.length; i += 1000) {
    const chunk = finished.slice(i, i + 1000);
    const pipeline = redis.pipeline();
    for (const { id } of chunk) pipeline.hmget(keys.job(id), 'processedOn', 'ats');
    const answers = (await pipeline.exec()) ?? [];
    chunk.forEach(({ id, finishedOn }, j) => {
      const [processedOn, ats] = (answers[j]?.[1] ?? []) as (string | null)[];
      jobs.push({
        id,
        processedOn: numberOrNaN(processedOn),
        finishedOn,
        runs: numberOrNaN(ats),
      });
    });
  }
  return jobs;
}

function numberOrNaN(value: string | null | undefined): number {
  return value === null || value === undefined ? Number.NaN : Number(value);
}

/** The window of the completed jobs, from their `processedOn` and `finishedOn`. */
export async function completedWindow(redis: RedisClient, keys: QueueKeys): Promise<JobWindow> {
  const jobs = await completedJobs(redis, keys);
  return windowOf(
    jobs.map((j) => j.processedOn).filter((t) => Number.isFinite(t)),
    jobs.map((j) => j.finishedOn),
  );
}
