/**
 * The run's own `redis-server`: no persistence (`--save ""`, `--appendonly no`), loopback only, on
 * a free port, its log in the run's directory. Private to the run, so FLUSHALL and CONFIG
 * RESETSTAT between phases disturb nobody (the shared Redis on 6379 is never used).
 */
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort, startProcess, waitUntil, type ManagedProcess } from '../../chaos/processes.js';

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
  const port = await freePort();
  const url = `redis://127.0.0.1:${port}`;
  const server: ManagedProcess = startProcess({
    name: 'redis',
    command: 'redis-server',
    args: [
      ...['--port', String(port), '--bind', '127.0.0.1', '--dir', dir],
      ...['--save', '', '--appendonly', 'no', '--maxmemory-policy', 'noeviction'],
    ],
    env: {},
    logFile: join(dir, 'redis.log'),
  });
  const connect = (options: { forWorker?: boolean } = {}) => {
    const redis = new Redis(url, {
      maxRetriesPerRequest: options.forWorker ? null : 3,
      lazyConnect: false,
    });
    redis.on('error', () => undefined);
    return redis;
  };
  const early = await Promise.race([
    server.exited,
    waitUntil('redis-server', () => pings(connect), 15_000, 100).then(() => undefined),
  ]);
  if (early !== undefined) {
    throw new Error(`redis-server did not start (${early}); it must be on PATH`);
  }
  const probe = connect();
  const version = /redis_version:(\S+)/.exec(await probe.info('server'))?.[1] ?? 'unknown';
  probe.disconnect();
  return { url, pid: server.pid, version, connect, stop: () => server.stop('SIGTERM') };
}

async function pings(connect: () => Redis): Promise<boolean> {
  const redis = connect();
  try {
    return (await redis.ping()) === 'PONG';
  } finally {
    redis.disconnect();
  }
}
