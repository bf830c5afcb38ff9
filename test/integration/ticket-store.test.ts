import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HistoryEntry, Lease, Ticket, TicketEventType } from '../../src/domain/ticket.js';
import { transition } from '../../src/domain/ticket-machine.js';
import { TicketNotFoundError } from '../../src/errors.js';
import type { RedisClient } from '../../src/adapters/redis/connection.js';
import { deleteKeys, testRedis } from '../support/redis.js';
import { DecryptionError, FieldCipher } from '../../src/adapters/redis/crypto.js';
import {
  RedisTicketStore,
  ticketStoreKeys,
  type NewTicket,
} from '../../src/adapters/redis/ticket-store.js';

const PREFIX = `test:${randomUUID()}`;
const RETENTION = 3600;
const NAME = '张三丰';
const ID_NUMBER = '11010519491231002X';
const STS_SECRET = 'sts-secret-Hk29aQ7xLmP3';
const VERIFY_TOKEN = 'vtoken-91f0c2de6b7a4e55a0b1';
const PAGE_URL = 'https://h5.example.test/verify?token=pagetoken-4c1d';
const FACE_BASE64 = randomBytes(64).toString('base64');

let redis: RedisClient;
let now = 1_700_000_000_000;
const clock = () => now;
const cipher = new FieldCipher(randomBytes(32));

function storeFor(prefix: string): RedisTicketStore {
  return new RedisTicketStore({ redis, prefix, cipher, retentionSeconds: RETENTION, clock });
}

function aNewTicket(ticketId: string, extra: Partial<NewTicket> = {}): NewTicket {
  return {
    ticketId,
    biz: 'RPMin',
    flow: 'server',
    binding: {
      name: NAME,
      idNumber: ID_NUMBER,
      materials: { FacePic: { kind: 'bytes', base64: FACE_BASE64 } },
    },
    payloadHash: `hash-of-${ticketId}`,
    ...extra,
  };
}

function aLease(): Lease {
  return {
    verifyToken: VERIFY_TOKEN,
    tokenExpiresAt: now + 1_800_000,
    sts: {
      accessKeyId: 'STS.NSjeTodte64fJxeVqRCLfw8Gf',
      accessKeySecret: STS_SECRET,
      securityToken: 'CAISsecuritytoken9f8e',
      endPoint: 'oss-cn-shanghai.aliyuncs.com',
      bucketName: 'verify-img',
      path: 'rp/ticket/',
      expiresAt: now + 1_800_000,
    },
    pageUrl: PAGE_URL,
    issuedAt: now,
  };
}

/** The ticket after `event`, as the ticket machine would compute it (version + 1). */
function after(
  t: Ticket,
  event: TicketEventType,
  change: Partial<Ticket>,
  drop: (keyof Ticket)[] = [],
): { next: Ticket; history: HistoryEntry } {
  now += 1000;
  const next: Ticket = { ...t, ...change, version: t.version + 1, updatedAt: now };
  for (const key of drop) delete next[key];
  const history: HistoryEntry = {
    from: t.state,
    to: next.state,
    event,
    at: now,
    attempt: next.attempts,
  };
  return { next, history };
}

async function created(store: RedisTicketStore, input: NewTicket): Promise<Ticket> {
  const result = await store.create(input);
  expect(result.created).toBe(true);
  return result.ticket;
}

beforeAll(() => {
  redis = testRedis();
});

afterAll(async () => {
  await deleteKeys(redis, [`${PREFIX}:*`]);
});

