/**
 * The ticket store's Lua scripts. Each touches only the keys of one ticket (its hash and history
 * list share a hash tag, hence a cluster slot) or one index key, so each runs atomically on one
 * node. Registered with ioredis `defineCommand` (EVALSHA, EVAL on NOSCRIPT).
 *
 * Each declares its flags with a shebang (Redis 7.0 or later). A script that writes declares none:
 * over `maxmemory` Redis refuses it whole, before it runs, with an `OOM` error reply (without a
 * shebang Redis checks memory only at the script's first write command that may grow memory, so a
 * script opening with a `DEL` could go on and write a ticket in full). A script that only deletes
 * declares `allow-oom`: deleting must work when Redis is full.
 *
 * A script Redis refuses up front is not added to its script cache, so when Redis is full with an
 * empty cache (restarted from an AOF) ioredis's EVALSHA could answer `NOSCRIPT` instead of `OOM`.
 * So the scripts are loaded with SCRIPT LOAD (which works when Redis is full) before the first
 * pipeline of them ({@link scriptsLoaded}), and a single call answered `NOSCRIPT` loads them and
 * runs once more.
 */
import { ReplyError } from 'ioredis';
import { primariesOf, type RedisClient } from './connection.js';
import { TERMINAL_STATES } from '../../domain/ticket.js';
import { refusingWhenFull } from './store-full.js';

const CREATE = `#!lua
-- KEYS[1] ticket hash; KEYS[2] ticket history list
-- ARGV[1] the creating call's token; ARGV[2] n, the number of fields to read back;
-- ARGV[3 .. n+2] those fields; ARGV[n+3 ..] field/value pairs of the new ticket
-- Returns {1} when created: the hash keeps the token in its field 'creator', so that this call
-- can take the ticket back (DISCARD_CREATED) if its job cannot be added.
-- Returns {0, value1 .. valuen} (false for an absent field) when the ticket already exists; then
-- only 'creator' is removed, unless it is this call's own token (the same TicketId twice in one
-- call): a repeat by another call may be answered as accepted, so no call may discard the ticket
-- any more, while one call's refusal covers all of its copies.
-- One EXISTS over both keys: a new ticket (neither key) costs it and the HSET. A history list
-- without its hash is not this ticket's (left by a hash deleted alone, by hand or by an eviction
-- policy other than the required noeviction): it is deleted, as it only costs a call then.
local n = tonumber(ARGV[2])
local found = redis.call('EXISTS', KEYS[1], KEYS[2])
if found == 2 or (found == 1 and redis.call('EXISTS', KEYS[1]) == 1) then
  local values = redis.call('HMGET', KEYS[1], 'creator', unpack(ARGV, 3, n + 2))
  if values[1] and values[1] ~= ARGV[1] then
    redis.call('HDEL', KEYS[1], 'creator')
  end
  values[1] = 0
  return values
end
if found == 1 then
  redis.call('DEL', KEYS[2])
end
redis.call('HSET', KEYS[1], 'creator', ARGV[1], unpack(ARGV, n + 3))
return {1}
`;

const DISCARD_CREATED = `#!lua flags=allow-oom
-- KEYS[1] ticket hash; KEYS[2] ticket history list
-- ARGV[1] the creating call's token
-- Deletes a ticket its creating call could not give a job, only while it is as that call left
-- it: version 0, and 'creator' still that call's token (no repeat of it answered since).
-- Returns 1 when deleted, else 0.
local found = redis.call('HMGET', KEYS[1], 'creator', 'version')
if found[1] ~= ARGV[1] or found[2] ~= '0' then return 0 end
redis.call('DEL', KEYS[1], KEYS[2])
return 1
`;

