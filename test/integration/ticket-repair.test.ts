/**
 * The store's repairs on the shared Redis (a unique prefix per test, deleted after): taking back
 * a ticket its creating call could not give a job, only while no one else may have answered it as
 * accepted; the walk over the tickets' hashes; the restoration of index entries and expiries.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RedisClient } from '../../src/adapters/redis/connection.js';
import { transition } from '../../src/domain/ticket-machine.js';
import { FieldCipher } from '../../src/adapters/redis/crypto.js';
import {
  RedisTicketStore,
  ticketStoreKeys,
  type NewTicket,
} from '../../src/adapters/redis/ticket-store.js';
import { deleteKeys, testRedis } from '../support/redis.js';

const RETENTION = 3600;
const cipher = new FieldCipher(randomBytes(32));
let redis: RedisClient;
const prefixes: string[] = [];

beforeAll(() => {
  redis = testRedis();
});

afterAll(async () => {
  // a prefix's glob characters must match only themselves
  const escaped = prefixes.map((p) => p.replace(/[*?[\]\\]/g, (c) => `\\${c}`));
  await deleteKeys(
    redis,
    escaped.map((p) => `${p}:*`),
  );
});

function aStore(prefix = `test-repair-${randomUUID().slice(0, 8)}`): RedisTicketStore {
  prefixes.push(prefix);
  return new RedisTicketStore({ redis, prefix, cipher, retentionSeconds: RETENTION });
}

function aNewTicket(ticketId: string, batchId?: string): NewTicket {
  return {
    ticketId,
    biz: 'RPMin',
    flow: 'server',
    binding: { name: '李三', idNumber: '11010519491231002X', materials: {} },
    payloadHash: `hash-of-${ticketId}`,
    ...(batchId === undefined ? {} : { batchId }),
  };
}

async function walk(store: RedisTicketStore): Promise<string[]> {
  const ids: string[] = [];
  let cursor = '0';
  do {
    const page = await store.scanTickets(cursor, 1000);
    ids.push(...page.ticketIds);
    cursor = page.cursor;
  } while (cursor !== '0');
  return ids;
}

describe('taking back a created ticket', () => {
  it('deletes it with its history and index entries while it is as its call left it', async () => {
    const store = aStore();
    const keys = ticketStoreKeys(prefixes.at(-1) ?? '');
    const [result] = await store.createMany([aNewTicket('tb-1', 'tb-batch')]);
    expect(result?.created).toBe(true);
    expect(await store.discardCreated(result ? [result] : [])).toEqual(['tb-1']);
    expect(await redis.exists(keys.ticket('tb-1'), keys.history('tb-1'))).toBe(0);
    expect(await redis.zscore(keys.all, 'tb-1')).toBeNull();
    expect(await redis.zscore(keys.state('queued'), 'tb-1')).toBeNull();
    expect(await redis.zscore(keys.batch('tb-batch'), 'tb-1')).toBeNull();
  });

  it('deletes it when the same call gave its TicketId twice', async () => {
    const store = aStore();
    const keys = ticketStoreKeys(prefixes.at(-1) ?? '');
    const results = await store.createMany([aNewTicket('tb-twice'), aNewTicket('tb-twice')]);
    expect(results.map((r) => r.created)).toEqual([true, false]);
    expect(await store.discardCreated(results)).toEqual(['tb-twice']);
    expect(await redis.exists(keys.ticket('tb-twice'), keys.history('tb-twice'))).toBe(0);
    expect(await redis.zscore(keys.all, 'tb-twice')).toBeNull();
  });

  it('keeps it once a repeat of its TicketId was answered, once it moved on, or for another call', async () => {
    const store = aStore();
    const [repeated] = await store.createMany([aNewTicket('tb-repeat')]);
    const [again] = await store.createMany([aNewTicket('tb-repeat')]);
    expect(again?.created).toBe(false);
    expect(await store.discardCreated(repeated ? [repeated] : [])).toEqual([]);
    expect(await store.get('tb-repeat')).toBeDefined();

    const [moved] = await store.createMany([aNewTicket('tb-moved')]);
    if (!moved) throw new Error('no result');
    const { ticket, history } = transition(moved.ticket, { type: 'cancelled' }, Date.now());
    expect(await store.apply('tb-moved', 0, ticket, history)).toBe('applied');
    expect(await store.discardCreated([moved])).toEqual([]);
    expect((await store.get('tb-moved'))?.state).toBe('cancelled');

    const [mine] = await store.createMany([aNewTicket('tb-other')]);
    if (!mine) throw new Error('no result');
    expect(await store.discardCreated([{ ...mine, creation: 'another-call' }])).toEqual([]);
    expect(await store.discardCreated([{ ...mine, created: false }])).toEqual([]);
    expect(await store.get('tb-other')).toBeDefined();
  });
});

describe('the walk over the tickets', () => {
  it("finds every ticket's hash, never a history list, and only under its own prefix", async () => {
    const base = `test-walk-${randomUUID().slice(0, 8)}`;
    // glob characters in the prefix must match only themselves
    const store = aStore(`${base}*[a]`);
    const other = aStore(`${base}xa`);
    const ids = ['w-1', 'w}:h', 'w*?[x]', 'w-{2}'];
    await store.createMany(ids.map((id) => aNewTicket(id)));
    await other.createMany([aNewTicket('w-other')]);
    const [t] = await store.createMany([aNewTicket('w-1')]);
    if (!t) throw new Error('no result');
    const { ticket, history } = transition(t.ticket, { type: 'cancelled' }, Date.now());
    await store.apply('w-1', 0, ticket, history);

    const found = await walk(store);
    expect([...new Set(found)].sort()).toEqual([...ids].sort());
    expect(await walk(other)).toEqual(['w-other']);
  });

  it('restores missing index entries with their scores, and the expiry of a finished ticket', async () => {
    const prefix = `test-restore-${randomUUID().slice(0, 8)}`;
    const store = aStore(prefix);
    const keys = ticketStoreKeys(prefix);
    const [open] = await store.createMany([aNewTicket('rs-open', 'rs-batch')]);
    const [done] = await store.createMany([aNewTicket('rs-done')]);
    if (!open || !done) throw new Error('no result');
    const finishedAt = Date.now() - 600_000;
    const { ticket, history } = transition(done.ticket, { type: 'cancelled' }, finishedAt);
    await store.apply('rs-done', 0, ticket, history);
    await redis.persist(keys.ticket('rs-done'));
    await redis.persist(keys.history('rs-done'));
    // one DEL a key: on a Cluster the index keys are in slots of their own
    for (const key of [keys.all, keys.state('queued'), keys.batch('rs-batch')]) {
      await redis.del(key);
    }

    const restored = await store.restore(['rs-open', 'rs-done', 'rs-gone']);
    expect(restored).toEqual([
      {
        ticketId: 'rs-open',
        state: 'queued',
        createdAt: open.ticket.createdAt,
        reindexed: true,
        expiryRestored: false,
      },
      {
        ticketId: 'rs-done',
        state: 'cancelled',
        createdAt: done.ticket.createdAt,
        reindexed: true,
        expiryRestored: true,
      },
    ]);
    expect(await redis.zscore(keys.all, 'rs-open')).toBe(String(open.ticket.createdAt));
    expect(await redis.zscore(keys.state('queued'), 'rs-open')).toBe(String(open.ticket.updatedAt));
    expect(await redis.zscore(keys.batch('rs-batch'), 'rs-open')).toBe(
      String(open.ticket.createdAt),
    );
    expect(await redis.zscore(keys.state('cancelled'), 'rs-done')).toBe(String(finishedAt));
    // the rest of its retention, counted from when it finished
    for (const key of [keys.ticket('rs-done'), keys.history('rs-done')]) {
      const ttl = await redis.ttl(key);
      expect(ttl).toBeGreaterThan(RETENTION - 700);
      expect(ttl).toBeLessThanOrEqual(RETENTION - 600);
    }
    expect(await redis.ttl(keys.ticket('rs-open'))).toBe(-1);
    expect(await store.restore(['rs-open', 'rs-done'])).toMatchObject([
      { reindexed: false, expiryRestored: false },
      { reindexed: false, expiryRestored: false },
    ]);
    expect(await store.restore(['rs-open'], { createdBefore: open.ticket.createdAt })).toEqual([]);
  });
});
