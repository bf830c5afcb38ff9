/**
 * The provider's materials are saved with the verdict, in the same compare-and-set: a worker that
 * lost the race to another (a stale version) writes neither the verdict nor its materials.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { transition } from '../../src/domain/ticket-machine.js';
import type { Lease, Ticket } from '../../src/domain/ticket.js';
import { FieldCipher } from '../../src/adapters/redis/crypto.js';
import { RedisTicketStore } from '../../src/adapters/redis/ticket-store.js';

const PREFIX = `test:${randomUUID()}`;
const NOW = 1_700_000_000_000;
let redis: Redis;
let store: RedisTicketStore;

beforeAll(() => {
  redis = new Redis(inject('redisUrl'));
  store = new RedisTicketStore({
    redis,
    prefix: PREFIX,
    cipher: new FieldCipher(randomBytes(32)),
    retentionSeconds: 3600,
    clock: () => NOW,
  });
});

afterAll(async () => {
  const keys = await redis.keys(`${PREFIX}:*`);
  if (keys.length > 0) await redis.del(...keys);
  await redis.quit();
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

/** Applies a verdict computed from `from`, with `materials`; the store's answer. */
function verdictFrom(from: Ticket, statusCode: 1 | 2, materials: unknown) {
  const { ticket, history } = transition(
    from,
    { type: 'verdict', verdict: { statusCode } },
    NOW + 1000,
  );
  return store.apply(from.ticketId, from.version, ticket, history, {
    providerMaterials: materials,
  });
}

describe('a verdict saved with the provider materials', () => {
  it('keeps the winner materials; the loser of the race writes nothing', async () => {
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

    expect(await verdictFrom(issued.ticket, 1, { name: 'winner' })).toBe('applied');
    expect(await verdictFrom(issued.ticket, 2, { name: 'loser' })).toBe('conflict');

    expect(await store.getProviderMaterials('vm-1')).toEqual({ name: 'winner' });
    expect((await store.get('vm-1'))?.verdict).toEqual({ statusCode: 1 });
  });
});
