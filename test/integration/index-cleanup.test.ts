/**
 * Reads are reads, and the indexes are cleaned by the reconciler's round. On the shared Redis, a
 * unique prefix per test (deleted after):
 * - every read of the store runs on a connection of a Redis ACL user that may only read (any
 *   write, script or key outside the prefix would be refused with NOPERM);
 * - the cleanup drops what outlived its ticket or its state, and only that;
 * - the reconciler's round runs it;
 * - an unreachable Redis comes out of the store as `STORE_UNAVAILABLE`, and a missing ticket or a
 *   malformed binding as typed errors.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { transition } from '../../src/domain/ticket-machine.js';
import type { Ticket, TicketEvent } from '../../src/domain/ticket.js';
import { StoreUnavailableError, TicketNotFoundError } from '../../src/errors.js';
import { TICKET_QUEUE, bullPrefix, type TicketJobData } from '../../src/adapters/bullmq/queues.js';
import { TicketLifecycle } from '../../src/flow/ticket-lifecycle.js';
import { TicketReconciler } from '../../src/flow/ticket-reconciler.js';
import { FieldCipher } from '../../src/adapters/redis/crypto.js';
import { sealJson } from '../../src/adapters/redis/ticket-codec.js';
import {
  RedisTicketStore,
  ticketStoreKeys,
  type NewTicket,
} from '../../src/adapters/redis/ticket-store.js';
import {
  connectRedis,
  isCluster,
  primariesOf,
  type RedisClient,
} from '../../src/adapters/redis/connection.js';
import { deleteKeys, testRedis, testTopology } from '../support/redis.js';

const RETENTION = 3600;
const HOUR = 3_600_000;
const cipher = new FieldCipher(randomBytes(32));
const logger = pino({ level: 'silent' });
let admin: RedisClient;
const prefixes: string[] = [];
const users: string[] = [];

beforeAll(() => {
  admin = testRedis();
});

afterAll(async () => {
  for (const server of aclServers()) {
    for (const user of users) await server.call('ACL', 'DELUSER', user);
  }
  await deleteKeys(
    admin,
    prefixes.flatMap((p) => [`${p}:*`, `${bullPrefix(p)}:*`]),
  );
});

/**
 * The servers a test's ACL user must be set on: ACLs are each server's own (not replicated). On
 * one node or through Sentinel, the primary `admin` is connected to; on a Cluster every node, as
 * the client may ask any of them, a replica too, for the slot map.
 */
function aclServers(): Redis[] {
  return isCluster(admin) ? admin.nodes('all') : [admin];
}

/** A clock the test moves, in ms since the epoch. */
function aClock(start = 1_700_000_000_000) {
  const clock = { now: start, read: () => clock.now };
  return clock;
}

function aPrefix(): string {
  const prefix = `test-idx-${randomUUID().slice(0, 8)}`;
  prefixes.push(prefix);
  return prefix;
}

function aStore(prefix: string, clock: () => number, redis: RedisClient = admin): RedisTicketStore {
  return new RedisTicketStore({ redis, prefix, cipher, retentionSeconds: RETENTION, clock });
}

function aNewTicket(ticketId: string, batchId?: string): NewTicket {
  return {
    ticketId,
    biz: 'RPMin',
    flow: 'server',
    binding: {
      name: '李三',
      idNumber: '11010519491231002X',
      materials: { FacePic: { kind: 'url', url: 'https://img.example.test/face.jpg' } },
    },
    userData: { order: 7 },
    payloadHash: `hash-of-${ticketId}`,
    ...(batchId === undefined ? {} : { batchId }),
  };
}

/** Creates a ticket and applies `events` to it in turn, each a second later. */
async function aTicket(
  store: RedisTicketStore,
  clock: { now: number },
  input: NewTicket,
  events: TicketEvent[] = [],
): Promise<Ticket> {
  let t: Ticket = (await store.create(input)).ticket;
  for (const event of events) {
    clock.now += 1000;
    const { ticket, history } = transition(t, event, clock.now);
    expect(await store.apply(t.ticketId, t.version, ticket, history)).toBe('applied');
    t = ticket;
  }
  return t;
}

