/**
 * Readiness of one process: Redis answers, the workers this process runs are running, and the
 * ticket queue is not falling behind. Liveness needs no check (a process that answers is alive).
 */
import type { Redis } from 'ioredis';
import { oldestWaitingAgeSeconds, type ObservedQueue } from './queue-stats.js';
import { withTimeLimit } from './time-limit.js';

/** The result of one readiness check. */
export type CheckResult = 'ok' | 'fail';

/** What {@link HealthCheck.readiness} answers. */
export interface Readiness {
  /** True when every check is `ok`. */
  ready: boolean;
  checks: {
    /** Redis answered PING within the time limit. */
    redis: CheckResult;
    /** Every worker of this process is running (`ok` when the process runs none). */
    workers: CheckResult;
    /** The oldest waiting ticket job is younger than `maxWaitSeconds`, and could be read. */
    queue: CheckResult;
  };
}

/** A worker whose loop can be asked whether it runs (a BullMQ `Worker`). */
export interface CheckedWorker {
  isRunning(): boolean;
}

/** What {@link HealthCheck} needs. */
export interface HealthCheckDeps {
  /** The connection PINGed. */
  redis: Pick<Redis, 'ping'>;
  /** The `tickets` queue. */
  queue: ObservedQueue;
  /** The workers of this process by name (`tickets`, `webhooks`); absent ones are skipped. */
  workers?: Readonly<Record<string, CheckedWorker | undefined>>;
  /** Longest acceptable wait of the oldest waiting ticket job, in seconds (`READYZ_MAX_WAIT_SECONDS`). */
  maxWaitSeconds: number;
  /** Time limit of each Redis check, in ms. Default 1000. */
  timeoutMs?: number;
  clock?: () => number;
}

/** Answers whether this process is ready to take work. */
export class HealthCheck {
  readonly #deps: HealthCheckDeps;

  constructor(deps: HealthCheckDeps) {
    this.#deps = deps;
  }

  /** Runs every check at once; each Redis check fails after the time limit. */
  async readiness(): Promise<Readiness> {
    const [redis, queue] = await Promise.all([this.#redis(), this.#queue()]);
    const workers = this.#workers();
    return {
      ready: redis === 'ok' && workers === 'ok' && queue === 'ok',
      checks: { redis, workers, queue },
    };
  }

  async #redis(): Promise<CheckResult> {
    const pong = await this.#limit(this.#deps.redis.ping(), 'PING');
    return pong === 'PONG' ? 'ok' : 'fail';
  }

  async #queue(): Promise<CheckResult> {
    const now = (this.#deps.clock ?? Date.now)();
    const age = await this.#limit(oldestWaitingAgeSeconds(this.#deps.queue, now), 'oldest job');
    return age !== undefined && age <= this.#deps.maxWaitSeconds ? 'ok' : 'fail';
  }

  #workers(): CheckResult {
    const workers = Object.values(this.#deps.workers ?? {});
    return workers.every((w) => w === undefined || w.isRunning()) ? 'ok' : 'fail';
  }

  async #limit<T>(work: Promise<T>, what: string): Promise<T | undefined> {
    try {
      return await withTimeLimit(work, this.#deps.timeoutMs ?? 1000, what);
    } catch {
      return undefined;
    }
  }
}
