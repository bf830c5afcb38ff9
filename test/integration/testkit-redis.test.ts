/**
 * The test kit's `redis-server` launcher (testkit/redis.ts), which the tests' global setup, the
 * benchmarks and the chaos run start their servers with: the options reach the server, a SIGKILL
 * and a restart on the same port keep what the AOF holds, and a server that cannot start says why
 * at once instead of at the deadline.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedisServer } from '../../testkit/redis.js';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'testkit-redis-test-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function configOf(url: string, ...keys: string[]): Promise<Record<string, string>> {
  const redis = new Redis(url, { maxRetriesPerRequest: 1 });
  try {
    const out: Record<string, string> = {};
    for (const key of keys) {
      const [, value] = (await redis.config('GET', key)) as [string, string];
      out[key] = value;
    }
    return out;
  } finally {
    redis.disconnect();
  }
}

describe('startRedisServer', () => {
  it('starts with the AOF, fsync policy and maxmemory asked for, and a SIGKILL and restart keep the AOF', async () => {
    const server = await startRedisServer({
      dir,
      aof: { fsync: 'always' },
      maxmemoryBytes: 64 * 1024 * 1024,
    });
    try {
      expect(
        await configOf(server.url, 'appendonly', 'appendfsync', 'maxmemory', 'maxmemory-policy'),
      ).toEqual({
        appendonly: 'yes',
        appendfsync: 'always',
        maxmemory: String(64 * 1024 * 1024),
        'maxmemory-policy': 'noeviction',
      });
      const redis = new Redis(server.url, { maxRetriesPerRequest: 1 });
      await redis.set('kept', 'yes');
      redis.disconnect();
      const pid = server.pid;

      await server.kill();
      expect(server.running()).toBe(false);
      await server.restart();
      expect(server.running()).toBe(true);
      expect(server.pid).not.toBe(pid);

      const again = new Redis(server.url, { maxRetriesPerRequest: 1 });
      expect(await again.get('kept')).toBe('yes');
      again.disconnect();
    } finally {
      await server.stop();
    }
    expect(server.running()).toBe(false);
    expect(existsSync(dir)).toBe(true); // a directory given is the caller's to remove
  });

  it('keeps nothing on disk by default, in a directory of its own that stop() removes', async () => {
    const server = await startRedisServer();
    expect(await configOf(server.url, 'appendonly', 'save')).toEqual({
      appendonly: 'no',
      save: '',
    });
    expect(existsSync(join(server.dir, 'redis.log'))).toBe(true);
    await server.stop();
    expect(existsSync(server.dir)).toBe(false);
  });

  it('fails at once, with the end of its log, when the server exits at start', async () => {
    const taken = await startRedisServer();
    try {
      const started = Date.now();
      const err: unknown = await startRedisServer({ port: taken.port, name: 'second' }).catch(
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(Error);
      expect((err as Error).message).toMatch(
        new RegExp(`^second did not start on ${taken.port} \\(exit 1\\); its log ends:\\n`),
      );
      expect((err as Error).message).toMatch(/Address already in use/);
      expect(Date.now() - started).toBeLessThan(5000);
    } finally {
      await taken.stop();
    }
  });
});