describe('RedisTicketStore', () => {
  const keys = ticketStoreKeys(PREFIX);
  let store: RedisTicketStore;
  beforeAll(() => {
    store = storeFor(PREFIX);
  });

  it('creates many in order, new and known alike, and indexes only the new ones', async () => {
    await store.create(aNewTicket('T-many-known', { payloadHash: 'older-hash' }));
    const results = await store.createMany([
      aNewTicket('T-many-1', { batchId: 'B-many' }),
      aNewTicket('T-many-known', { batchId: 'B-many' }),
      aNewTicket('T-many-2', { batchId: 'B-many' }),
    ]);
    expect(results.map((r) => [r.ticket.ticketId, r.created, r.payloadHash])).toEqual([
      ['T-many-1', true, 'hash-of-T-many-1'],
      ['T-many-known', false, 'older-hash'],
      ['T-many-2', true, 'hash-of-T-many-2'],
    ]);
    expect(await redis.zrange(keys.batch('B-many'), '0', '-1')).toEqual(['T-many-1', 'T-many-2']);
    expect(await store.getBinding('T-many-2')).toMatchObject({ name: NAME });
    expect(await store.createMany([])).toEqual([]);
  });

  it('puts a known ticket missing from its indexes back on a repeat, keeping present scores', async () => {
    const first = await store.create(aNewTicket('T-unindexed', { batchId: 'B-heal' }));
    const score = await redis.zscore(keys.all, 'T-unindexed');
    // a crash between the ticket's write and its index updates
    await redis.zrem(keys.state('queued'), 'T-unindexed');
    await redis.zrem(keys.batch('B-heal'), 'T-unindexed');
    now += 5000;
    const again = await store.create(aNewTicket('T-unindexed', { batchId: 'B-heal' }));
    expect(again.created).toBe(false);
    expect(await redis.zscore(keys.state('queued'), 'T-unindexed')).toBe(
      String(first.ticket.updatedAt),
    );
    expect(await redis.zscore(keys.batch('B-heal'), 'T-unindexed')).toBe(
      String(first.ticket.createdAt),
    );
    expect(await redis.zscore(keys.all, 'T-unindexed')).toBe(score);
  });

  it('creates a ticket once; a second create changes nothing and answers the stored payload hash', async () => {
    const first = await store.create(
      aNewTicket('T-create', { batchId: 'B-1', userData: { a: 1 } }),
    );
    expect(first).toMatchObject({ created: true, payloadHash: 'hash-of-T-create' });
    expect(first.ticket).toMatchObject({
      ticketId: 'T-create',
      state: 'queued',
      version: 0,
      attempts: 0,
      batchId: 'B-1',
      createdAt: now,
      updatedAt: now,
    });
    now += 1000;
    const second = await store.create(
      aNewTicket('T-create', {
        payloadHash: 'another-hash',
        binding: { name: 'Other', materials: {} },
      }),
    );
    expect(second.created).toBe(false);
    expect(second.payloadHash).toBe('hash-of-T-create');
    expect(second.ticket).toEqual(first.ticket);
    expect(await store.get('T-create')).toEqual(first.ticket);
    expect(await store.getBinding('T-create')).toMatchObject({ name: NAME, idNumber: ID_NUMBER });
    expect(await store.getUserData('T-create')).toEqual({ a: 1 });
    expect(await store.history('T-create')).toEqual([]);
    expect(await redis.ttl(keys.ticket('T-create'))).toBe(-1);
  });

  it('applies a transition from the expected version and appends its history entry', async () => {
    const t = await created(store, aNewTicket('T-apply'));
    const lease = aLease();
    const { next, history } = after(t, 'token_issued', { state: 'token_issued', lease });
    expect(await store.apply('T-apply', 0, next, history)).toBe('applied');
    const stored = await store.get('T-apply');
    expect(stored).toMatchObject({ state: 'token_issued', version: 1, updatedAt: now, lease });
    expect(await store.history('T-apply')).toEqual([history]);
  });

  it('answers conflict for a stale version and changes nothing', async () => {
    const t = await created(store, aNewTicket('T-stale'));
    const step = after(t, 'token_issued', { state: 'token_issued', lease: aLease() });
    expect(await store.apply('T-stale', 0, step.next, step.history)).toBe('applied');
    const before = await store.get('T-stale');
    const stale = after(t, 'cancelled', { state: 'cancelled', finishedAt: now });
    expect(await store.apply('T-stale', 0, stale.next, stale.history)).toBe('conflict');
    expect(await store.get('T-stale')).toEqual(before);
    expect(await store.history('T-stale')).toHaveLength(1);
    const ghost = { ...stale.next, ticketId: 'T-nowhere' };
    expect(await store.apply('T-nowhere', 0, ghost, stale.history)).toBe('missing');
    expect(await redis.exists(keys.ticket('T-nowhere'), keys.history('T-nowhere'))).toBe(0);
  });

  it('lets exactly one of 20 concurrent appliers with the same expected version win', async () => {
    const t = await created(store, aNewTicket('T-race'));
    const outcomes = await Promise.all(
      Array.from({ length: 20 }, () => {
        const { next, history } = after(t, 'token_issued', {
          state: 'token_issued',
          lease: aLease(),
        });
        return store.apply('T-race', 0, next, history);
      }),
    );
    expect(outcomes.filter((o) => o === 'applied')).toHaveLength(1);
    expect(outcomes.filter((o) => o === 'conflict')).toHaveLength(19);
    expect((await store.get('T-race'))?.version).toBe(1);
    expect(await store.history('T-race')).toHaveLength(1);
  });

  it('expires both keys of a finished ticket after the retention, and keeps them again after a retry', async () => {
    const t = await created(store, aNewTicket('T-ttl'));
    const done = after(t, 'failed', {
      state: 'failed',
      finishedAt: now + 1000,
      lastError: { code: 'PROVIDER_INVALID_PARAM', message: 'bad', retryable: false, at: now },
    });
    expect(await store.apply('T-ttl', 0, done.next, done.history)).toBe('applied');
    for (const key of [keys.ticket('T-ttl'), keys.history('T-ttl')]) {
      const ttl = await redis.ttl(key);
      expect(ttl).toBeGreaterThan(RETENTION - 5);
      expect(ttl).toBeLessThanOrEqual(RETENTION);
    }
    const retried = after(done.next, 'retried', { state: 'queued', attempts: 0 }, [
      'finishedAt',
      'lastError',
    ]);
    expect(await store.apply('T-ttl', 1, retried.next, retried.history)).toBe('applied');
    expect(await redis.ttl(keys.ticket('T-ttl'))).toBe(-1);
    expect(await redis.ttl(keys.history('T-ttl'))).toBe(-1);
    const stored = await store.get('T-ttl');
    expect(stored?.state).toBe('queued');
    expect(stored).not.toHaveProperty('finishedAt');
    expect(stored).not.toHaveProperty('lastError');
  });

  it('keeps no plaintext name, identity number, STS secret, VerifyToken or page URL in Redis', async () => {
    const t = await created(store, aNewTicket('T-plain', { userData: { note: NAME } }));
    const step = after(t, 'token_issued', { state: 'token_issued', lease: aLease() });
    await store.apply('T-plain', 0, step.next, step.history);
    const raw = await redis.hgetall(keys.ticket('T-plain'));
    expect(Object.keys(raw)).toEqual(expect.arrayContaining(['lease', 'binding', 'userData']));
    const dump = JSON.stringify([raw, await redis.lrange(keys.history('T-plain'), 0, -1)]);
    for (const secret of [NAME, ID_NUMBER, STS_SECRET, VERIFY_TOKEN, PAGE_URL, FACE_BASE64]) {
      expect(dump).not.toContain(secret);
    }
    for (const field of ['lease', 'binding', 'userData']) {
      expect(raw[field]).toMatch(/^v1\.[0-9a-f]{8}\./);
    }
  });

  it('refuses a ciphertext copied from one ticket into another', async () => {
    const a = await created(store, aNewTicket('T-aad-a'));
    const b = await created(store, aNewTicket('T-aad-b'));
    const step = after(a, 'token_issued', { state: 'token_issued', lease: aLease() });
    await store.apply('T-aad-a', 0, step.next, step.history);
    const stepB = after(b, 'token_issued', { state: 'token_issued', lease: aLease() });
    await store.apply('T-aad-b', 0, stepB.next, stepB.history);
    const [binding, lease] = await redis.hmget(keys.ticket('T-aad-a'), 'binding', 'lease');
    await redis.hset(keys.ticket('T-aad-b'), 'binding', binding ?? '', 'lease', lease ?? '');
    await expect(store.getBinding('T-aad-b')).rejects.toThrow(DecryptionError);
    await expect(store.get('T-aad-b')).rejects.toThrow(/authentication failed/);
    await redis.hset(keys.ticket('T-aad-a'), 'userData', binding ?? '');
    await expect(store.getUserData('T-aad-a')).rejects.toThrow(DecryptionError);
  });

  it('counts a failed attempt on the version it was read at, bumping the version, without history', async () => {
    const t = await created(store, aNewTicket('T-attempt'));
    const error = { code: 'PROVIDER_TIMEOUT', message: 'timed out', retryable: true, at: now };
    expect(await store.recordAttemptError('T-attempt', 0, error)).toEqual({
      result: 'applied',
      attempts: 1,
      version: 1,
    });
    // a second worker's record computed from the same read is refused
    expect(await store.recordAttemptError('T-attempt', 0, { ...error, at: now + 2 })).toEqual({
      result: 'conflict',
    });
    expect(await store.recordAttemptError('T-attempt', 1, { ...error, at: now + 1 })).toEqual({
      result: 'applied',
      attempts: 2,
      version: 2,
    });
    const stored = await store.get('T-attempt');
    expect(stored).toMatchObject({ version: 2, attempts: 2, state: 'queued' });
    expect(stored?.updatedAt).toBe(t.updatedAt);
    expect(stored?.lastError).toEqual({ ...error, at: now + 1 });
    expect(await store.history('T-attempt')).toEqual([]);
    await expect(store.recordAttemptError('T-missing', 0, error)).rejects.toThrow(
      TicketNotFoundError,
    );
    expect(await redis.exists(keys.ticket('T-missing'))).toBe(0);
  });

  it('refuses a transition computed from a read before an attempt error, keeping attempts and lastError', async () => {
    const read = await created(store, aNewTicket('T-attempt-race'));
    const error = { code: 'PROVIDER_INTERNAL', message: 'boom', retryable: true, at: now };
    expect(await store.recordAttemptError('T-attempt-race', read.version, error)).toMatchObject({
      result: 'applied',
    });
    // e.g. an operator's cancel computed from the ticket as read before the error was recorded
    const stale = after(read, 'cancelled', { state: 'cancelled' });
    expect(await store.apply('T-attempt-race', read.version, stale.next, stale.history)).toBe(
      'conflict',
    );
    const stored = await store.get('T-attempt-race');
    expect(stored).toMatchObject({ state: 'queued', attempts: 1, version: read.version + 1 });
    expect(stored?.lastError).toEqual(error);
    // the same transition computed again from a fresh read applies and keeps them
    if (!stored) throw new Error('ticket vanished');
    const fresh = after(stored, 'cancelled', { state: 'cancelled' });
    expect(await store.apply('T-attempt-race', stored.version, fresh.next, fresh.history)).toBe(
      'applied',
    );
    expect(await store.get('T-attempt-race')).toMatchObject({
      state: 'cancelled',
      attempts: 1,
      lastError: error,
    });
  });

  it('reads the binding and the user data in one answer, and refuses an unknown ticket', async () => {
    await created(store, aNewTicket('T-applicant', { userData: { order: 'A-17' } }));
    await created(store, aNewTicket('T-applicant-bare'));
    expect(await store.getApplicant('T-applicant')).toEqual({
      binding: {
        name: NAME,
        idNumber: ID_NUMBER,
        materials: { FacePic: { kind: 'bytes', base64: FACE_BASE64 } },
      },
      userData: { order: 'A-17' },
    });
    const bare = await store.getApplicant('T-applicant-bare');
    expect(bare.binding).toEqual(await store.getBinding('T-applicant-bare'));
    expect(bare.userData).toBeUndefined();
    await expect(store.getApplicant('T-applicant-missing')).rejects.toThrow(TicketNotFoundError);
    await redis.hdel(keys.ticket('T-applicant-bare'), 'binding');
    await expect(store.getApplicant('T-applicant-bare')).rejects.toThrow(
      /stored binding is missing/,
    );
  });

  it('stores a first verdict, and gives both keys the retention', async () => {
    const t = await created(store, aNewTicket('T-verdict'));
    const lease = aLease();
    const issued = after(t, 'token_issued', { state: 'token_issued', lease });
    expect(await store.apply('T-verdict', 0, issued.next, issued.history)).toBe('applied');
    const verdict = { statusCode: 1 as const, trustedScore: 91.5 };
    const done = after(issued.next, 'verdict', {
      state: 'passed',
      verdict,
      finishedAt: now + 1000,
    });
    expect(await store.apply('T-verdict', 1, done.next, done.history)).toBe('applied');
    const stored = await store.get('T-verdict');
    expect(stored).toMatchObject({ state: 'passed', version: 2, verdict, lease });
    expect(stored?.finishedAt).toBe(done.next.finishedAt);
    expect(stored).not.toHaveProperty('lastError');
    expect(await store.history('T-verdict')).toEqual([issued.history, done.history]);
    for (const key of [keys.ticket('T-verdict'), keys.history('T-verdict')]) {
      expect(await redis.ttl(key)).toBeGreaterThan(RETENTION - 5);
    }
    expect(await redis.zscore(keys.state('passed'), 'T-verdict')).toBe(String(done.next.updatedAt));
    expect(await redis.zscore(keys.state('token_issued'), 'T-verdict')).toBeNull();
  });

  it('deletes the fields a transition drops and keeps the others', async () => {
    const t = await created(store, aNewTicket('T-drop'));
    const issued = after(t, 'token_issued', { state: 'token_issued', lease: aLease() });
    await store.apply('T-drop', 0, issued.next, issued.history);
    const error = { code: 'PROVIDER_INVALID_PARAM', message: 'bad', retryable: false, at: now };
    const failed = after(issued.next, 'failed', {
      state: 'failed',
      lastError: error,
      finishedAt: now + 1000,
    });
    await store.apply('T-drop', 1, failed.next, failed.history);
    expect(await redis.hkeys(keys.ticket('T-drop'))).toEqual(
      expect.arrayContaining(['lease', 'lastError', 'finishedAt']),
    );
    // a retry drops the lease and finishedAt (present) and names verdict (absent); keeps lastError
    const retried = after(failed.next, 'retried', { state: 'queued', attempts: 0 }, [
      'lease',
      'verdict',
      'finishedAt',
    ]);
    expect(await store.apply('T-drop', 2, retried.next, retried.history)).toBe('applied');
    const fields = await redis.hkeys(keys.ticket('T-drop'));
    expect(fields).not.toContain('lease');
    expect(fields).not.toContain('finishedAt');
    expect(fields).not.toContain('verdict');
    expect(await store.get('T-drop')).toMatchObject({
      state: 'queued',
      version: 3,
      lastError: error,
    });
  });

  it("reads a hash holding an earlier version's provider materials, and its verdict deletes them", async () => {
    // the previous version kept Cloudauth's GetMaterials answer, sealed, in the field
    // providerMaterials; nothing reads it any more, and the next transition deletes it
    const t = await created(store, aNewTicket('T-retired', { batchId: 'B-retired' }));
    const issued = after(t, 'token_issued', { state: 'token_issued', lease: aLease() });
    expect(await store.apply('T-retired', 0, issued.next, issued.history)).toBe('applied');
    const sealed = cipher.encrypt(
      JSON.stringify({ name: NAME, idNumber: ID_NUMBER }),
      JSON.stringify(['T-retired', 'providerMaterials']),
    );
    await redis.hset(keys.ticket('T-retired'), 'providerMaterials', sealed);
    expect(await store.get('T-retired')).toMatchObject({ state: 'token_issued', version: 1 });
    expect((await store.getApplicant('T-retired')).binding.name).toBe(NAME);
    expect((await store.list({ batchId: 'B-retired', limit: 5 })).tickets).toHaveLength(1);

    const done = after(issued.next, 'verdict', {
      state: 'passed',
      verdict: { statusCode: 1 },
      finishedAt: now + 1000,
    });
    expect(await store.apply('T-retired', 1, done.next, done.history)).toBe('applied');
    const fields = await redis.hkeys(keys.ticket('T-retired'));
    expect(fields).not.toContain('providerMaterials');
    expect(fields).toEqual(expect.arrayContaining(['binding', 'lease', 'verdict']));
    expect(await store.get('T-retired')).toMatchObject({ state: 'passed', version: 2 });
  });

  it('removes the TTL a repair gave a finished ticket when the ticket is retried', async () => {
    const t = await created(store, aNewTicket('T-repaired'));
    const error = { code: 'PROVIDER_INVALID_PARAM', message: 'bad', retryable: false, at: now };
    const failed = after(t, 'failed', {
      state: 'failed',
      lastError: error,
      finishedAt: now + 1000,
    });
    await store.apply('T-repaired', 0, failed.next, failed.history);
    // finished without an expiry, as the reconciler's walk may find one; the repair gives it one
    await redis.persist(keys.ticket('T-repaired'));
    await redis.persist(keys.history('T-repaired'));
    const [restored] = await store.restore(['T-repaired']);
    expect(restored?.expiryRestored).toBe(true);
    expect(await redis.ttl(keys.history('T-repaired'))).toBeGreaterThan(0);
    const retried = after(failed.next, 'retried', { state: 'queued', attempts: 0 }, ['finishedAt']);
    expect(await store.apply('T-repaired', 1, retried.next, retried.history)).toBe('applied');
    expect(await redis.ttl(keys.ticket('T-repaired'))).toBe(-1);
    expect(await redis.ttl(keys.history('T-repaired'))).toBe(-1);
    // and a transition between unfinished states leaves it without one
    const stored = await store.get('T-repaired');
    if (!stored) throw new Error('ticket vanished');
    const issued = after(stored, 'token_issued', { state: 'token_issued', lease: aLease() });
    expect(await store.apply('T-repaired', 2, issued.next, issued.history)).toBe('applied');
    expect(await redis.ttl(keys.ticket('T-repaired'))).toBe(-1);
    expect(await redis.ttl(keys.history('T-repaired'))).toBe(-1);
  });

  it('creates a ticket over a history list left without its hash, dropping that history', async () => {
    await redis.rpush(keys.history('T-orphan-history'), '{"from":"queued","to":"failed"}');
    await redis.expire(keys.history('T-orphan-history'), 60);
    const t = await created(store, aNewTicket('T-orphan-history'));
    expect(await store.history('T-orphan-history')).toEqual([]);
    const issued = after(t, 'token_issued', { state: 'token_issued', lease: aLease() });
    await store.apply('T-orphan-history', 0, issued.next, issued.history);
    expect(await store.history('T-orphan-history')).toEqual([issued.history]);
    expect(await redis.ttl(keys.history('T-orphan-history'))).toBe(-1);
  });

  it('answers a repeat of a ticket with and without history, and no call can discard it after', async () => {
    const first = await store.create(aNewTicket('T-repeat'));
    const again = await store.create(aNewTicket('T-repeat'));
    expect(again).toMatchObject({ created: false, ticket: first.ticket });
    expect(await redis.hexists(keys.ticket('T-repeat'), 'creator')).toBe(0);
    expect(await store.discardCreated([first])).toEqual([]);
    const issued = after(first.ticket, 'token_issued', { state: 'token_issued', lease: aLease() });
    await store.apply('T-repeat', 0, issued.next, issued.history);
    const third = await store.create(aNewTicket('T-repeat'));
    expect(third.created).toBe(false);
    expect(third.ticket).toMatchObject({ state: 'token_issued', version: 1 });
    expect(await store.history('T-repeat')).toEqual([issued.history]);
  });

  it('refuses to count an attempt over a stored attempts that is not an integer, writing nothing', async () => {
    await created(store, aNewTicket('T-bad-attempts'));
    await redis.hset(keys.ticket('T-bad-attempts'), 'attempts', 'many');
    const error = { code: 'PROVIDER_TIMEOUT', message: 'timed out', retryable: true, at: now };
    await expect(store.recordAttemptError('T-bad-attempts', 0, error)).rejects.toThrow(
      /not an integer/,
    );
    expect(
      await redis.hmget(keys.ticket('T-bad-attempts'), 'version', 'attempts', 'lastError'),
    ).toEqual(['0', 'many', null]);
  });

  it('records when SubmitMaterials started, and creates nothing for an unknown ticket', async () => {
    await created(store, aNewTicket('T-submit', { callbackUrl: 'https://biz.example.test/hook' }));
    expect(await store.markSubmitStarted('T-submit', now + 5, 0)).toBe('applied');
    expect(await store.get('T-submit')).toMatchObject({
      submitStartedAt: now + 5,
      callbackUrl: 'https://biz.example.test/hook',
      payloadHash: 'hash-of-T-submit',
      version: 0,
    });
    await expect(store.markSubmitStarted('T-missing', now, 0)).rejects.toThrow(TicketNotFoundError);
    expect(await redis.exists(keys.ticket('T-missing'))).toBe(0);
  });

  it('writes no submit mark on a ticket that moved on since the worker read it', async () => {
    await created(store, aNewTicket('T-moved'));
    // a worker decided to submit at version 0; an operator cancelled the ticket meanwhile
    const t = await store.get('T-moved');
    if (t === undefined) throw new Error('T-moved was not created');
    const cancelled = transition(t, { type: 'cancelled' }, now + 1);
    expect(await store.apply('T-moved', 0, cancelled.ticket, cancelled.history)).toBe('applied');
    expect(await store.markSubmitStarted('T-moved', now + 2, 0)).toBe('conflict');
    expect(await redis.hget(keys.ticket('T-moved'), 'submitStartedAt')).toBeNull();
    expect(await store.get('T-moved')).toMatchObject({ state: 'cancelled', version: 1 });
  });

  it('lets one of two runs that read the ticket unmarked mark it; a run that read the mark may mark again', async () => {
    await created(store, aNewTicket('T-twice'));
    // two runs of one job (a lock lost to a stalled process) both read version 0 and no mark
    expect(await store.markSubmitStarted('T-twice', now + 1, 0)).toBe('applied');
    expect(await store.markSubmitStarted('T-twice', now + 2, 0)).toBe('conflict');
    expect(await redis.hget(keys.ticket('T-twice'), 'submitStartedAt')).toBe(String(now + 1));
    // a later run read that mark, asked the provider, and found no submission: it may submit
    expect(await store.markSubmitStarted('T-twice', now + 3, 0, now + 1)).toBe('applied');
    expect((await store.get('T-twice'))?.submitStartedAt).toBe(now + 3);
  });
});

