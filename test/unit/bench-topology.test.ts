import { describe, expect, it } from 'vitest';
import { redisEnvOf } from '../../bench/lib/bench-topology.js';
import { roundOrder, rotatedOrder } from '../../bench/lib/interleave.js';
import {
  REPLICATION_COMMANDS,
  perUnitDifference,
  splitReplication,
  sumCounts,
} from '../../bench/lib/redis-stats.js';

describe('rounds of several sides', () => {
  it('rotates the order by one each round, so each side runs once in every position', () => {
    expect(rotatedOrder(['a', 'b', 'c'], 4)).toEqual([
      ...['a', 'b', 'c'],
      ...['b', 'c', 'a'],
      ...['c', 'a', 'b'],
      ...['a', 'b', 'c'],
    ]);
    const order = rotatedOrder(['a', 'b', 'c'], 3);
    for (const side of ['a', 'b', 'c'] as const) {
      const positions = [0, 1, 2].map((round) =>
        order.slice(round * 3, round * 3 + 3).indexOf(side),
      );
      expect(positions.sort()).toEqual([0, 1, 2]);
    }
  });

  it('is the two-sided A B B A order with two sides', () => {
    expect(rotatedOrder(['ours', 'baseline'], 3)).toEqual(roundOrder(3));
  });

  it('has no rounds for zero', () => {
    expect(rotatedOrder(['a', 'b'], 0)).toEqual([]);
  });
});

describe('command counts over several primaries', () => {
  it('adds the nodes’ counts by command', () => {
    expect(sumCounts([{ get: 2, set: 1 }, { get: 3 }, {}])).toEqual({ get: 5, set: 1 });
    expect(sumCounts([])).toEqual({});
  });

  it('sets the replicas’ REPLCONF apart from the clients’ commands', () => {
    expect(REPLICATION_COMMANDS).toContain('replconf');
    expect(splitReplication({ evalsha: 10, replconf: 4, wait: 2 })).toEqual({
      clients: { evalsha: 10, wait: 2 },
      replication: { replconf: 4 },
    });
  });

  it('gives what one side calls more per unit, largest difference first, zeros left out', () => {
    const cluster = { hmget: 1040, wait: 100, exists: 400, hset: 800 };
    const single = { hmget: 2060, exists: 600, hset: 1600, info: 2 };
    const more = perUnitDifference(cluster, 100, single, 200);
    expect(more).toEqual({ exists: 1, wait: 1, hmget: 0.1 });
    expect(Object.keys(more).at(-1)).toBe('hmget');
    expect(perUnitDifference(single, 200, cluster, 100)).toEqual({
      exists: -1,
      wait: -1,
      hmget: -0.1,
    });
  });
});

describe('a worker’s Redis settings for a topology', () => {
  it('names the URL of one node', () => {
    expect(redisEnvOf({ kind: 'single', url: 'redis://127.0.0.1:6390' })).toEqual({
      REDIS_URL: 'redis://127.0.0.1:6390',
    });
  });

  it('lists a Cluster’s seeds and blanks REDIS_URL, the two being exclusive', () => {
    const nodes = [
      { host: '127.0.0.1', port: 7001 },
      { host: '127.0.0.1', port: 7002 },
    ];
    expect(redisEnvOf({ kind: 'cluster', nodes })).toEqual({
      REDIS_URL: '',
      REDIS_CLUSTER_NODES: '127.0.0.1:7001,127.0.0.1:7002',
    });
  });

  it('refuses a Cluster without seeds', () => {
    expect(() => redisEnvOf({ kind: 'cluster', nodes: [] })).toThrow(/seed/);
  });
});
