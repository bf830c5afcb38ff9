/**
 * The tests' Redis, whatever its topology: the global set-up (`test/global-setup.ts`) starts one
 * node, a Sentinel set or a Cluster (`TEST_REDIS_TOPOLOGY=single|sentinel|cluster`) and provides
 * it as `redisTopology`. Tests build their clients with the product's own factory
 * ({@link testRedis}), hand child processes the matching settings ({@link redisEnv}), and clean
 * their prefix on every primary ({@link deleteKeys}).
 */
import { inject } from 'vitest';
import {
  connectRedis,
  primariesOf,
  type RedisClient,
  type RedisRole,
  type RedisTopology,
} from '../../src/adapters/redis/connection.js';
import { topologyEnv } from '../../testkit/redis-topology.js';

/** The topology of this run. */
export function testTopology(): RedisTopology {
  return inject('redisTopology');
}

/** A client of `role` (default `commands`) on the tests' Redis; the caller closes it. */
export function testRedis(role: RedisRole = 'commands'): RedisClient {
  return connectRedis(testTopology(), role);
}

/** The settings a process started by a test needs to reach the tests' Redis. */
export function redisEnv(topology: RedisTopology = testTopology()): Record<string, string> {
  return topologyEnv(topology);
}

/**
 * Deletes every key matching `patterns` (SCAN on each primary, DEL one key at a time: on a
 * Cluster, the keys of one DEL must share a slot), then disconnects `redis`.
 */
export async function deleteKeys(redis: RedisClient, patterns: readonly string[]): Promise<void> {
  try {
    if (redis.status === 'wait') await redis.connect();
    await waitForPrimaries(redis);
    for (const node of primariesOf(redis)) {
      for (const match of patterns) {
        let cursor = '0';
        do {
          const [next, keys] = await node.scan(cursor, 'MATCH', match, 'COUNT', 1000);
          cursor = next;
          await Promise.all(keys.map((k) => redis.del(k)));
        } while (cursor !== '0');
      }
    }
  } finally {
    redis.disconnect();
  }
}

/** A Cluster client knows its primaries once it has the slot map: PING waits for that. */
async function waitForPrimaries(redis: RedisClient): Promise<void> {
  await redis.ping();
}
