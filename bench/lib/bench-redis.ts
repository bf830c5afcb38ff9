/**
 * The run's own `redis-server` (testkit/redis.ts): no persistence, loopback only, on a free port,
 * its log in the run's directory. Private to the run, so FLUSHALL and CONFIG RESETSTAT between
 * phases disturb nobody (the shared Redis on 6379 is never used).
 */
import { Redis } from 'ioredis';
import { startRedisServer } from '../../testkit/redis.js';

/** The running server. */
export interface BenchRedis {
  readonly url: string;
  readonly pid: number | undefined;
  /** `redis_version` of INFO server. */
  readonly version: string;
  /** A fresh connection (the caller quits it). */
  connect(options?: { forWorker?: boolean }): Redis;
  stop(): Promise<void>;
}

/** Starts the server in `dir`; resolves once it answers PING. */
export async function startBenchRedis(dir: string): Promise<BenchRedis> {
  const server = await startRedisServer({ name: 'redis', dir });
  const connect = (options: { forWorker?: boolean } = {}) => {
    const redis = new Redis(server.url, {
      maxRetriesPerRequest: options.forWorker ? null : 3,
      lazyConnect: false,
    });
    redis.on('error', () => undefined);
    return redis;
  };
  const probe = connect();
  const version = /redis_version:(\S+)/.exec(await probe.info('server'))?.[1] ?? 'unknown';
  probe.disconnect();
  return { url: server.url, pid: server.pid, version, connect, stop: () => server.stop() };
}