describe('RedisTicketStore indexes', () => {
  const prefix = `${PREFIX}:idx-test`;
  const keys = ticketStoreKeys(prefix);
  let store: RedisTicketStore;
  beforeAll(() => {
    store = storeFor(prefix);
  });

  async function all(query: { state?: Ticket['state']; batchId?: string }, limit: number) {
    const pages: string[][] = [];
    let cursor: string | undefined;
    do {
      const page = await store.list({ ...query, limit, ...(cursor ? { cursor } : {}) });
      pages.push(page.tickets.map((t) => t.ticketId));
      cursor = page.nextCursor;
    } while (cursor !== undefined);
    return pages;
  }

  it('counts by state and lists by state and batch, newest first, page by page', async () => {
    const tickets: Ticket[] = [];
    for (let i = 0; i < 7; i++) {
      if (i !== 3) now += 1000;
      const batchId = i < 5 ? 'B-one' : 'B-two';
      tickets.push(await created(store, aNewTicket(`L-${i}`, { batchId })));
    }
    for (const i of [1, 4, 6]) {
      const t = tickets[i] as Ticket;
      const { next, history } = after(t, 'token_issued', {
        state: 'token_issued',
        lease: aLease(),
      });
      expect(await store.apply(t.ticketId, 0, next, history)).toBe('applied');
    }
    const counts = await store.countByState();
    expect(counts).toMatchObject({ queued: 4, token_issued: 3, passed: 0, failed: 0 });
    expect(Object.keys(counts)).toHaveLength(9);

    expect(await all({ state: 'queued' }, 2)).toEqual([
      ['L-5', 'L-3'],
      ['L-2', 'L-0'],
    ]);
    expect(await all({ state: 'token_issued' }, 2)).toEqual([['L-6', 'L-4'], ['L-1']]);
    expect(await all({ batchId: 'B-one' }, 2)).toEqual([['L-4', 'L-3'], ['L-2', 'L-1'], ['L-0']]);
    expect(await all({ batchId: 'B-one', state: 'queued' }, 2)).toEqual([['L-3', 'L-2'], ['L-0']]);
    expect(await all({}, 3)).toEqual([['L-6', 'L-5', 'L-4'], ['L-3', 'L-2', 'L-1'], ['L-0']]);
    const listed = (await store.list({ state: 'token_issued', limit: 10 })).tickets;
    expect(listed.every((t) => !('lease' in t))).toBe(true);
    await expect(store.list({ limit: 0 })).rejects.toThrow(/limit/);
    await expect(store.list({ limit: 1, cursor: 'nonsense' })).rejects.toThrow(/cursor/);
  });

  it('skips dangling and stale index entries as it lists them, leaving them to the cleanup', async () => {
    await created(store, aNewTicket('D-gone', { batchId: 'B-dangling' }));
    now += 1000;
    await created(store, aNewTicket('D-kept', { batchId: 'B-dangling' }));
    await redis.del(keys.ticket('D-gone'), keys.history('D-gone'));
    await redis.zadd(keys.state('passed'), now, 'D-kept');

    const page = await store.list({ batchId: 'B-dangling', limit: 10 });
    expect(page.tickets.map((t) => t.ticketId)).toEqual(['D-kept']);
    expect((await store.list({ state: 'passed', limit: 10 })).tickets).toEqual([]);
    expect((await store.list({ limit: 100 })).tickets.map((t) => t.ticketId)).not.toContain(
      'D-gone',
    );
    // a read writes nothing: the reconciler's round drops such entries (index-cleanup.test.ts)
    expect(await redis.zscore(keys.batch('B-dangling'), 'D-gone')).not.toBeNull();
    expect(await redis.zscore(keys.state('passed'), 'D-kept')).not.toBeNull();
    expect(await redis.zscore(keys.all, 'D-gone')).not.toBeNull();
    const cleaned = await store.cleanIndexes();
    expect(cleaned).toMatchObject({ stale: 1, gone: 0 });
    expect(await redis.zscore(keys.state('queued'), 'D-gone')).toBeNull();
  });

  it('stops counting finished tickets once their retention has passed', async () => {
    const t = await created(store, aNewTicket('R-done'));
    const { next, history } = after(t, 'cancelled', { state: 'cancelled', finishedAt: now });
    await store.apply('R-done', 0, next, history);
    expect((await store.countByState()).cancelled).toBe(1);
    now += (RETENTION + 1) * 1000;
    expect((await store.countByState()).cancelled).toBe(0);
    // counted out, not removed: the reconciler's round removes it
    expect(await redis.zscore(keys.state('cancelled'), 'R-done')).not.toBeNull();
  });
});
