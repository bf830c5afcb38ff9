import { UnrecoverableError, Worker, type Job } from 'bullmq';
import { pino } from 'pino';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { TICKET_QUEUE, bullPrefix, jobIdOf } from '../../src/adapters/bullmq/queues.js';
import {
  STALLED_OUT,
  TicketReconciler,
  UNFINISHED_STATES,
} from '../../src/flow/ticket-reconciler.js';
import type { TicketStore } from '../../src/adapters/redis/ticket-store.js';
import { smallJpeg } from '../support/images.js';
import { aBinding, startTestOrchestrator, type TestOrchestrator } from '../support/orchestrator.js';
import { testRedis } from '../support/redis.js';
import { waitUntil } from '../../testkit/waiting.js';

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
    expect(first).toEqual({ scanned: 3, readded: 2, failed: 0, rerun: 0, anomalies: 0 });
    for (const id of ['r-1', 'r-2', 'r-3']) {
      expect(await o.app.queue.getJobState(jobIdOf(id))).toBe('waiting');
    }
    expect(await reconcilerOf(o).sweep()).toEqual({
      scanned: 3,
      readded: 0,
      failed: 0,
      rerun: 0,
      anomalies: 0,
    });
  });

  it('fails the ticket of a job that failed outside the processor, with the reason', async () => {
    const o = await orchestrator();
    await o.app.intake.enqueue({ ticketId: 'r-dead', biz: 'RPMin', binding: aBinding(face) });
    // a job failed without the processor recording it on the ticket
    const connection = testRedis('worker');
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
    // an operator's retry moves the ticket to queued before it re-runs the job: when it stops in
    // that gap, the failed job is older than the ticket's last transition; it must not fail the
    // ticket again but run again
    const failedTicket = await o.app.store.get('r-dead');
    if (!failedTicket) throw new Error('ticket vanished');
    expect((await o.app.lifecycle.advance(failedTicket, { type: 'retried' })).result).toBe(
      'applied',
    );
    expect(await o.app.queue.getJobState(jobIdOf('r-dead'))).toBe('failed');
    expect(await reconcilerOf(o).reconcile('r-dead')).toBe('rerun');
    expect(await o.app.store.get('r-dead')).toMatchObject({ state: 'queued' });
    expect(await o.app.queue.getJobState(jobIdOf('r-dead'))).toBe('waiting');
    expect(await reconcilerOf(o).reconcile('r-dead')).toBe('ok');
  });

  it('fails a retried ticket whose later run failed without recording it, and re-runs a completed job', async () => {
    const o = await orchestrator();
    const error = { code: 'PROVIDER_INTERNAL', message: 'boom', retryable: true, at: Date.now() };
    for (const id of ['r-again', 'r-done']) {
      await o.app.intake.enqueue({ ticketId: id, biz: 'RPMin', binding: aBinding(face) });
      const t = await o.app.store.get(id);
      if (!t) throw new Error('ticket vanished');
      expect((await o.app.lifecycle.advance(t, { type: 'failed', error })).result).toBe('applied');
    }
    // r-again is retried before its job's next attempt starts (a millisecond later at least)
    const failed = await o.app.store.get('r-again');
    if (!failed) throw new Error('ticket vanished');
    expect((await o.app.lifecycle.advance(failed, { type: 'retried' })).result).toBe('applied');
    const retriedAt = (await o.app.store.get('r-again'))?.updatedAt ?? 0;
    await waitUntil('the clock past the retry', () => Date.now() > retriedAt, { everyMs: 1 });

    // r-again's attempt fails without a word on the ticket; r-done's job completes on the failed
    // ticket
    const connection = testRedis('worker');
    const worker = new Worker(
      TICKET_QUEUE,
      (job: Job<{ ticketId: string }>) =>
        job.data.ticketId === 'r-again'
          ? Promise.reject(new UnrecoverableError('thrown without recording it on the ticket'))
          : Promise.resolve('failed'),
      { connection, prefix: bullPrefix(o.prefix), concurrency: 2 },
    );
    const settled = new Set<string>();
    await new Promise<void>((resolve) => {
      const seen = (job: Job<{ ticketId: string }> | undefined) => {
        if (job) settled.add(job.data.ticketId);
        if (settled.size === 2) resolve();
      };
      worker.on('failed', seen);
      worker.on('completed', seen);
    });
    await worker.close();
    connection.disconnect();

    // the retry came before the attempt started: the attempt's silent failure fails the ticket
    expect(await reconcilerOf(o).reconcile('r-again')).toBe('failed');
    expect(await o.app.store.get('r-again')).toMatchObject({
      state: 'failed',
      lastError: { code: 'JOB_FAILED' },
    });

    // r-done is retried after its job completed (an operator's retry cut short before the job)
    const done = await o.app.store.get('r-done');
    if (!done) throw new Error('ticket vanished');
    expect((await o.app.lifecycle.advance(done, { type: 'retried' })).result).toBe('applied');
    expect(await o.app.queue.getJobState(jobIdOf('r-done'))).toBe('completed');
    expect(await reconcilerOf(o).reconcile('r-done')).toBe('rerun');
    expect(await o.app.queue.getJobState(jobIdOf('r-done'))).toBe('waiting');
    expect(await o.app.store.get('r-done')).toMatchObject({ state: 'queued' });
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
