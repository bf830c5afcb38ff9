/**
 * Waiting for a replica (`REDIS_WAIT_REPLICAS`, Redis `WAIT`), on servers of the test's own: a
 * primary, and a replica started with `--replicaof` when the test needs one.
 * - What intake answered is on the replica: the primary SIGKILLed right after the answer, the
 *   replica promoted by hand (`REPLICAOF NO ONE`, what Sentinel does), every ticket and its job are
 *   there.
 * - With no replica to acknowledge, intake refuses (`StoreUnavailableError`: 503 over HTTP) but
 *   keeps the ticket, and the worker never makes the paid call whose mark no replica holds; once a
 *   replica exists, the ticket goes on and is billed once.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { StoreUnavailableError } from '../../src/errors.js';
import { TICKET_QUEUE, bullPrefix, jobIdOf } from '../../src/adapters/bullmq/queues.js';
import { ticketStoreKeys } from '../../src/adapters/redis/ticket-store.js';
import { aBinding, startTestOrchestrator, type TestOrchestrator } from '../support/orchestrator.js';
import { smallJpeg } from '../support/images.js';
import { startRedisServer, type RedisServer } from '../../testkit/redis.js';
import { waitUntil } from '../../testkit/waiting.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

async function server(replicaOf?: RedisServer): Promise<RedisServer> {
  const s = await startRedisServer({
    name: replicaOf ? 'replica' : 'primary',
    ...(replicaOf ? { args: ['--replicaof', '127.0.0.1', String(replicaOf.port)] } : {}),
  });
  cleanups.push(() => s.stop());
  if (replicaOf) {
    const client = new Redis(s.url);
    cleanups.push(() => client.quit());
    await waitUntil(
      'the replica in sync',
      async () => /master_link_status:up/.test(await client.info('replication')),
      { timeoutMs: 15_000, everyMs: 50 },
    );
  }
  return s;
}

async function orchestrator(env: Record<string, string>, workers: boolean) {
  const o: TestOrchestrator = await startTestOrchestrator({
    workers,
    env: { REDIS_WAIT_TIMEOUT_MS: '100', JOB_ATTEMPTS: '50', ...env },
  });
  cleanups.push(() => o.close());
  return o;
}

describe('intake with REDIS_WAIT_REPLICAS=1', () => {
  it('answers once the replica holds the tickets and their jobs: a failover right after loses none', async () => {
    const primary = await server();
    const replica = await server(primary);
    const o = await orchestrator({ REDIS_URL: primary.url, REDIS_WAIT_REPLICAS: '1' }, false);
    const face = await smallJpeg();
    const ids = Array.from({ length: 40 }, () => `wait-${randomUUID().slice(0, 8)}`);
    const results = await o.app.intake.enqueueMany(
      ids.map((ticketId) => ({ ticketId, biz: 'RPMin', binding: aBinding(face) })),
    );
    expect(results.every((r) => r.created)).toBe(true);

    // the primary dies the moment intake has answered; the replica becomes the primary
    await primary.kill();
    const promoted = new Redis(replica.url);
    cleanups.push(() => promoted.quit());
    await promoted.replicaof('NO', 'ONE');
    const keys = ticketStoreKeys(o.prefix);
    for (const id of ids) {
      expect(await promoted.hget(keys.ticket(id), 'state')).toBe('queued');
      const job = `${bullPrefix(o.prefix)}:${TICKET_QUEUE}:${jobIdOf(id)}`;
      expect(await promoted.exists(job)).toBe(1);
    }
    // the app's connections go on trying the dead port: give them a server to close against
    await primary.restart();
  });

  it('refuses when no replica acknowledges in time, and keeps the ticket', async () => {
    const primary = await server();
    const o = await orchestrator({ REDIS_URL: primary.url, REDIS_WAIT_REPLICAS: '1' }, false);
    const ticketId = `nowait-${randomUUID().slice(0, 8)}`;
    const input = { ticketId, biz: 'RPMin', binding: aBinding(await smallJpeg()) };
    const refusal = await o.app.intake.enqueue(input).catch((err: unknown) => err);
    expect(refusal).toBeInstanceOf(StoreUnavailableError);
    expect((refusal as StoreUnavailableError).retryAfterMs).toBeGreaterThan(0);
    // kept: sending it again finds it (and is refused again while no replica answers)
    expect((await o.app.store.get(ticketId))?.state).toBe('queued');
    await expect(o.app.intake.enqueue(input)).rejects.toBeInstanceOf(StoreUnavailableError);
    expect((await o.app.store.get(ticketId))?.version).toBe(0);
  });
});

describe('a worker with REDIS_WAIT_REPLICAS=1', () => {
  it('makes no paid call until a replica holds its submit mark, then submits once', async () => {
    const primary = await server();
    const o = await orchestrator(
      {
        REDIS_URL: primary.url,
        REDIS_WAIT_REPLICAS: '1',
        ENCRYPTION_KEY: randomBytes(32).toString('base64'),
        // a run that finds a mark younger than a call can take waits it out (decide.ts)
        CLOUDAUTH_TIMEOUT_MS: '1000',
      },
      true,
    );
    const ticketId = `mark-${randomUUID().slice(0, 8)}`;
    // intake is refused for want of a replica, but the ticket stands and its job runs
    await expect(
      o.app.intake.enqueue({ ticketId, biz: 'RPMin', binding: aBinding(await smallJpeg()) }),
    ).rejects.toBeInstanceOf(StoreUnavailableError);
    await o.waitFor(ticketId, (t) => t.attempts >= 2 && t.state === 'token_issued');
    const before = await o.app.store.get(ticketId);
    expect(before?.lastError?.code).toBe('STORE_UNAVAILABLE');
    expect(o.emu.cloudauth.counters().SubmitMaterials).toBeUndefined();

    await server(primary);
    const t = await o.waitFor(ticketId, undefined, 30_000);
    expect(t.state).toBe('passed');
    expect(o.emu.cloudauth.counters().SubmitMaterials).toEqual({ ok: 1 });
  }, 45_000);
});
