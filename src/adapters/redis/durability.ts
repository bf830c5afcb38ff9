/**
 * What the Redis's persistence settings promise for accepted tickets. A ticket is answered 202
 * once Redis has it; whether it survives a machine crash (power loss, kernel panic) is Redis's
 * fsync policy: `appendfsync always` keeps every acknowledged write, `everysec` can lose about
 * the last second, no AOF loses everything since the last snapshot. A killed Redis process loses
 * nothing with either AOF policy: the kernel still holds what was written.
 *
 * The reconciler (`src/flow/ticket-reconciler.ts`) repairs what a partial loss leaves half done
 * (a ticket whose job is gone); it cannot bring back a ticket that is gone. So the orchestrator
 * reads the settings at start-up and says plainly, at warn, when they fall short of `always`.
 * Managed Redis services often refuse CONFIG: then the settings are unknown and it says that.
 */
import type { RedisClient } from './connection.js';

/** The persistence settings that matter, as CONFIG GET answers them. */
export interface PersistenceSettings {
  appendonly: string;
  appendfsync: string;
}

/** Reads the settings, or undefined when the server refuses CONFIG GET. */
export async function readPersistence(
  redis: RedisClient,
): Promise<PersistenceSettings | undefined> {
  try {
    const pairs = await redis.config('GET', 'append*');
    const map = new Map<string, string>();
    for (let i = 0; i + 1 < pairs.length; i += 2) map.set(pairs[i] ?? '', pairs[i + 1] ?? '');
    return { appendonly: map.get('appendonly') ?? '', appendfsync: map.get('appendfsync') ?? '' };
  } catch {
    return undefined;
  }
}

/** The warning a setting deserves, or undefined when acknowledged writes survive a crash. */
export function durabilityWarning(settings: PersistenceSettings | undefined): string | undefined {
  if (settings === undefined) {
    return 'cannot read the Redis persistence settings (CONFIG GET refused): make sure the AOF is on with appendfsync always, or a machine crash can lose accepted tickets';
  }
  if (settings.appendonly !== 'yes') {
    return 'Redis runs without an AOF (appendonly no): a crash or restart loses accepted tickets; use appendonly yes with appendfsync always';
  }
  if (settings.appendfsync !== 'always') {
    return `Redis AOF is fsynced "${settings.appendfsync}": a machine crash can lose the last second of accepted tickets (a killed Redis process loses nothing); use appendfsync always where that matters`;
  }
  return undefined;
}

/** The oldest Redis the store runs on: its scripts declare Lua flags (`#!lua`), new in 7.0. */
export const MIN_REDIS_VERSION = '7.0.0';

/** `redis_version` from `INFO server`, or undefined when the server does not say. */
export async function readRedisVersion(redis: RedisClient): Promise<string | undefined> {
  try {
    return /^redis_version:(\S+)/m.exec(await redis.info('server'))?.[1];
  } catch {
    return undefined;
  }
}

/** The refusal a Redis version deserves, or undefined when it can run the store's scripts. */
export function redisVersionProblem(version: string | undefined): string | undefined {
  if (version === undefined) return undefined;
  const [major = 0] = version.split('.').map(Number);
  if (major >= Number(MIN_REDIS_VERSION.split('.')[0])) return undefined;
  return `Redis ${version} is older than ${MIN_REDIS_VERSION}: the ticket store's scripts declare Lua flags, which it refuses; every ticket write would fail`;
}
