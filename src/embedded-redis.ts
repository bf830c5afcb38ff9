/**
 * The embedded default's Redis: where REDIS_URL is unset and nothing answers on 127.0.0.1:6379,
 * `redis-server` from PATH is started there with AOF into `data/redis` (appendfsync always: an
 * accepted ticket survives a machine crash), and stopped (SHUTDOWN, which writes the AOF) when the
 * app closes. Without one on PATH the error says how to get it.
 *
 * Tests, benchmarks and the chaos run start their own servers with testkit/redis.ts, not with this:
 * this is product code, shipped in the package, and the product never imports the test kit (a lint
 * rule in eslint.config.js keeps it so). The kit reuses {@link redisAnswers} from here.
 */
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { Redis } from 'ioredis';
import { ConfigError } from './errors.js';
import type { Logger } from './logger.js';

export const EMBEDDED_REDIS_URL = 'redis://127.0.0.1:6379';

export interface EmbeddedRedis {
  url: string;
  /** Present when this process started the server. */
  stop?: () => Promise<void>;
}

/** Answers PING within a second? */
export async function redisAnswers(url: string): Promise<boolean> {
  const redis = new Redis(url, {
    lazyConnect: true,
    connectTimeout: 1000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    return (await redis.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    redis.disconnect();
  }
}

export async function ensureEmbeddedRedis(dataDir: string, logger: Logger): Promise<EmbeddedRedis> {
  if (await redisAnswers(EMBEDDED_REDIS_URL)) return { url: EMBEDDED_REDIS_URL };
  const dir = resolve(dataDir, 'redis');
  mkdirSync(dir, { recursive: true });
  const child = spawn(
    'redis-server',
    [
      '--bind',
      '127.0.0.1',
      '--port',
      '6379',
      '--dir',
      dir,
      '--appendonly',
      'yes',
      '--appendfsync',
      'always',
      '--save',
      '',
      '--maxmemory-policy',
      'noeviction',
    ],
    { stdio: 'ignore', detached: false },
  );
  const spawnError = new Promise<Error>((res) => child.once('error', res));
  for (let i = 0; i < 50; i++) {
    const failed = await Promise.race([
      spawnError,
      new Promise((r) => setTimeout(r, 100, undefined)),
    ]);
    if (failed instanceof Error) {
      throw new ConfigError(
        'no Redis answers on 127.0.0.1:6379 and redis-server could not be started ' +
          `(${failed.message}): install it (Debian/Ubuntu: apt-get install redis-server; macOS: brew install redis) or set REDIS_URL`,
      );
    }
    if (await redisAnswers(EMBEDDED_REDIS_URL)) {
      logger.warn(
        { dir },
        'started an embedded redis-server on 127.0.0.1:6379 (AOF in data/redis)',
      );
      return {
        url: EMBEDDED_REDIS_URL,
        stop: async () => {
          const redis = new Redis(EMBEDDED_REDIS_URL, { maxRetriesPerRequest: 0 });
          redis.on('error', () => undefined);
          await redis.call('SHUTDOWN').catch(() => undefined);
          redis.disconnect();
        },
      };
    }
  }
  child.kill();
  throw new ConfigError('redis-server started but did not answer on 127.0.0.1:6379 within 5 s');
}
