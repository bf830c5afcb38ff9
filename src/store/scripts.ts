/**
 * The ticket store's Lua scripts. Each touches only the keys of one ticket (its hash and history
 * list share a hash tag, hence a cluster slot) or one index key, so each runs atomically on one
 * node. Registered with ioredis `defineCommand` (EVALSHA, EVAL on NOSCRIPT).
 */
import type { Redis } from 'ioredis';

const CREATE = `
-- KEYS[1] ticket hash; KEYS[2] ticket history list
-- ARGV[1] n, the number of fields to read back; ARGV[2 .. n+1] those fields;
-- ARGV[n+2 ..] field/value pairs of the new ticket
-- Returns {1} when created; {0, value1 .. valuen} (false for an absent field) when the ticket
-- already exists, in which case nothing is written.
local n = tonumber(ARGV[1])
if redis.call('EXISTS', KEYS[1]) == 1 then
  local values = redis.call('HMGET', KEYS[1], unpack(ARGV, 2, n + 1))
  table.insert(values, 1, 0)
  return values
end
redis.call('DEL', KEYS[2])
redis.call('HSET', KEYS[1], unpack(ARGV, n + 2))
return {1}
`;

const APPLY = `
-- KEYS[1] ticket hash; KEYS[2] ticket history list
-- ARGV[1] expected version; ARGV[2] history entry (JSON); ARGV[3] TTL in seconds for both keys,
-- 0 to keep them (PERSIST); ARGV[4] n, the number of fields to set; ARGV[5 .. 4+2n] field/value
-- pairs to set; ARGV[5+2n ..] fields to delete
-- Returns {'missing'}; {'conflict', storedVersion} (nothing written); or {'applied', previousState}.
local version = redis.call('HGET', KEYS[1], 'version')
if not version then return {'missing'} end
if tonumber(version) ~= tonumber(ARGV[1]) then return {'conflict', version} end
local previous = redis.call('HGET', KEYS[1], 'state')
local n = tonumber(ARGV[4])
redis.call('HSET', KEYS[1], unpack(ARGV, 5, 4 + 2 * n))
if #ARGV >= 5 + 2 * n then
  redis.call('HDEL', KEYS[1], unpack(ARGV, 5 + 2 * n))
end
redis.call('RPUSH', KEYS[2], ARGV[2])
local ttl = tonumber(ARGV[3])
if ttl > 0 then
  redis.call('EXPIRE', KEYS[1], ttl)
  redis.call('EXPIRE', KEYS[2], ttl)
else
  redis.call('PERSIST', KEYS[1])
  redis.call('PERSIST', KEYS[2])
end
return {'applied', previous}
`;

const RECORD_ERROR = `
-- KEYS[1] ticket hash
-- ARGV[1] lastError (JSON)
-- Returns the attempts after the increment, or -1 when the ticket does not exist (nothing written).
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
redis.call('HSET', KEYS[1], 'lastError', ARGV[1])
return redis.call('HINCRBY', KEYS[1], 'attempts', 1)
`;

const SET_IF_EXISTS = `
-- KEYS[1] ticket hash
-- ARGV field/value pairs
-- Returns 1 when written, 0 when the ticket does not exist (nothing written).
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV))
return 1
`;

const REMOVE_IF_SCORE = `
-- KEYS[1] an index sorted set
-- ARGV[1] member; ARGV[2] the score it was read with
-- Removes the member only if its score is unchanged (a newer write re-added it otherwise).
-- Returns 1 when removed, else 0.
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if score and tonumber(score) == tonumber(ARGV[2]) then
  return redis.call('ZREM', KEYS[1], ARGV[1])
end
return 0
`;

type Arg = string | number;

/** The store's scripts as commands on a connection. */
export interface StoreScripts {
  ticketStoreCreate(hash: string, history: string, ...args: Arg[]): Promise<(string | number)[]>;
  ticketStoreApply(hash: string, history: string, ...args: Arg[]): Promise<string[]>;
  ticketStoreRecordError(hash: string, lastError: string): Promise<number>;
  ticketStoreSetIfExists(hash: string, ...pairs: Arg[]): Promise<number>;
  ticketStoreRemoveIfScore(index: string, member: string, score: number): Promise<number>;
}

const DEFINITIONS: Record<keyof StoreScripts, { lua: string; numberOfKeys: number }> = {
  ticketStoreCreate: { lua: CREATE, numberOfKeys: 2 },
  ticketStoreApply: { lua: APPLY, numberOfKeys: 2 },
  ticketStoreRecordError: { lua: RECORD_ERROR, numberOfKeys: 1 },
  ticketStoreSetIfExists: { lua: SET_IF_EXISTS, numberOfKeys: 1 },
  ticketStoreRemoveIfScore: { lua: REMOVE_IF_SCORE, numberOfKeys: 1 },
};

/** A pipeline built on a connection with the scripts installed: the create script, queued. */
export interface StorePipeline {
  ticketStoreCreate(hash: string, history: string, ...args: Arg[]): unknown;
}

/** `pipeline` (built on a connection {@link installScripts} ran on) with the scripts typed. */
export function storePipeline(pipeline: object): StorePipeline {
  return pipeline as StorePipeline;
}

/** Defines the scripts on `redis` (once per connection) and returns them typed. */
export function installScripts(redis: Redis): StoreScripts {
  const target = redis as unknown as Record<string, unknown>;
  for (const [name, definition] of Object.entries(DEFINITIONS)) {
    if (typeof target[name] !== 'function') redis.defineCommand(name, definition);
  }
  return redis as unknown as StoreScripts;
}
