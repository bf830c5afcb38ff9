/**
 * Readiness of one process: "can this process do its job now". Redis answers (when the process
 * uses Redis) and the workers this process runs are running. A backlog is not a readiness
 * failure: every API replica would turn not-ready at once under one large batch and an
 * orchestrator would take intake offline when it is needed most. The backlog is the metric
 * `queue_oldest_waiting_age_seconds` and an alert rule (`deploy/prometheus/alerts.yml`).
 * Liveness needs no check (a process that answers is alive).
 */
import type { RedisClient } from '../adapters/redis/connection.js';
import { withTimeLimit } from './time-limit.js';

/** The result of one readiness check. */
export type CheckResult = 'ok' | 'fail';

/** What {@link HealthCheck.readiness} answers. */
export interface Readiness {
  /** True when every check is `ok`. */
  ready: boolean;
  /** Each check this process runs; a process without Redis or workers has no such check. */
  checks: {
    /** Redis answered PING within the time limit. */
    redis?: CheckResult;
    /** Every worker of this process is running. */
    workers?: CheckResult;
  };
}

/** A worker whose loop can be asked whether it runs (a BullMQ `Worker`). */
export interface CheckedWorker {
  isRunning(): boolean;
}

/** What {@link HealthCheck} needs; a part left out is not checked. */
export interface HealthCheckDeps {
  /** The connection PINGed. */
  redis?: Pick<RedisClient, 'ping'>;
  /** The workers of this process by name (`tickets`, `webhooks`); undefined entries are skipped. */
  workers?: Readonly<Record<string, CheckedWorker | undefined>>;
  /** Time limit of the Redis check, in ms. Default 1000. */
  timeoutMs?: number;
}

/** Answers whether this process is ready to take work. */
export class HealthCheck {
  readonly #deps: HealthCheckDeps;

  constructor(deps: HealthCheckDeps) {
    this.#deps = deps;
  }

  /** Runs every check of this process; the Redis check fails after the time limit. */
  async readiness(): Promise<Readiness> {
    const checks: Readiness['checks'] = {};
    if (this.#deps.redis) checks.redis = await this.#redis(this.#deps.redis);
    const workers = Object.values(this.#deps.workers ?? {}).filter((w) => w !== undefined);
    if (workers.length > 0) checks.workers = workers.every((w) => w.isRunning()) ? 'ok' : 'fail';
    return { ready: Object.values(checks).every((c) => c === 'ok'), checks };
  }

  async #redis(redis: Pick<RedisClient, 'ping'>): Promise<CheckResult> {
    try {
      const pong = await withTimeLimit(redis.ping(), this.#deps.timeoutMs ?? 1000, 'PING');
      return pong === 'PONG' ? 'ok' : 'fail';
    } catch {
      return 'fail';
    }
  }
}
