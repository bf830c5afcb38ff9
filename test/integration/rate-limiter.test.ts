import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RedisClient } from '../../src/adapters/redis/connection.js';
import { ProviderRateLimiter } from '../../src/adapters/redis/rate-limiter.js';
import { deleteKeys, testRedis } from '../support/redis.js';

const prefix = `test:${randomUUID()}`;
let redis: RedisClient;
let other: RedisClient;

beforeAll(() => {
  redis = testRedis();
  other = testRedis();
});
afterAll(async () => {
  other.disconnect();
  await deleteKeys(redis, [`${prefix}:*`]);
});

/** Largest number of timestamps inside any window of `ms`. */
function busiestWindow(times: number[], ms: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let best = 0;
  let lo = 0;
  for (let hi = 0; hi < sorted.length; hi++) {
    while ((sorted[hi] ?? 0) - (sorted[lo] ?? 0) >= ms) lo++;
    best = Math.max(best, hi - lo + 1);
  }
  return best;
}

describe('ProviderRateLimiter', () => {
  it('spaces calls from two limiters (two processes) so no one-second window exceeds the QPS', async () => {
    const a = new ProviderRateLimiter({ redis, prefix, qps: { GetStatus: 40 } });
    const b = new ProviderRateLimiter({ redis: other, prefix, qps: { GetStatus: 40 } });
    const times: number[] = [];
    const started = performance.now();
    await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        (i % 2 ? a : b).run('GetStatus', () => {
          times.push(performance.now());
          return Promise.resolve();
        }),
      ),
    );
    expect(busiestWindow(times, 1000)).toBeLessThanOrEqual(40);
    expect(times).toHaveLength(60);
    expect(performance.now() - started).toBeGreaterThanOrEqual(1400);
  });

  it('limits actions separately, and not at all without a QPS', async () => {
    const limiter = new ProviderRateLimiter({ redis, prefix, qps: { SubmitMaterials: 1 } });
    expect(await limiter.acquire('SubmitMaterials')).toBe(0);
    expect(await limiter.acquire('GetMaterials')).toBe(0);
    expect(limiter.qpsOf('GetMaterials')).toBe(0);
  });

  it('blocks an action for every limiter after a Throttling answer', async () => {
    const a = new ProviderRateLimiter({ redis, prefix, qps: { '*': 1000 } });
    const b = new ProviderRateLimiter({ redis: other, prefix, qps: { '*': 1000 } });
    await a.block('GetVerifyToken', 300);
    const waited = await b.acquire('GetVerifyToken');
    expect(waited).toBeGreaterThanOrEqual(250);
    expect(await b.acquire('GetStatus')).toBe(0);
  });

  /** A limiter whose sleeps advance a fake clock by what was asked plus `stalls[n]` (ms). */
  function stallingLimiter(action: string, stalls: number[]) {
    const asked: number[] = [];
    let clock = 0;
    const limiter = new ProviderRateLimiter({
      redis,
      prefix,
      qps: { [action]: 10 },
      now: () => clock,
      sleep: (ms) => {
        clock += ms + (stalls[asked.length] ?? 0);
        asked.push(ms);
        return Promise.resolve();
      },
    });
    return { limiter, asked };
  }

  it('gives up a slot it woke too late for and reserves another, instead of bunching', async () => {
    const { limiter, asked } = stallingLimiter('StallTest', [100]);
    expect(await limiter.acquire('StallTest')).toBe(0);
    const waited = await limiter.acquire('StallTest');
    // woke 100 ms after its slot, past the 30 ms tolerance: a second slot was reserved
    expect(asked).toHaveLength(2);
    expect(asked[0]).toBeGreaterThan(0);
    expect(waited).toBe((asked[0] ?? 0) + (asked[1] ?? 0));
  });

  it('leaves at once when it wakes within the tolerance', async () => {
    const { limiter, asked } = stallingLimiter('InTimeTest', [25]);
    await limiter.acquire('InTimeTest');
    await limiter.acquire('InTimeTest');
    expect(asked).toHaveLength(1);
  });
});
