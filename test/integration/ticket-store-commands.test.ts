/**
 * The Redis commands each store operation costs, counted as the benchmark counts them (INFO
 * commandstats, where every call a Lua script makes is a command too), on a redis-server of this
 * test's own so that no other user of a shared server is counted. A change that adds a command to
 * a ticket's path fails here and has to say why.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { transition } from '../../src/domain/ticket-machine.js';
import type { HistoryEntry, Ticket, TicketEvent } from '../../src/domain/ticket.js';
import { FieldCipher } from '../../src/adapters/redis/crypto.js';
import { RedisTicketStore, type NewTicket } from '../../src/adapters/redis/ticket-store.js';
import { startRedisServer, type RedisServer } from '../../testkit/redis.js';

const PREFIX = 'cmds';
let server: RedisServer;
let redis: Redis;
let store: RedisTicketStore;
let now = 1_700_000_000_000;

function aNewTicket(ticketId: string, userData?: unknown): NewTicket {
  return {
    ticketId,
    biz: 'RPMin',
    flow: 'server',
    binding: { name: 'Zhang San', idNumber: '11010519491231002X', materials: {} },
    payloadHash: `hash-of-${ticketId}`,
    ...(userData === undefined ? {} : { userData }),
  };
}

/** The ticket machine's own transition of `t` a second later: what a worker would apply. */
function after(t: Ticket, event: TicketEvent): { next: Ticket; history: HistoryEntry } {
  now += 1000;
  const { ticket, history } = transition(t, event, now);
  return { next: ticket, history };
}

const lease = () => ({
  verifyToken: 'vtoken',
  tokenExpiresAt: now + 1_800_000,
  sts: {
    accessKeyId: 'STS.id',
    accessKeySecret: 'secret',
    securityToken: 'token',
    endPoint: 'oss-cn-shanghai.aliyuncs.com',
    bucketName: 'verify-img',
    path: 'rp/',
    expiresAt: now + 1_800_000,
  },
  pageUrl: 'https://h5.example.test/verify',
  issuedAt: now,
});

const failure = () => ({ code: 'PROVIDER_INTERNAL', message: 'boom', retryable: true, at: now });

/** Calls per command since the server started (EVAL and EVALSHA as one: which is sent varies). */
async function commandCounts(): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const [, name, calls] of (await redis.info('commandstats')).matchAll(
    /^cmdstat_([^:]+):calls=(\d+)/gm,
  )) {
    const command = name === 'evalsha' ? 'eval' : (name as string);
    counts.set(command, (counts.get(command) ?? 0) + Number(calls));
  }
  return counts;
}

/** The commands `operation` made, by name (the INFO that read the counts before left out). */
async function commandsOf(operation: () => Promise<unknown>): Promise<Record<string, number>> {
  const before = await commandCounts();
  await operation();
  const afterwards = await commandCounts();
  const made: Record<string, number> = {};
  for (const [command, calls] of afterwards) {
    const delta = calls - (before.get(command) ?? 0) - (command === 'info' ? 1 : 0);
    if (delta > 0) made[command] = delta;
  }
  return made;
}

/** A ticket through the server flow's two transitions, as a worker runs it. */
async function serverTicketSteps(ticketId: string) {
  const steps: Record<string, Record<string, number>> = {};
  let ticket: Ticket | undefined;
  steps.create = await commandsOf(async () => {
    ticket = (await store.create(aNewTicket(ticketId, { order: 1 }))).ticket;
  });
  steps.getApplicant = await commandsOf(() => store.getApplicant(ticketId));
  const issued = after(ticket as Ticket, { type: 'token_issued', lease: lease() });
  steps.issue = await commandsOf(() => store.apply(ticketId, 0, issued.next, issued.history));
  steps.markSubmitStarted = await commandsOf(() => store.markSubmitStarted(ticketId, now, 1));
  const verdict = { statusCode: 1 as const, trustedScore: 90 };
  const passed = after(issued.next, { type: 'verdict', verdict });
  steps.verdict = await commandsOf(() => store.apply(ticketId, 1, passed.next, passed.history));
  return steps;
}

beforeAll(async () => {
  server = await startRedisServer();
  redis = new Redis(server.url);
  const cipher = new FieldCipher(randomBytes(32));
  store = new RedisTicketStore({ redis, prefix: PREFIX, cipher, retentionSeconds: 3600 });
  // the first call of each script on a connection loads it: not a ticket's cost
  await serverTicketSteps('warm-up');
  await store.recordAttemptError('warm-up', 2, failure());
});

afterAll(async () => {
  await redis?.quit();
  await server?.stop();
});

describe('Redis commands per store operation', () => {
  it('costs a server ticket 24 commands from creation to its verdict (31 before issue 14)', async () => {
    const steps = await serverTicketSteps('T-count');
    expect(steps).toEqual({
      // no DEL of the history: one EXISTS over both keys tells there is none
      create: { eval: 1, exists: 1, hset: 1, zadd: 2 },
      getApplicant: { hmget: 1 },
      // no HDEL of verdict, lastError and finishedAt (absent), no PERSIST (queued has no TTL)
      issue: { eval: 1, hmget: 1, hset: 1, rpush: 1, zrem: 1, zadd: 1 },
      // HMGET: the version and the mark the run read (two runs of one job never both mark)
      markSubmitStarted: { eval: 1, hmget: 1, hset: 1 },
      // the lease is dropped (a finished ticket keeps no VerifyToken nor STS secret); no HDEL of
      // lastError nor of the retired providerMaterials (absent)
      verdict: { eval: 1, hmget: 1, hset: 1, hdel: 1, rpush: 1, expire: 2, zrem: 1, zadd: 1 },
    });
    const total = Object.values(steps)
      .flatMap((s) => Object.values(s))
      .reduce((a, b) => a + b, 0);
    expect(total).toBe(24);
  });

  it('deletes only present fields and removes a TTL only when a ticket leaves a finished state', async () => {
    const { ticket } = await store.create(aNewTicket('T-retry'));
    const error = failure();
    const failed = after(ticket, { type: 'failed', error });
    expect(await commandsOf(() => store.apply('T-retry', 0, failed.next, failed.history))).toEqual({
      eval: 1,
      hmget: 1,
      hset: 1,
      rpush: 1,
      expire: 2,
      zrem: 1,
      zadd: 1,
    });
    const retried = after(failed.next, { type: 'retried' });
    expect(
      await commandsOf(() => store.apply('T-retry', 1, retried.next, retried.history)),
    ).toEqual({ eval: 1, hmget: 1, hset: 1, hdel: 1, rpush: 1, persist: 2, zrem: 1, zadd: 1 });
    expect(await redis.ttl(`${PREFIX}:t:{T-retry}`)).toBe(-1);
  });

  it('records an attempt error with one read and one write', async () => {
    await store.create(aNewTicket('T-attempt'));
    expect(await commandsOf(() => store.recordAttemptError('T-attempt', 0, failure()))).toEqual({
      eval: 1,
      hmget: 1,
      hset: 1,
    });
  });
});
