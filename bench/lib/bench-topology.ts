/**
 * The Redis a benchmark side runs on, of either topology the product supports there: the run's one
 * node, or a Cluster the benchmark started itself (testkit/redis-topology.ts). The clients are the
 * product's own (`connectRedis`), so a side's intake talks to Redis as the orchestrator's does; the
 * workers get the same topology through the environment they read in production.
 */
import {
  connectRedis,
  primariesOf,
  type RedisClient,
  type RedisRole,
  type RedisTopology,
} from '../../src/adapters/redis/connection.js';
import { topologyEnv } from '../../testkit/redis-topology.js';
import { waitUntil } from '../../testkit/waiting.js';
import { infoNumber } from './redis-stats.js';

/** The topologies a benchmark side runs on (no credentials: the servers are private, loopback). */
export type BenchTopology =
  | { kind: 'single'; url: string }
  | { kind: 'cluster'; nodes: readonly { host: string; port: number }[] };

/**
 * The worker's Redis settings for `topology`: `REDIS_URL`, or `REDIS_CLUSTER_NODES` with
 * `REDIS_URL` blanked. The two are exclusive (the config refuses both), and an empty value both
 * blanks what the child would inherit (testkit/processes.ts) and reads as unset in the config.
 * `REDIS_WAIT_REPLICAS` is left to its default (0 on one node, 1 on a Cluster).
 */
export function redisEnvOf(topology: BenchTopology): Record<string, string> {
  if (topology.kind === 'single') return { REDIS_URL: topology.url };
  if (topology.nodes.length === 0) throw new Error('a Cluster topology needs seed nodes');
  return {
    REDIS_URL: '',
    ...topologyEnv(topology),
  };
}

/** The product's topology for a bench one. */
function productTopology(topology: BenchTopology): RedisTopology {
  return topology.kind === 'single'
    ? { kind: 'single', url: topology.url }
    : { kind: 'cluster', nodes: topology.nodes };
}

/**
 * A client of `role` for `topology` (the product's `connectRedis`), resolved once it is ready: a
 * Cluster client knows its primaries (`primariesOf`) only then. The caller disconnects it.
 */
export async function connectReady(
  topology: BenchTopology,
  role: RedisRole = 'queue',
): Promise<RedisClient> {
  const client = connectRedis(productTopology(topology), role);
  // connection errors surface as failed commands; without a listener ioredis prints each one
  client.on('error', () => undefined);
  try {
    await waitUntil(`a ${topology.kind} Redis client ready`, () => client.status === 'ready', {
      timeoutMs: 30_000,
      everyMs: 20,
    });
  } catch (err) {
    client.disconnect();
    throw err;
  }
  return client;
}

/**
 * FLUSHALL on every primary: sent through a Cluster client, a keyless command reaches one node
 * chosen at random. The replicas follow their primaries.
 */
export async function flushAll(client: RedisClient): Promise<void> {
  await Promise.all(primariesOf(client).map((node) => node.flushall()));
}

/** The pid of each primary's `redis-server` (INFO server `process_id`; the servers are local). */
export async function primaryPids(client: RedisClient): Promise<number[]> {
  const infos = await Promise.all(primariesOf(client).map((node) => node.info('server')));
  return infos.map((info) => {
    const pid = infoNumber(info, 'process_id');
    if (!Number.isInteger(pid)) throw new Error('INFO server has no process_id');
    return pid;
  });
}
