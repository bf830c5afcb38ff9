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
 *
 * For the operations page the same script counts the calls per second, by the second of the slot
 * (when the call leaves), in a second key of the action, `<prefix>:qps:{<action>}:calls`. Why
 * there: a script may only touch keys it is given in KEYS (Redis Cluster routes a script by them),
 * and a key of the action's hash tag `{<action>}` lives in the action's slot, so counting costs no
 * round trip and no cross-slot call, on one node, Sentinel or a Cluster alike; a per-second key
 * shared by every action (`<prefix>:rate:<second>`) would sit in another slot and need a command of
 * its own per call. The key is a ring of {@link CALLS_RING_SECONDS} fields, field `second mod ring`
 * holding `<second>:<count>` (a field still holding an older second starts over), so it stays
 * bounded (at most one field per second of the ring) without a key per second, and expires once
 * the action has been idle for the ring's length. Added Redis work per call: one HGET and one
 * HSET inside the script already run, and one PEXPIRE per second that has calls (a redraw also
 * takes its given-up slot's count back: one HGET and one HSET more). Actions without a limit skip the script, so their calls are
 * not counted. Throttling answers (`block`) and retried attempts are counted per minute in
 * `ops-counters.ts` (rare events: one pipelined round trip each, alongside the block).
 */
import { multiSlotBatch, type RedisClient } from './connection.js';
import { countInMinute, RETRIED_FIELD, throttledField } from './ops-counters.js';
import { refusingWhenFull } from './store-full.js';
import type { Pipeline } from './ticket-store-context.js';

/**
 * Seconds the per-second call counts of an action keep (see the module comment): the page reads
 * the last five minutes, and a slot reserved up to ten minutes ahead (a long backlog at a low QPS)
 * is still counted in the right second.
 */
export const CALLS_RING_SECONDS = 900;

/**
 * KEYS[1] the action's slot key
 * KEYS[2] the action's call counts (same hash tag, same slot)
 * ARGV[1] interval between calls, in microseconds
 * ARGV[2] 'reserve' or 'block'
 * ARGV[3] for 'block': how long, in microseconds
 * ARGV[4] for 'reserve': the second of a slot given up (its call is counted back), or ''
 * Returns { the wait before the reserved slot in microseconds, the slot's second } ({ 0, 0 } for
 * 'block').
 * Declared with a shebang and no flags (Redis 7): refused whole when Redis is over maxmemory.
 */
const SLOT_SCRIPT = `#!lua
local RING = ${CALLS_RING_SECONDS}
local function tally(second, delta)
  local field = string.format('%d', second % RING)
  local mark = string.format('%d', second) .. ':'
  local held = redis.call('HGET', KEYS[2], field)
  if held and string.sub(held, 1, #mark) == mark then
    local n = (tonumber(string.sub(held, #mark + 1)) or 0) + delta
    redis.call('HSET', KEYS[2], field, mark .. string.format('%d', math.max(n, 0)))
  elseif delta > 0 then
    redis.call('HSET', KEYS[2], field, mark .. string.format('%d', delta))
    -- the ring's life is renewed once per second it counts, not per call
    redis.call('PEXPIRE', KEYS[2], (RING + 1) * 1000)
  end
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local nextFree = tonumber(redis.call('GET', KEYS[1]) or '0')
local interval = tonumber(ARGV[1])
if ARGV[2] == 'block' then
  local untilTs = now + tonumber(ARGV[3])
  if untilTs > nextFree then
    redis.call('SET', KEYS[1], string.format('%.0f', untilTs), 'PX', math.ceil((untilTs - now) / 1000) + 1000)
  end
  return {0, 0}
end
local slot = math.max(nextFree, now)
local after = slot + interval
redis.call('SET', KEYS[1], string.format('%.0f', after), 'PX', math.ceil((after - now) / 1000) + 1000)
local second = math.floor(slot / 1000000)
tally(second, 1)
if ARGV[4] ~= '' then tally(tonumber(ARGV[4]), -1) end
return {slot - now, second}
`;

interface SlotRedis {
  providerSlot(
    key: string,
    callsKey: string,
    intervalUs: string,
    mode: string,
    blockUs: string,
    givenUpSecond: string,
  ): Promise<[waitUs: number, second: number]>;
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
      deps.redis.defineCommand('providerSlot', { numberOfKeys: 2, lua: SLOT_SCRIPT });
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
    const headroom = this.headroom;
    const intervalUs = Math.ceil((1_000_000 / qps) * (1 + headroom));
    const toleranceMs = Math.max(1, headroom * 1000);
    const now = this.deps.now ?? (() => performance.now());
    let waited = 0;
    let givenUp = '';
    for (let redraw = 0; ; redraw++) {
      const [waitUs, second] = await refusingWhenFull(() =>
        this.redis.providerSlot(
          this.key(action),
          callsKey(this.deps.prefix, action),
          String(intervalUs),
          'reserve',
          '0',
          givenUp,
        ),
      );
      givenUp = String(second);
      const due = now() + waitUs / 1000;
      const waitMs = Math.ceil(waitUs / 1000);
      if (waitMs > 0) await (this.deps.sleep ?? sleep)(waitMs);
      waited += waitMs;
      if (now() - due <= toleranceMs || redraw >= MAX_REDRAWS) return waited;
    }
  }

  /**
   * No call of `action` leaves, from any worker, for `ms` (after a Throttling answer, which is
   * counted for the operations page meanwhile).
   */
  async block(action: string, ms: number): Promise<void> {
    const { redis, prefix } = this.deps;
    await Promise.all([
      refusingWhenFull(() =>
        this.redis.providerSlot(
          this.key(action),
          callsKey(prefix, action),
          '0',
          'block',
          String(Math.ceil(ms * 1000)),
          '',
        ),
      ),
      countInMinute(redis, prefix, throttledField(action)),
    ]);
  }

  /** Counts a failed attempt that will be retried, for the operations page; never throws. */
  countRetry(): Promise<void> {
    return countInMinute(this.deps.redis, this.deps.prefix, RETRIED_FIELD);
  }

  /** The extra spacing between slots, as a fraction of 1000/qps ms. */
  get headroom(): number {
    return this.deps.headroom ?? 0.03;
  }

  /**
   * Calls per second of each action over the `seconds` seconds ending with `lastSecond` (seconds
   * since the epoch by Redis's clock, as the slots are), oldest first: one HMGET per action in
   * one pipeline. Only actions with a limit are counted; others read all zeros.
   */
  async recentCalls(
    actions: readonly string[],
    lastSecond: number,
    seconds: number,
  ): Promise<Record<string, number[]>> {
    const span = Math.min(seconds, CALLS_RING_SECONDS);
    const first = lastSecond - span + 1;
    const fields = Array.from({ length: span }, (_, i) => String((first + i) % CALLS_RING_SECONDS));
    const batch = multiSlotBatch<Pipeline>(this.deps.redis);
    for (const action of actions) batch.hmget(callsKey(this.deps.prefix, action), ...fields);
    const results = (await batch.exec()) ?? [];
    const out: Record<string, number[]> = {};
    actions.forEach((action, a) => {
      const [err, values] = results[a] ?? [null, []];
      if (err) throw err;
      out[action] = ((values ?? []) as (string | null)[]).map((held, i) =>
        countOf(held, first + i),
      );
    });
    return out;
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

/** The key of an action's per-second call counts (the hash tag of its slot key). */
export function callsKey(prefix: string, action: string): string {
  return `${prefix}:qps:{${action}}:calls`;
}

/** The count a ring field holds for `second`: 0 when it holds another second, or nothing. */
export function countOf(held: string | null | undefined, second: number): number {
  if (held === null || held === undefined) return 0;
  const [at, n] = held.split(':');
  const count = Number(n);
  return at === String(second) && Number.isSafeInteger(count) && count > 0 ? count : 0;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