/** A connection as a Redis user that may only read the keys under `prefix`. */
async function readOnlyConnection(prefix: string): Promise<RedisClient> {
  const user = `reader-${randomUUID().slice(0, 8)}`;
  const password = randomBytes(12).toString('hex');
  users.push(user);
  // +info: ioredis's ready check; +ping: health; on a Cluster, CLUSTER SLOTS (the slot map) and
  // CLUSTER INFO (its ready check). No write, no script, no other keys.
  const cluster = isCluster(admin) ? ['+cluster|slots', '+cluster|info'] : [];
  for (const server of aclServers()) {
    await server.call(
      'ACL',
      ...['SETUSER', user, 'reset', 'on', `>${password}`, `~${prefix}:*`, 'resetchannels'],
      ...['-@all', '+@read', '+info', '+ping', ...cluster],
    );
  }
  return connectRedis({ ...testTopology(), username: user, password }, 'commands');
}

/** Every index key under `prefix` with its members and scores. */
async function indexes(prefix: string): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  // SCAN is a node's own: on a Cluster, each primary's keys
  for (const node of primariesOf(admin)) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', `${prefix}:idx:*`, 'COUNT', 1000);
      cursor = next;
      for (const key of keys) out[key] = await admin.zrange(key, '0', '-1', 'WITHSCORES');
    } while (cursor !== '0');
  }
  return out;
}

describe("the store's reads", () => {
  it('only read: every read works for a Redis user refused any write, stale entries and all', async () => {
    const prefix = aPrefix();
    const keys = ticketStoreKeys(prefix);
    const clock = aClock();
    const writer = aStore(prefix, clock.read);
    await aTicket(writer, clock, aNewTicket('r-old', 'B-read'), [{ type: 'cancelled' }]);
    clock.now += 2 * HOUR;
    await aTicket(writer, clock, aNewTicket('r-open', 'B-read'));
    await aTicket(writer, clock, aNewTicket('r-moved', 'B-read'), [{ type: 'cancelled' }]);
    await aTicket(writer, clock, aNewTicket('r-gone', 'B-read'));
    // what reads used to clean up: a finished entry past the retention, an entry left in a
    // state the ticket has left, a ticket gone under its entries
    await admin.zadd(keys.state('queued'), clock.now - 5000, 'r-moved');
    await admin.del(keys.ticket('r-gone'), keys.history('r-gone'));
    const before = await indexes(prefix);

    const reader = await readOnlyConnection(prefix);
    try {
      const store = aStore(prefix, clock.read, reader);
      expect(await store.countByState()).toMatchObject({ queued: 3, cancelled: 1 });
      const listed = async (query: Parameters<RedisTicketStore['list']>[0]) =>
        (await store.list(query)).tickets.map((t) => t.ticketId);
      expect(await listed({ limit: 10 })).toEqual(['r-open', 'r-moved', 'r-old']);
      expect(await listed({ limit: 1, state: 'queued' })).toEqual(['r-open']);
      expect(await listed({ limit: 10, state: 'cancelled' })).toEqual(['r-moved', 'r-old']);
      expect(await listed({ limit: 10, batchId: 'B-read', state: 'queued' })).toEqual(['r-open']);
      expect(await store.countBatch('B-read')).toMatchObject({ queued: 1, cancelled: 2 });
      const inBatch: string[] = [];
      for await (const t of store.batchTickets('B-read', 2)) inBatch.push(t.ticketId);
      expect(inBatch).toEqual(['r-old', 'r-moved', 'r-open']);
      expect(await store.get('r-open')).toMatchObject({ state: 'queued' });
      expect(await store.getBinding('r-open')).toMatchObject({ name: '李三' });
      expect(await store.getUserData('r-open')).toEqual({ order: 7 });
      expect(await store.history('r-moved')).toHaveLength(1);
      expect(await store.existing(['r-open', 'r-gone'])).toEqual(new Set(['r-open']));
      // the walk to its end (on a Cluster, one primary after the other)
      const walked: string[] = [];
      let cursor = '0';
      do {
        const page = await store.scanTickets(cursor, 1000);
        walked.push(...page.ticketIds);
        cursor = page.cursor;
      } while (cursor !== '0');
      // (SCAN may give a key twice)
      expect([...new Set(walked)].sort()).toEqual(['r-moved', 'r-old', 'r-open']);
      // the user is refused a write: the reads above would have been refused one too
      await expect(store.markSubmitStarted('r-open', clock.now, 0)).rejects.toThrow(/NOPERM/);
    } finally {
      await reader.quit();
    }
    expect(await indexes(prefix)).toEqual(before);
  });

  it('answer a typed error for a missing ticket and a malformed binding', async () => {
    const prefix = aPrefix();
    const clock = aClock();
    const store = aStore(prefix, clock.read);
    await expect(store.getBinding('nobody')).rejects.toThrow(TicketNotFoundError);
    await aTicket(store, clock, aNewTicket('b-bad'));
    const bad = sealJson(cipher, 'b-bad', 'binding', { materials: { FacePic: { kind: 'bytes' } } });
    await admin.hset(ticketStoreKeys(prefix).ticket('b-bad'), 'binding', bad);
    await expect(store.getBinding('b-bad')).rejects.toThrow(
      'ticket b-bad: stored binding.materials.FacePic is missing or invalid',
    );
    await admin.hdel(ticketStoreKeys(prefix).ticket('b-bad'), 'binding');
    await expect(store.getBinding('b-bad')).rejects.toThrow(/stored binding is missing/);
  });

  it('raise STORE_UNAVAILABLE when Redis cannot be reached', async () => {
    const clock = aClock();
    const closed = testRedis();
    // connected first: a Cluster client quit while it is still connecting stays `disconnecting`
    // and holds every command in its offline queue (ioredis), it never answers
    await closed.ping();
    await closed.quit();
    const refused = new Redis({
      host: '127.0.0.1',
      port: 1,
      maxRetriesPerRequest: 1,
      retryStrategy: (times) => (times > 3 ? null : 10),
    });
    refused.on('error', () => undefined);
    try {
      for (const redis of [closed, refused]) {
        const store = aStore(aPrefix(), clock.read, redis);
        for (const read of [
          () => store.get('t-1'),
          () => store.countByState(),
          () => store.create(aNewTicket('t-1')),
        ]) {
          const err: unknown = await read().catch((e: unknown) => e);
          expect(err).toBeInstanceOf(StoreUnavailableError);
          expect(err).toMatchObject({ code: 'STORE_UNAVAILABLE', retryable: true });
        }
      }
    } finally {
      refused.disconnect();
    }
  });
});

