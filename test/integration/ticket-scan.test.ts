/**
 * The reconciler's walk over the tickets' hashes: it finds what the sweep of the indexes cannot
 * see (a ticket written without index entries or job, as a full Redis used to leave behind; a
 * finished ticket without an expiry), in rounds of bounded size whose cursor any process
 * continues.
 */
import { pino } from 'pino';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isTerminal } from '../../src/domain/ticket.js';
import { jobIdOf } from '../../src/adapters/bullmq/queues.js';
import { TicketReconciler } from '../../src/flow/ticket-reconciler.js';
import { SCAN_MIN_AGE_MS, scanCursorKey } from '../../src/flow/ticket-scan.js';
import { ticketStoreKeys, type TicketStore } from '../../src/adapters/redis/ticket-store.js';
import { smallJpeg } from '../support/images.js';
import { aBinding, startTestOrchestrator, type TestOrchestrator } from '../support/orchestrator.js';

let face: Buffer;
beforeAll(async () => {
  face = await smallJpeg('#6b8a4e');
});

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function orchestrator(workers: boolean): Promise<TestOrchestrator> {
  const o = await startTestOrchestrator({ workers, env: { RECONCILE_INTERVAL_SECONDS: '0' } });
  cleanups.push(() => o.close());
  return o;
}

/** A reconciler whose clock is past the walk's grace for young tickets. */
function reconcilerOf(
  o: TestOrchestrator,
  scanKeysPerRound: number,
  store: TicketStore = o.app.store,
): TicketReconciler {
  return new TicketReconciler({
    store,
    lifecycle: o.app.lifecycle,
    queue: o.app.queue,
    redis: o.app.redis,
    prefix: o.prefix,
    jobs: { attempts: 3, keepCompletedSeconds: 3600, keepFailedSeconds: 3600 },
    logger: pino({ level: 'silent' }),
    scanKeysPerRound,
    clock: () => Date.now() + 2 * SCAN_MIN_AGE_MS,
  });
}

/** A ticket as a full Redis left it: its hash only, without index entries and without a job. */
async function orphan(o: TestOrchestrator, ticketId: string, batchId?: string): Promise<void> {
  await o.app.store.create({
    ticketId,
    biz: 'RPMin',
    flow: 'server',
    binding: aBinding(face),
    payloadHash: 'h',
    ...(batchId === undefined ? {} : { batchId }),
  });
  const keys = ticketStoreKeys(o.prefix);
  await o.app.redis.zrem(keys.all, ticketId);
  await o.app.redis.zrem(keys.state('queued'), ticketId);
  if (batchId !== undefined) await o.app.redis.zrem(keys.batch(batchId), ticketId);
}

