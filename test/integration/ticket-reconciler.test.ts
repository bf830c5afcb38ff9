import { UnrecoverableError, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { TICKET_QUEUE, bullPrefix, jobIdOf } from '../../src/queue/queues.js';
import {
  STALLED_OUT,
  TicketReconciler,
  UNFINISHED_STATES,
} from '../../src/queue/ticket-reconciler.js';
import type { TicketStore } from '../../src/store/ticket-store.js';
import { smallJpeg } from '../support/images.js';
import { aBinding, startTestOrchestrator, type TestOrchestrator } from '../support/orchestrator.js';

let face: Buffer;
beforeAll(async () => {
  face = await smallJpeg('#8a6b4e');
});

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function orchestrator(): Promise<TestOrchestrator> {
  const o = await startTestOrchestrator({ workers: false });
  cleanups.push(() => o.close());
  return o;
}

function reconcilerOf(o: TestOrchestrator, store: TicketStore = o.app.store): TicketReconciler {
  const { app } = o;
  return new TicketReconciler({
    store,
    lifecycle: app.lifecycle,
    queue: app.queue,
    redis: app.redis,
    prefix: o.prefix,
    jobs: { attempts: 3, keepCompletedSeconds: 3600, keepFailedSeconds: 3600 },
    logger: pino({ level: 'silent' }),
    pageSize: 2,
  });
}

describe('TicketReconciler', () => {
  it('adds the job again for an unfinished ticket that has none, once', async () => {
    const o = await orchestrator();
    for (const id of ['r-1', 'r-2', 'r-3']) {
      await o.app.intake.enqueue({ ticketId: id, biz: 'RPMin', binding: aBinding(face) });
    }
    // a Redis restored from a cut-short AOF, or a crash between the two writes: the jobs are gone
    await (await o.app.queue.getJob(jobIdOf('r-1')))?.remove();
    await (await o.app.queue.getJob(jobIdOf('r-3')))?.remove();

    const first = await reconcilerOf(o).sweep();
    expect(first).toEqual({ scanned: 3, readded: 2, failed: 0, anomalies: 0 });
    for (const id of ['r-1', 'r-2', 'r-3']) {
      expect(await o.app.queue.getJobState(jobIdOf(id))).toBe('waiting');
    }
    expect(await reconcilerOf(o).sweep()).toEqual({
      scanned: 3,
      readded: 0,
      failed: 0,
      anomalies: 0,
    });
  });

  it('fails the ticket of a job that failed outside the processor, with the reason', async () => {
    const o = await orchestrator();
    await o.app.intake.enqueue({ ticketId: 'r-dead', biz: 'RPMin', binding: aBinding(face) });
    // a job failed without the processor recording it on the ticket
    const connection = new Redis(inject('redisUrl'), { maxRetriesPerRequest: null });
    const worker = new Worker(
      TICKET_QUEUE,
      () => Promise.reject(new UnrecoverableError('job stalled more than allowable limit')),
      { connection, prefix: bullPrefix(o.prefix) },
    );
    const failed = new Promise<void>((resolve) => worker.once('failed', () => resolve()));
    await failed;
    await worker.close();
    connection.disconnect();
    expect(await o.app.store.get('r-dead')).toMatchObject({ state: 'queued' });

    expect(await reconcilerOf(o).reconcile('r-dead')).toBe('failed');
    const t = await o.app.store.get('r-dead');
    expect(t?.state).toBe('failed');
    expect(t?.lastError).toMatchObject({
      code: 'JOB_FAILED',
      message: 'the job stalled more than the limit: the workers holding it kept stopping',
      retryable: false,
    });
    expect(await reconcilerOf(o).reconcile('r-dead')).toBe('ok');
    // an operator's retry moves the ticket to queued before it retries the job: in that gap the
    // failed job is older than the ticket's last transition and must not fail it again
    const failedTicket = await o.app.store.get('r-dead');
    if (!failedTicket) throw new Error('ticket vanished');
    expect(await o.app.lifecycle.advance(failedTicket, { type: 'retried' })).toBe('applied');
    expect(await o.app.queue.getJobState(jobIdOf('r-dead'))).toBe('failed');
    expect(await reconcilerOf(o).reconcile('r-dead')).toBe('ok');
    expect(await o.app.store.get('r-dead')).toMatchObject({ state: 'queued' });
    // the rest of the operator's retry runs the job again
    await (await o.app.queue.getJob(jobIdOf('r-dead')))?.retry('failed');
    expect(await o.app.queue.getJobState(jobIdOf('r-dead'))).toBe('waiting');
  });

  it('leaves finished tickets and healthy jobs alone', async () => {
    const o = await orchestrator();
    await o.app.intake.enqueue({ ticketId: 'r-ok', biz: 'RPMin', binding: aBinding(face) });
    await o.app.operations.cancel('r-ok');
    await (await o.app.queue.getJob(jobIdOf('r-ok')))?.remove();
    expect(await reconcilerOf(o).reconcile('r-ok')).toBe('ok');
    expect(await o.app.queue.getJobState(jobIdOf('r-ok'))).toBe('unknown');
    expect(await reconcilerOf(o).reconcile('r-never-seen')).toBe('ok');
  });

  it('sweeps in one process per round (a lock in Redis)', async () => {
    const o = await orchestrator();
    await o.app.intake.enqueue({ ticketId: 'r-lock', biz: 'RPMin', binding: aBinding(face) });
    await (await o.app.queue.getJob(jobIdOf('r-lock')))?.remove();
    // the real store, counting the listing calls a sweep makes (one per unfinished state here)
    let listings = 0;
    const counting = new Proxy(o.app.store, {
      get(target, prop, receiver) {
        if (prop === 'list') {
          return (...args: Parameters<TicketStore['list']>) => {
            listings++;
            return target.list(...args);
          };
        }
        const value: unknown = Reflect.get(target, prop, receiver);
        return typeof value === 'function' ? (value as () => unknown).bind(target) : value;
      },
    });
    const a = reconcilerOf(o, counting);
    const b = reconcilerOf(o, counting);
    a.start(60_000);
    b.start(60_000);
    await a.stop();
    await b.stop();
    expect(listings).toBe(UNFINISHED_STATES.length);
    expect(await o.app.queue.getJobState(jobIdOf('r-lock'))).toBe('waiting');
    expect(await o.app.redis.pttl(`${o.prefix}:reconcile:lock`)).toBeGreaterThan(0);
  });

  it('recognises BullMQ stalled-out failures', () => {
    expect(STALLED_OUT.test('job stalled more than allowable limit')).toBe(true);
    expect(STALLED_OUT.test('PROVIDER_INTERNAL: boom')).toBe(false);
  });
});