describe('the index cleanup', () => {
  it('drops what outlived its ticket or its state, and keeps every live entry', async () => {
    const prefix = aPrefix();
    const keys = ticketStoreKeys(prefix);
    const clock = aClock();
    const store = aStore(prefix, clock.read);
    // expired after the retention: its keys are gone, as Redis expires them
    await aTicket(store, clock, aNewTicket('c-expired', 'B-old'), [{ type: 'cancelled' }]);
    // created long ago, still unfinished (retried): kept in the old batch and in `all`
    await aTicket(store, clock, aNewTicket('c-old-open', 'B-mixed'));
    clock.now += 2 * HOUR;
    const t0 = clock.now;
    await aTicket(store, clock, aNewTicket('c-recent', 'B-mixed'), [{ type: 'cancelled' }]);
    await aTicket(store, clock, aNewTicket('c-moved'), [{ type: 'cancelled' }]);
    await admin.del(keys.ticket('c-expired'), keys.history('c-expired'));
    await admin.zadd(keys.state('queued'), t0, 'c-moved');

    expect(await admin.zscore(keys.batches, 'B-old')).not.toBeNull();
    const report = await store.cleanIndexes();
    expect(report).toEqual({ expired: 1, stale: 1, gone: 2, batchesEmptied: 1, checked: 3 });
    for (const key of [keys.state('cancelled'), keys.all, keys.batch('B-old')]) {
      expect(await admin.zscore(key, 'c-expired'), key).toBeNull();
    }
    expect(await admin.zscore(keys.batches, 'B-old')).toBeNull();
    expect(await admin.zscore(keys.state('queued'), 'c-moved')).toBeNull();
    expect(await admin.zrange(keys.state('queued'), '0', '-1')).toEqual(['c-old-open']);
    expect(await admin.zrange(keys.state('cancelled'), '0', '-1')).toEqual(['c-recent', 'c-moved']);
    expect(await admin.zrange(keys.all, '0', '-1')).toEqual(['c-old-open', 'c-recent', 'c-moved']);
    expect(await admin.zrange(keys.batch('B-mixed'), '0', '-1')).toEqual([
      'c-old-open',
      'c-recent',
    ]);
    expect(await admin.zscore(keys.batches, 'B-mixed')).not.toBeNull();

    const again = await store.cleanIndexes();
    expect(again).toEqual({ expired: 0, stale: 0, gone: 0, batchesEmptied: 0, checked: 1 });
  });

  it('checks at most maxChecks old entries a call, and goes on in the next', async () => {
    const prefix = aPrefix();
    const keys = ticketStoreKeys(prefix);
    const clock = aClock();
    const store = aStore(prefix, clock.read);
    const ids = Array.from({ length: 5 }, (_, i) => `m-${i}`);
    await store.createMany(ids.map((id) => aNewTicket(id, 'B-many')));
    clock.now += 2 * HOUR;
    // one DEL a ticket: on a Cluster, different tickets are in different slots
    for (const id of ids) await admin.del(keys.ticket(id), keys.history(id));
    // the unfinished state's index is read whole; `all` and the batch within the budget
    expect(await store.cleanIndexes({ maxChecks: 3 })).toEqual({
      expired: 0,
      stale: 5,
      gone: 3,
      batchesEmptied: 0,
      checked: 3,
    });
    expect(await admin.zcard(keys.all)).toBe(2);
    expect(await admin.zcard(keys.batch('B-many'))).toBe(5);
    expect(await store.cleanIndexes({ maxChecks: 3 })).toMatchObject({ gone: 3, checked: 3 });
    expect(await admin.zcard(keys.all)).toBe(0);
    expect(await admin.zcard(keys.batch('B-many'))).toBe(4);
    expect(await store.cleanIndexes({ maxChecks: 3 })).toMatchObject({ gone: 3, checked: 3 });
    expect(await store.cleanIndexes({ maxChecks: 3 })).toEqual({
      expired: 0,
      stale: 0,
      gone: 1,
      batchesEmptied: 1,
      checked: 1,
    });
    expect(await indexes(prefix)).toEqual({});
  });

  it("is done by the reconciler's round: past-retention entries go, retained tickets stay", async () => {
    const prefix = aPrefix();
    const keys = ticketStoreKeys(prefix);
    const clock = aClock(Date.now() - 3 * HOUR);
    const store = aStore(prefix, clock.read);
    await aTicket(store, clock, aNewTicket('rc-expired', 'B-rc-old'), [{ type: 'cancelled' }]);
    // half an hour inside the retention: kept however long the round takes to start
    clock.now += 2.5 * HOUR;
    await aTicket(store, clock, aNewTicket('rc-kept', 'B-rc-new'), [{ type: 'cancelled' }]);
    await admin.del(keys.ticket('rc-expired'), keys.history('rc-expired'));
    clock.now = Date.now();

    const connection = testRedis('queue');
    const queue = new Queue<TicketJobData>(TICKET_QUEUE, {
      connection,
      prefix: bullPrefix(prefix),
    });
    const reconciler = new TicketReconciler({
      store,
      lifecycle: new TicketLifecycle({ store, logger, clock: clock.read }),
      queue,
      redis: admin,
      prefix,
      jobs: { attempts: 3, keepCompletedSeconds: 3600, keepFailedSeconds: 3600 },
      logger,
      scanKeysPerRound: 0,
      clock: clock.read,
    });
    try {
      // one round now (under the lock), and none after it before stop
      reconciler.start(3_600_000);
      await reconciler.stop();
    } finally {
      await queue.close();
      await connection.quit();
    }
    for (const key of [keys.state('cancelled'), keys.all, keys.batch('B-rc-old')]) {
      expect(await admin.zscore(key, 'rc-expired'), key).toBeNull();
    }
    for (const key of [keys.state('cancelled'), keys.all, keys.batch('B-rc-new')]) {
      expect(await admin.zscore(key, 'rc-kept'), key).not.toBeNull();
    }
    expect(await admin.zrange(keys.batches, '0', '-1')).toEqual(['B-rc-new']);
    expect(await store.countByState()).toMatchObject({ cancelled: 1 });
  });
});