const EXPIRE_IF_FINISHED = `#!lua flags=allow-oom
-- KEYS[1] ticket hash; KEYS[2] ticket history list
-- ARGV[1] TTL in seconds; ARGV[2 ..] the finished states
-- Gives both keys the TTL only if the ticket is in a finished state and its hash has none (a
-- ticket retried since it was read is unfinished again, and keeps no TTL). allow-oom: a TTL only
-- ever frees memory.
-- Returns 1 when the TTL was set, else 0.
local state = redis.call('HGET', KEYS[1], 'state')
if not state or redis.call('TTL', KEYS[1]) ~= -1 then return 0 end
for i = 2, #ARGV do
  if ARGV[i] == state then
    redis.call('EXPIRE', KEYS[1], ARGV[1])
    redis.call('EXPIRE', KEYS[2], ARGV[1])
    return 1
  end
end
return 0
`;

/** A Lua table whose keys are the finished states, from the one list of them. */
const FINISHED_TABLE = `{${TERMINAL_STATES.map((state) => `[${JSON.stringify(state)}] = true`).join(', ')}}`;

const APPLY = `#!lua
-- KEYS[1] ticket hash; KEYS[2] ticket history list
-- ARGV[1] expected version; ARGV[2] history entry (JSON); ARGV[3] TTL in seconds for both keys
-- when the new state is finished, else 0; ARGV[4] n, the number of fields to set;
-- ARGV[5 .. 4+2n] field/value pairs to set; ARGV[5+2n ..] fields to delete
-- Returns {'missing'}; {'conflict', storedVersion} (nothing written); or {'applied', previousState}.
-- Every call below is a command Redis counts, so only the needed ones are made: one HMGET reads
-- the version, the state and the fields to delete; only those present are deleted; and the TTL
-- is removed (PERSIST) only when the ticket leaves a finished state, as only a finished ticket
-- has one: every transition sets it (finished) or removes it (leaving a finished state), and
-- EXPIRE_IF_FINISHED sets it on a finished ticket only.
local FINISHED = ${FINISHED_TABLE}
local n = tonumber(ARGV[4])
local firstDel = 5 + 2 * n
local read = redis.call('HMGET', KEYS[1], 'version', 'state', unpack(ARGV, firstDel))
local version = read[1]
if not version then return {'missing'} end
if tonumber(version) ~= tonumber(ARGV[1]) then return {'conflict', version} end
local previous = read[2]
redis.call('HSET', KEYS[1], unpack(ARGV, 5, 4 + 2 * n))
local present = {}
for i = firstDel, #ARGV do
  if read[i - firstDel + 3] then present[#present + 1] = ARGV[i] end
end
if #present > 0 then
  redis.call('HDEL', KEYS[1], unpack(present))
end
redis.call('RPUSH', KEYS[2], ARGV[2])
local ttl = tonumber(ARGV[3])
if ttl > 0 then
  redis.call('EXPIRE', KEYS[1], ttl)
  redis.call('EXPIRE', KEYS[2], ttl)
elseif previous and FINISHED[previous] then
  redis.call('PERSIST', KEYS[1])
  redis.call('PERSIST', KEYS[2])
end
return {'applied', previous}
`;

const RECORD_ERROR = `#!lua
-- KEYS[1] ticket hash
-- ARGV[1] expected version; ARGV[2] lastError (JSON)
-- Compare-and-set: counts the attempt, records its error and bumps the version, only if the
-- ticket is still at the version the worker read; no history entry, updatedAt kept (it stays the
-- time of the last transition). A transition computed from an earlier read is then refused.
-- Reads version and attempts in one HMGET and writes all three in one HSET (a counted call
-- fewer than HINCRBY after the read); attempts that are not an integer are refused as HINCRBY
-- refuses them, before anything is written.
-- Returns {'missing'}; {'conflict', storedVersion} (nothing written); or {'applied', attempts}.
local read = redis.call('HMGET', KEYS[1], 'version', 'attempts')
local version = read[1]
if not version then return {'missing'} end
if tonumber(version) ~= tonumber(ARGV[1]) then return {'conflict', version} end
local attempts = tonumber(read[2] or '0')
if not attempts or attempts % 1 ~= 0 then
  return redis.error_reply('ERR hash value is not an integer')
end
attempts = attempts + 1
redis.call('HSET', KEYS[1], 'lastError', ARGV[2], 'version', tonumber(version) + 1,
  'attempts', attempts)
return {'applied', string.format('%d', attempts)}
`;

