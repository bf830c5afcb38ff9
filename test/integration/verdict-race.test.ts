/**
 * A verdict is saved by a compare-and-set: a worker that lost the race to another (a stale
 * version) writes nothing, and the winner's verdict stands. And the ticket a transition answers is
 * the one the store holds after it: the executor decides its next step from that answer without
 * reading the ticket again.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RedisClient } from '../../src/adapters/redis/connection.js';
import { transition } from '../../src/domain/ticket-machine.js';
import type { Lease, Ticket, TicketEvent } from '../../src/domain/ticket.js';
import { TicketLifecycle } from '../../src/flow/ticket-lifecycle.js';
import { FieldCipher } from '../../src/adapters/redis/crypto.js';
import { RedisTicketStore } from '../../src/adapters/redis/ticket-store.js';
import { deleteKeys, testRedis } from '../support/redis.js';

const PREFIX = `test:${randomUUID()}`;
const NOW = 1_700_000_000_000;
let redis: RedisClient;
let store: RedisTicketStore;

beforeAll(() => {
  redis = testRedis();
  store = new RedisTicketStore({
    redis,
    prefix: PREFIX,
    cipher: new FieldCipher(randomBytes(32)),
    retentionSeconds: 3600,
    clock: () => NOW,
  });
});

afterAll(async () => {
  await deleteKeys(redis, [`${PREFIX}:*`]);
});

function aLease(): Lease {
  return {
    verifyToken: 'vt-1',
    tokenExpiresAt: NOW + 1_800_000,
    sts: {
      accessKeyId: 'STS.id',
      accessKeySecret: 'sts-secret',
      securityToken: 'CAIS-token',
      endPoint: 'oss.example.test',
      bucketName: 'verify-img',
      path: 'rp/t/',
      expiresAt: NOW + 1_800_000,
    },
    pageUrl: 'https://h5.example.test/verify',
    issuedAt: NOW,
  };
}

/** Applies a verdict computed from `from`; the store's answer. */
function verdictFrom(from: Ticket, statusCode: 1 | 2, auditConclusions: string) {
  const { ticket, history } = transition(
    from,
    { type: 'verdict', verdict: { statusCode, auditConclusions } },
    NOW + 1000,
  );
  return store.apply(from.ticketId, from.version, ticket, history);
}

describe('a verdict saved by compare-and-set', () => {
  it("keeps the winner's verdict; the loser of the race writes nothing", async () => {
    const { ticket: queued } = await store.create({
      ticketId: 'vm-1',
      biz: 'RPMin',
      flow: 'server',
      binding: { name: '李三', materials: {} },
      payloadHash: 'h',
    });
    const issued = transition(queued, { type: 'token_issued', lease: aLease() }, NOW);
    expect(await store.apply('vm-1', queued.version, issued.ticket, issued.history)).toBe(
      'applied',
    );

    expect(await verdictFrom(issued.ticket, 1, 'winner')).toBe('applied');
    expect(await verdictFrom(issued.ticket, 2, 'loser')).toBe('conflict');

    expect(await store.get('vm-1')).toMatchObject({
      state: 'passed',
      version: issued.ticket.version + 1,
      verdict: { statusCode: 1, auditConclusions: 'winner' },
    });
    expect((await store.history('vm-1')).map((h) => h.event)).toEqual(['token_issued', 'verdict']);
  });
});

describe('the ticket a transition answers', () => {
  it('is the ticket the store then reads, through every transition of a run and a retry', async () => {
    const lifecycle = new TicketLifecycle({
      store,
      logger: pino({ level: 'silent' }),
      clock: () => NOW + 500,
    });
    await store.create({
      ticketId: 'vm-2',
      biz: 'RPMin',
      flow: 'server',
      binding: { name: '李三', materials: {} },
      payloadHash: 'h',
      callbackUrl: 'https://hooks.example.test/verify',
    });
    expect(await store.markSubmitStarted('vm-2', NOW + 100, 0)).toBe('applied');
    const events: TicketEvent[] = [
      { type: 'token_issued', lease: aLease() },
      { type: 'submitted' },
      {
        type: 'failed',
        error: { code: 'INTERNAL_ERROR', message: 'x', retryable: true, at: NOW + 400 },
      },
      { type: 'retried' },
      { type: 'token_issued', lease: aLease() },
      { type: 'verdict', verdict: { statusCode: 2, auditConclusions: 'photo unclear' } },
    ];
    let t = await store.get('vm-2');
    for (const event of events) {
      if (t === undefined) throw new Error('vm-2 is gone');
      const advanced = await lifecycle.advance(t, event);
      expect(advanced.result, event.type).toBe('applied');
      t = await store.get('vm-2');
      expect(advanced.ticket, event.type).toEqual(t);
    }
    expect(t?.state).toBe('not_passed');
  });
});
