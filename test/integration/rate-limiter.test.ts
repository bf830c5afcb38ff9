import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RedisClient } from '../../src/adapters/redis/connection.js';
import {
  MINUTE_COUNTS_TTL_SECONDS,
  minuteCountsKey,
  readMinuteCounts,
} from '../../src/adapters/redis/ops-counters.js';
import { redisNowMs } from '../../src/adapters/redis/ops-overview-reads.js';
import {
  CALLS_RING_SECONDS,
  callsKey,
  ProviderRateLimiter,
} from '../../src/adapters/redis/rate-limiter.js';
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

describe('ProviderRateLimiter counts for the operations page', () => {
  const redisSecond = async () => Math.floor((await redisNowMs(redis)) / 1000);

  it('counts the calls of a limited action per second, in the script that reserves their slot', async () => {
    const limiter = new ProviderRateLimiter({ redis, prefix, qps: { CountTest: 50 } });
    const first = await redisSecond();
    await Promise.all(
      Array.from({ length: 30 }, () => limiter.run('CountTest', () => Promise.resolve())),
    );
    const last = await redisSecond();
    const seconds = last - first + 1;
    const { CountTest: perSecond = [] } = await limiter.recentCalls(['CountTest'], last, seconds);
    expect(perSecond).toHaveLength(seconds);
    expect(perSecond.reduce((a, b) => a + b, 0)).toBe(30);
    // 50 QPS with the 3 % headroom: at most 49 slots start in one second
    expect(Math.max(...perSecond)).toBeLessThanOrEqual(50);
    expect(await redis.exists(callsKey(prefix, 'CountTest'))).toBe(1);
    expect(await redis.pttl(callsKey(prefix, 'CountTest'))).toBeGreaterThan(
      (CALLS_RING_SECONDS - 5) * 1000,
    );
  });

  it('takes back the count of a slot given up for a late wake-up', async () => {
    const { limiter, asked } = stallingLimiter('RedrawCount', [100]);
    const first = await redisSecond();
    await limiter.acquire('RedrawCount');
    await limiter.acquire('RedrawCount');
    // the second call woke 100 ms late and reserved again
    expect(asked).toHaveLength(2);
    // three slots reserved, one given up: two calls left; slots may lie up to 0.3 s ahead
    const last = (await redisSecond()) + 1;
    const counts = await limiter.recentCalls(['RedrawCount'], last, last - first + 1);
    expect(counts.RedrawCount?.reduce((a, b) => a + b, 0)).toBe(2);
  });

  it('counts nothing for an action without a limit', async () => {
    const limiter = new ProviderRateLimiter({ redis, prefix, qps: { Limited: 5 } });
    await limiter.run('Unlimited', () => Promise.resolve());
    expect(await redis.exists(callsKey(prefix, 'Unlimited'))).toBe(0);
    const now = await redisSecond();
    expect((await limiter.recentCalls(['Unlimited'], now, 300)).Unlimited).toEqual(
      new Array(300).fill(0),
    );
  });

  it('counts Throttling answers by action and retried attempts per minute', async () => {
    const own = `${prefix}:minutes`;
    const limiter = new ProviderRateLimiter({ redis, prefix: own, qps: { '*': 100 } });
    const before = Math.floor(Date.now() / 60_000);
    await limiter.block('GetStatus', 10);
    await limiter.block('GetStatus', 10);
    await limiter.block('SubmitMaterials', 10);
    await limiter.countRetry();
    const after = Math.floor(Date.now() / 60_000);
    const counts = await readMinuteCounts(redis, own, before, after - before + 1);
    const total = (s: number[]) => s.reduce((a, b) => a + b, 0);
    expect(total(counts.throttled)).toBe(3);
    expect(total(counts.throttledBy.GetStatus ?? [])).toBe(2);
    expect(total(counts.throttledBy.SubmitMaterials ?? [])).toBe(1);
    expect(total(counts.retried)).toBe(1);
    expect(await redis.ttl(minuteCountsKey(own, after))).toBeGreaterThan(
      MINUTE_COUNTS_TTL_SECONDS - 60,
    );
  });
});