const MARK_IF_VERSION = `#!lua
-- KEYS[1] ticket hash
-- ARGV[1] expected version; ARGV[2] a guard field, ARGV[3] the value the worker read in it ('' for
-- none); ARGV[4], ARGV[5], … field and value pairs
-- Writes the fields only if the ticket is still at the version the worker decided from (the
-- submit mark: a ticket cancelled or moved on meanwhile is not submitted) and the guard field
-- still holds what it read: the mark itself, so that of two runs of one job at once (a lock lost
-- to a stalled process) that read the ticket before either marked it, one marks and calls and the
-- other finds the mark and does not. The version is not bumped: the mark is no transition.
-- Returns {'missing'}; {'conflict', storedVersion} (nothing written); or {'applied'}.
local read = redis.call('HMGET', KEYS[1], 'version', ARGV[2])
if not read[1] then return {'missing'} end
if tonumber(read[1]) ~= tonumber(ARGV[1]) or (read[2] or '') ~= ARGV[3] then
  return {'conflict', read[1]}
end
redis.call('HSET', KEYS[1], unpack(ARGV, 4))
return {'applied'}
`;

const RELEASE_MARK = `#!lua
-- KEYS[1] ticket hash
-- ARGV[1] a mark's field; ARGV[2] the value the worker set in it
-- Removes a mark (the submit mark, the pre-check's) its own worker set, once its call surely was
-- not acted on (refused with a code, never sent): a later run may make the call. A mark another
-- run has replaced since is left alone. Returns 1 when removed, else 0.
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then return 0 end
return redis.call('HDEL', KEYS[1], ARGV[1])
`;

const RECORD_START = `#!lua
-- KEYS[1] ticket hash
-- ARGV[1] expected version; ARGV[2] the sealed MetaInfo; ARGV[3] when (ms)
-- A financial ID_PRO ticket's start, once: only for a ticket still queued, at the version read,
-- and not started yet (a second post, a reload, changes nothing). No transition, no bump.
-- Returns {'missing'}; {'conflict', storedVersion}; {'started'} (it was already); or {'applied'}.
local read = redis.call('HMGET', KEYS[1], 'version', 'state', 'startedAt')
if not read[1] then return {'missing'} end
if read[3] then return {'started'} end
if tonumber(read[1]) ~= tonumber(ARGV[1]) or read[2] ~= 'queued' then
  return {'conflict', read[1]}
end
redis.call('HSET', KEYS[1], 'metaInfo', ARGV[2], 'startedAt', ARGV[3])
return {'applied'}
`;

