/**
 * The provider's QPS, respected across every worker and process: one Redis key per action holds
 * the next free slot (GCRA, a "virtual scheduling" leaky bucket). Each call reserves the next slot,
 * at least 1000/qps ms after the one before, and waits for it; so no one-second window, sliding or
 * not, sees more than `qps` calls leave. A fixed-window counter (rate-limiter-flexible's Redis
 * limiters) allows twice the rate across a window boundary, which the provider would throttle.
 *
 * Slots are spaced a little wider than 1000/qps ms (`headroom`, default 3%): the calls reach the
 * provider with some jitter (event loop, network), and a headroom h absorbs up to h × 1000 ms of
 * it before qps + 1 calls could land in one second at the provider.
 *
 * That bound only holds if a call leaves when its slot comes. A process that wakes up late (a GC
 * pause, a CPU shared with other processes) would send its call next to the calls of the slots
 * after it, and a burst of late calls lands qps + 1 in one second. So a call that wakes more than
 * the headroom's worth of jitter (h × 1000 ms) after its slot gives the slot up and reserves
 * another: late calls are spread out again instead of bunched.
 *
 * A Throttling answer pushes the action's next free slot `retryAfterMs` into the future: every
 * worker slows down, not only the one that saw it. Slots use Redis's clock (TIME), so process
 * clocks need not agree.
 *
 * When Redis is out of memory the slot script is refused (it declares no `allow-oom`) and the
 * call fails with a retryable `StoreFullError` before it reaches the provider: a worker could not
 * record the provider's answer anyway, and a call whose answer is lost is wasted quota.
 */
import type { RedisClient } from './connection.js';
import { refusingWhenFull } from './store-full.js';

/**
 * KEYS[1] the action's slot key
 * ARGV[1] interval between calls, in microseconds
 * ARGV[2] 'reserve' or 'block'
 * ARGV[3] for 'block': how long, in microseconds
 * Returns the wait before the reserved slot, in microseconds (0 for 'block').
 * Declared with a shebang and no flags (Redis 7): refused whole when Redis is over maxmemory.
 */
const SLOT_SCRIPT = `#!lua
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local nextFree = tonumber(redis.call('GET', KEYS[1]) or '0')
local interval = tonumber(ARGV[1])
if ARGV[2] == 'block' then
  local untilTs = now + tonumber(ARGV[3])
  if untilTs > nextFree then
    redis.call('SET', KEYS[1], string.format('%.0f', untilTs), 'PX', math.ceil((untilTs - now) / 1000) + 1000)
  end
  return 0
end
local slot = math.max(nextFree, now)
local after = slot + interval
redis.call('SET', KEYS[1], string.format('%.0f', after), 'PX', math.ceil((after - now) / 1000) + 1000)
return slot - now
`;

interface SlotRedis {
  providerSlot(key: string, intervalUs: string, mode: string, blockUs: string): Promise<number>;
}

export interface ProviderRateLimiterDeps {
  redis: RedisClient;
  /** Key prefix, e.g. `ca`. */
  prefix: string;
  /** Calls per second per action; `*` applies to actions not listed. 0 or absent: no limit. */
  qps: Readonly<Record<string, number>>;
  /** Extra spacing between slots, as a fraction of 1000/qps ms. Default 0.03. */
  headroom?: number;
  sleep?: (ms: number) => Promise<void>;
  /** A monotonic clock in ms (default `performance.now`). */
  now?: () => number;
}

/** Times a late call reserves a new slot before it leaves anyway (a stalled process's last resort). */
export const MAX_REDRAWS = 5;

export class ProviderRateLimiter {
  private readonly redis: SlotRedis;

  constructor(private readonly deps: ProviderRateLimiterDeps) {
    if (!('providerSlot' in deps.redis)) {
      deps.redis.defineCommand('providerSlot', { numberOfKeys: 1, lua: SLOT_SCRIPT });
    }
    this.redis = deps.redis as unknown as SlotRedis;
  }

  /** Calls per second allowed for `action`, or 0 for no limit. */
  qpsOf(action: string): number {
    return this.deps.qps[action] ?? this.deps.qps['*'] ?? 0;
  }

  /**
   * Reserves the next slot for `action` and waits until it comes; reserves again when it woke up
   * too late (see the module comment). Answers the time asked to sleep, in ms.
   */
  async acquire(action: string): Promise<number> {
    const qps = this.qpsOf(action);
    if (qps <= 0) return 0;
    const headroom = this.deps.headroom ?? 0.03;
    const intervalUs = Math.ceil((1_000_000 / qps) * (1 + headroom));
    const toleranceMs = Math.max(1, headroom * 1000);
    const now = this.deps.now ?? (() => performance.now());
    let waited = 0;
    for (let redraw = 0; ; redraw++) {
      const waitUs = await refusingWhenFull(() =>
        this.redis.providerSlot(this.key(action), String(intervalUs), 'reserve', '0'),
      );
      const due = now() + waitUs / 1000;
      const waitMs = Math.ceil(waitUs / 1000);
      if (waitMs > 0) await (this.deps.sleep ?? sleep)(waitMs);
      waited += waitMs;
      if (now() - due <= toleranceMs || redraw >= MAX_REDRAWS) return waited;
    }
  }

  /** No call of `action` leaves, from any worker, for `ms`. */
  async block(action: string, ms: number): Promise<void> {
    await refusingWhenFull(() =>
      this.redis.providerSlot(this.key(action), '0', 'block', String(Math.ceil(ms * 1000))),
    );
  }

  /** Runs `call` in its slot. */
  async run<T>(action: string, call: () => Promise<T>): Promise<T> {
    await this.acquire(action);
    return call();
  }

  private key(action: string): string {
    return `${this.deps.prefix}:qps:{${action}}`;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
