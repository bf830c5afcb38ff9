/**
 * Watching a BullMQ queue drain from outside: the sizes of its completed and failed sets, polled
 * (each poll recorded on the phase's {@link CommandMeter} so it is not counted against the system
 * under test), and afterwards the measured window from the jobs' own timestamps: the first job's
 * `processedOn` to the last one's `finishedOn` (the completed set's score), both stamped by the
 * workers. Intake and process start-up fall outside that window.
 */
import type { Redis } from 'ioredis';
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
  redis: Redis,
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

async function sizes(redis: Redis, keys: QueueKeys): Promise<[number, number]> {
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

/** Reads the completed jobs' `processedOn` and `finishedOn` (read after the phase's counts). */
export async function completedWindow(redis: Redis, keys: QueueKeys): Promise<JobWindow> {
  const flat = await redis.zrange(keys.completed, '0', '-1', 'WITHSCORES');
  const ids: string[] = [];
  const finishes: number[] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) {
    ids.push(flat[i] ?? '');
    finishes.push(Number(flat[i + 1]));
  }
  const starts: number[] = [];
  for (let i = 0; i < ids.length; i += 1000) {
    const pipeline = redis.pipeline();
    for (const id of ids.slice(i, i + 1000)) pipeline.hget(keys.job(id), 'processedOn');
    for (const [, value] of (await pipeline.exec()) ?? []) {
      if (value !== null && value !== undefined) starts.push(Number(value));
    }
  }
  return windowOf(starts, finishes);
}