const REMOVE_IF_SCORE = `#!lua flags=allow-oom
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

const ERASE_APPLICANT = `#!lua flags=allow-oom
-- KEYS[1] ticket hash
-- ARGV[1] expected version, or '' for any; ARGV[2] when (ms); ARGV[3] why (finished, retention,
-- request); ARGV[4] the applicant masked (JSON), kept in its place, or ''
-- Erases the ticket's personal data: the binding (name, ID number, material references), the
-- UserData (the business's, sent with GetVerifyToken and of no use after), the browser's MetaInfo
-- (financial ID_PRO) and a GetMaterials
-- answer an earlier version kept; records when and why (the first erasure's) and, for a ticket a
-- transition can still leave (failed, expired: an operator's retry), bumps the version, so that a
-- transition computed before it is refused and reads the erased ticket. A ticket in a state no
-- event leaves (passed, not_passed, cancelled) keeps its version: nothing can be computed against
-- it, and its event's id, which names the version, stays the one a later run re-publishes (a
-- worker that finds the ticket ended sends its event again, as it may have been lost).
-- Allowed over maxmemory: it frees more than it writes.
-- Returns {'missing'}; {'conflict', storedVersion}; or {'erased', state, version, erasedAt,
-- erasure}.
local read = redis.call('HMGET', KEYS[1], 'version', 'state', 'erasedAt')
local version = read[1]
if not version then return {'missing'} end
if ARGV[1] ~= '' and tonumber(version) ~= tonumber(ARGV[1]) then return {'conflict', version} end
redis.call('HDEL', KEYS[1], 'binding', 'userData', 'providerMaterials', 'metaInfo')
local final = read[2] == 'passed' or read[2] == 'not_passed' or read[2] == 'cancelled'
local next = tonumber(version)
if not final then next = next + 1 end
local reply
if read[3] then
  redis.call('HSET', KEYS[1], 'version', next)
  reply = {'erased', read[2], tostring(next), read[3], redis.call('HGET', KEYS[1], 'erasure')}
else
  redis.call('HSET', KEYS[1], 'version', next, 'erasedAt', ARGV[2], 'erasure', ARGV[3])
  if ARGV[4] ~= '' then redis.call('HSET', KEYS[1], 'applicant', ARGV[4]) end
  reply = {'erased', read[2], tostring(next), ARGV[2], ARGV[3]}
end
-- The hash is written again whole: Redis never turns a hash back into its compact encoding
-- (listpack) once a long value (the binding, the lease) made it a hashtable, and what remains of
-- an erased ticket (a score of short fields) takes a quarter of the memory compact
-- (bench redis-bytes). Its expiry is kept.
local ttl = redis.call('PTTL', KEYS[1])
local fields = redis.call('HGETALL', KEYS[1])
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], unpack(fields))
if ttl > 0 then redis.call('PEXPIRE', KEYS[1], ttl) end
return reply
`;

/**
 * Sent as EVAL (never EVALSHA) by the replica wait (`ReplicaWait` in `connection.ts`): a NOSCRIPT
 * would make ioredis send the script again outside the pipeline, on whichever connection, after
 * the WAIT it must precede.
 */
export const TOUCH_SCRIPT = `#!lua flags=allow-oom
-- KEYS[1] ticket hash
-- ARGV[1] a field; ARGV[2] the value it must hold, or '' for any value
-- Writes the field again with the value it holds, when it holds one (and, with ARGV[2], that one):
-- a write that changes nothing, sent only to be replicated, so that a WAIT right after it on the
-- same connection confirms that the replicas hold the ticket as this primary does. On a primary
-- promoted after the write was lost, it finds nothing: the caller learns of the loss.
-- Returns 1 when written, 0 when the field is absent or holds another value.
local value = redis.call('HGET', KEYS[1], ARGV[1])
if not value or (ARGV[2] ~= '' and value ~= ARGV[2]) then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], value)
return 1
`;

type Arg = string | number;

/** The store's scripts as commands on a connection. */
export interface StoreScripts {
  ticketStoreCreate(hash: string, history: string, ...args: Arg[]): Promise<(string | number)[]>;
  ticketStoreApply(hash: string, history: string, ...args: Arg[]): Promise<string[]>;
  ticketStoreRecordError(hash: string, version: number, lastError: string): Promise<string[]>;
  ticketStoreMarkIfVersion(
    hash: string,
    version: number,
    guardField: string,
    guardValue: string,
    ...fieldsAndValues: Arg[]
  ): Promise<string[]>;
  ticketStoreReleaseMark(hash: string, field: string, value: number): Promise<number>;
  ticketStoreRecordStart(
    hash: string,
    version: number,
    sealed: string,
    at: number,
  ): Promise<string[]>;
  ticketStoreRemoveIfScore(index: string, member: string, score: number): Promise<number>;
  ticketStoreEraseApplicant(
    hash: string,
    expectedVersion: number | '',
    at: number,
    reason: string,
    masked: string,
  ): Promise<string[]>;
  ticketStoreDiscardCreated(hash: string, history: string, token: string): Promise<number>;
  ticketStoreExpireIfFinished(hash: string, history: string, ...args: Arg[]): Promise<number>;
}

const DEFINITIONS: Record<keyof StoreScripts, { lua: string; numberOfKeys: number }> = {
  ticketStoreCreate: { lua: CREATE, numberOfKeys: 2 },
  ticketStoreApply: { lua: APPLY, numberOfKeys: 2 },
  ticketStoreRecordError: { lua: RECORD_ERROR, numberOfKeys: 1 },
  ticketStoreMarkIfVersion: { lua: MARK_IF_VERSION, numberOfKeys: 1 },
  ticketStoreReleaseMark: { lua: RELEASE_MARK, numberOfKeys: 1 },
  ticketStoreRecordStart: { lua: RECORD_START, numberOfKeys: 1 },
  ticketStoreRemoveIfScore: { lua: REMOVE_IF_SCORE, numberOfKeys: 1 },
  ticketStoreEraseApplicant: { lua: ERASE_APPLICANT, numberOfKeys: 1 },
  ticketStoreDiscardCreated: { lua: DISCARD_CREATED, numberOfKeys: 2 },
  ticketStoreExpireIfFinished: { lua: EXPIRE_IF_FINISHED, numberOfKeys: 2 },
};

/** A pipeline built on a connection with the scripts installed: the scripts it queues. */
export interface StorePipeline {
  ticketStoreCreate(hash: string, history: string, ...args: Arg[]): unknown;
  ticketStoreDiscardCreated(hash: string, history: string, token: string): unknown;
  ticketStoreExpireIfFinished(hash: string, history: string, ...args: Arg[]): unknown;
}

/** `pipeline` (built on a connection {@link installScripts} ran on) with the scripts typed. */
export function storePipeline(pipeline: object): StorePipeline {
  return pipeline as StorePipeline;
}

const loads = new WeakMap<RedisClient, Promise<void>>();

/**
 * Resolves once every script is in the script cache of `redis`'s server (SCRIPT LOAD, once per
 * connection; `again` loads them anew, after a `NOSCRIPT`). Never rejects: on failure the
 * scripts are loaded as ioredis does, by their first EVAL.
 */
export function scriptsLoaded(redis: RedisClient, again = false): Promise<void> {
  let loaded = loads.get(redis);
  if (loaded === undefined || again) {
    // on a Cluster, into every primary's cache (SCRIPT LOAD has no key to route it by)
    loaded = Promise.all(
      primariesOf(redis).map((node) => {
        const pipeline = node.pipeline();
        for (const { lua } of Object.values(DEFINITIONS)) pipeline.script('LOAD', lua);
        return pipeline.exec();
      }),
    ).then(
      () => undefined,
      () => undefined,
    );
    loads.set(redis, loaded);
  }
  return loaded;
}

/** True when `err` is Redis's `NOSCRIPT` reply (the script is not in its cache). */
export function isNoScriptReply(err: unknown): boolean {
  return err instanceof Error && err instanceof ReplyError && err.message.startsWith('NOSCRIPT');
}

/**
 * Defines the scripts on `redis` (once per connection) and returns them typed; a script Redis
 * refuses for want of memory rejects with a `StoreFullError`.
 */
export function installScripts(redis: RedisClient): StoreScripts {
  const target = redis as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
  const scripts: Record<string, (...args: unknown[]) => Promise<unknown>> = {};
  for (const [name, definition] of Object.entries(DEFINITIONS)) {
    if (typeof target[name] !== 'function') redis.defineCommand(name, definition);
    const command = target[name];
    if (command === undefined) throw new Error(`script ${name} was not defined`);
    scripts[name] = (...args) =>
      refusingWhenFull(async () => {
        try {
          return await command.apply(redis, args);
        } catch (err) {
          if (!isNoScriptReply(err)) throw err;
          await scriptsLoaded(redis, true);
          return command.apply(redis, args);
        }
      });
  }
  return scripts as unknown as StoreScripts;
}