describe('the reconciler walk over the tickets', () => {
  it('finds a ticket with no index entry and no job, indexes and queues it, and it is verified', async () => {
    const o = await orchestrator(true);
    await orphan(o, 'scan-orphan', 'scan-batch');
    // the sweep of the indexes cannot see it
    const swept = await reconcilerOf(o, 0).sweep();
    expect(swept).toMatchObject({ scanned: 0, readded: 0 });
    expect(await o.app.queue.getJobState(jobIdOf('scan-orphan'))).toBe('unknown');

    const report = await reconcilerOf(o, 1_000_000).scanRound();
    expect(report).toEqual({
      tickets: 1,
      reindexed: 1,
      readded: 1,
      expiring: 0,
      passComplete: true,
    });
    const t = await o.waitFor('scan-orphan');
    expect(t.state).toBe('passed');
    const keys = ticketStoreKeys(o.prefix);
    expect(await o.app.redis.zscore(keys.all, 'scan-orphan')).toBe(String(t.createdAt));
    expect(await o.app.redis.zscore(keys.batch('scan-batch'), 'scan-orphan')).toBe(
      String(t.createdAt),
    );
    expect(await o.app.redis.ttl(keys.ticket('scan-orphan'))).toBeGreaterThan(0);
    expect((await o.app.store.list({ batchId: 'scan-batch', limit: 10 })).tickets).toHaveLength(1);
  });

  it('leaves tickets younger than a minute to their intake, and gives a finished ticket without an expiry the rest of its retention', async () => {
    const o = await orchestrator(false);
    await o.app.intake.enqueue({ ticketId: 'scan-done', biz: 'RPMin', binding: aBinding(face) });
    await o.app.operations.cancel('scan-done');
    const keys = ticketStoreKeys(o.prefix);
    await o.app.redis.persist(keys.ticket('scan-done'));
    await o.app.redis.persist(keys.history('scan-done'));
    await orphan(o, 'scan-young');

    // at the time of their writes both tickets are younger than the walk's grace: left alone
    const now = new TicketReconciler({
      store: o.app.store,
      lifecycle: o.app.lifecycle,
      queue: o.app.queue,
      redis: o.app.redis,
      prefix: o.prefix,
      jobs: { attempts: 3, keepCompletedSeconds: 3600, keepFailedSeconds: 3600 },
      logger: pino({ level: 'silent' }),
      scanKeysPerRound: 1_000_000,
    });
    expect(await now.scanRound()).toMatchObject({ tickets: 0, reindexed: 0, expiring: 0 });
    expect(await o.app.redis.ttl(keys.ticket('scan-done'))).toBe(-1);

    const later = reconcilerOf(o, 1_000_000);
    expect(await later.scanRound()).toMatchObject({
      tickets: 2,
      reindexed: 1,
      readded: 1,
      expiring: 1,
    });
    const retention = o.app.config.store.retentionSeconds;
    for (const key of [keys.ticket('scan-done'), keys.history('scan-done')]) {
      const ttl = await o.app.redis.ttl(key);
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(retention);
    }
    const done = await o.app.store.get('scan-done');
    expect(done && isTerminal(done.state)).toBe(true);
    expect(await o.app.redis.zscore(keys.state('queued'), 'scan-young')).not.toBeNull();
    expect(await o.app.queue.getJobState(jobIdOf('scan-young'))).toBe('waiting');
    // a second walk finds nothing left to repair
    expect(await later.scanRound()).toMatchObject({ reindexed: 0, readded: 0, expiring: 0 });
  });

  it('walks in bounded rounds, and the next round, in any process, goes on from the cursor in Redis', async () => {
    const o = await orchestrator(false);
    for (const id of ['scan-a', 'scan-b', 'scan-c']) await orphan(o, id);
    const cursors: string[] = [];
    const recording = new Proxy(o.app.store, {
      get(target, prop, receiver) {
        if (prop === 'scanTickets') {
          return (cursor: string, count: number) => {
            cursors.push(cursor);
            return target.scanTickets(cursor, count);
          };
        }
        const value: unknown = Reflect.get(target, prop, receiver);
        return typeof value === 'function' ? (value as () => unknown).bind(target) : value;
      },
    });
    // one key a round: the shared Redis holds many more keys, so the walk is never done in one
    const first = await reconcilerOf(o, 1, recording).scanRound();
    expect(first.passComplete).toBe(false);
    expect(cursors).toEqual(['0']);
    const saved = await o.app.redis.get(scanCursorKey(o.prefix));
    expect(saved).not.toBe('0');
    const second = await reconcilerOf(o, 1, recording).scanRound();
    expect(cursors).toEqual(['0', saved]);

    // rounds large enough go through the rest of the keyspace; the walk then starts over
    let found = first.reindexed + second.reindexed;
    for (let round = 0; round < 1000; round++) {
      const report = await reconcilerOf(o, 100_000).scanRound();
      found += report.reindexed;
      if (report.passComplete) break;
    }
    expect(await o.app.redis.get(scanCursorKey(o.prefix))).toBe('0');
    expect(found).toBe(3);
    for (const id of ['scan-a', 'scan-b', 'scan-c']) {
      expect(await o.app.redis.zscore(ticketStoreKeys(o.prefix).all, id)).not.toBeNull();
      expect(await o.app.queue.getJobState(jobIdOf(id))).toBe('waiting');
    }
  });
});
