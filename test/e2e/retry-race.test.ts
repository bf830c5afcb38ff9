/**
 * An operator's retry that lands while the ticket's job is still active: the processor has
 * settled the ticket (marked it failed, or found it expired) and is about to fail or complete the
 * job. A pause point in the processor holds it there while the retry runs; the retry must still
 * lead to a new run, by the worker when the job settles or, when that worker is gone, by the
 * reconciler.
 */
import { Worker, type Job } from 'bullmq';
import { pino } from 'pino';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { StoredTicket } from '../../src/adapters/redis/ticket-store.js';
import {
  TICKET_QUEUE,
  bullPrefix,
  jobIdOf,
  type TicketJobData,
} from '../../src/adapters/bullmq/queues.js';
import type { makeTicketProcessor } from '../../src/flow/ticket-processor.js';
import { type TicketProcessorDeps } from '../../src/flow/ticket-processor.js';
import { TicketReconciler } from '../../src/flow/ticket-reconciler.js';
import { smallJpeg } from '../support/images.js';
import { testProcessor, testWorker } from '../support/processor.js';
import { aBinding, startTestOrchestrator, type TestOrchestrator } from '../support/orchestrator.js';
import { testRedis } from '../support/redis.js';

const logger = pino({ level: 'silent' });

let face: Buffer;
beforeAll(async () => {
  face = await smallJpeg('#7a5a3a');
});

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** Holds the processor at its first settle point of `outcome` until `open()`. */
function pausePoint(outcome: 'failed' | 'completed') {
  let reached!: () => void;
  let open!: () => void;
  const arrived = new Promise<void>((resolve) => (reached = resolve));
  const opened = new Promise<void>((resolve) => (open = resolve));
  let used = false;
  return {
    arrived,
    open,
    hook: async (_ticketId: string, at: 'failed' | 'completed') => {
      if (used || at !== outcome) return;
      used = true;
      reached();
      await opened;
    },
  };
}

async function orchestrator(env: Record<string, string> = {}): Promise<TestOrchestrator> {
  // no workers of the app's own: each test runs its processor with a pause point
  const o = await startTestOrchestrator({ workers: false, env: { JOB_ATTEMPTS: '1', ...env } });
  cleanups.push(() => o.close());
  return o;
}

function jobsOf(o: TestOrchestrator) {
  const q = o.app.config.queue;
  return {
    attempts: q.attempts,
    keepCompletedSeconds: q.keepCompletedSeconds,
    keepFailedSeconds: q.keepFailedSeconds,
  };
}

function processorOf(
  o: TestOrchestrator,
  overrides: Partial<Pick<TicketProcessorDeps, 'beforeSettle' | 'clock' | 'store'>> = {},
) {
  return testProcessor(o, cleanups, overrides);
}

/** The worker as the app runs it (with the re-check of settled jobs). */
function workerOf(o: TestOrchestrator, processor: ReturnType<typeof makeTicketProcessor>) {
  testWorker(o, cleanups, processor, { store: o.app.store, queue: o.app.queue, jobs: jobsOf(o) });
}

async function until<T>(read: () => Promise<T>, ok: (v: T) => boolean, what: string): Promise<T> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const v = await read();
    if (ok(v)) return v;
    if (Date.now() > deadline) throw new Error(`${what}: still ${String(v)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const jobState = (o: TestOrchestrator, ticketId: string) =>
  o.app.queue.getJobState(jobIdOf(ticketId));

describe('a retry while the job is still active', () => {
  it('runs the job again when it fails after the processor marked the ticket failed', async () => {
    const o = await orchestrator();
    const pause = pausePoint('failed');
    workerOf(o, processorOf(o, { beforeSettle: pause.hook }));
    o.emu.cloudauth.setFaults({ GetVerifyToken: { internalErrorRate: 1 } });
    await o.app.intake.enqueue({ ticketId: 'rr-failed', biz: 'RPMin', binding: aBinding(face) });

    await pause.arrived;
    expect(await o.app.store.get('rr-failed')).toMatchObject({ state: 'failed' });
    expect(await jobState(o, 'rr-failed')).toBe('active');
    o.emu.cloudauth.setFaults({});
    const retried = await o.app.operations.retry('rr-failed');
    expect(retried.state).toBe('queued');
    expect(await jobState(o, 'rr-failed')).toBe('active');
    pause.open();

    const t = await o.waitFor('rr-failed');
    expect(t.state).toBe('passed');
    const history = await o.app.store.history('rr-failed');
    expect(history.map((h) => h.event)).toEqual(['failed', 'retried', 'token_issued', 'verdict']);
  });

  it('runs the job again when it completes after the processor found the ticket expired', async () => {
    const o = await orchestrator();
    const pause = pausePoint('completed');
    // the processor's clock jumps past the VerifyToken's end once the person has the page
    let shiftMs = 0;
    workerOf(o, processorOf(o, { beforeSettle: pause.hook, clock: () => Date.now() + shiftMs }));
    const binding = { name: '李三', idNumber: '11010519491231002X', materials: {} };
    await o.app.intake.enqueue({ ticketId: 'rr-expired', biz: 'RPH5BioOnly', binding });
    await o.waitFor('rr-expired', (t) => t.state === 'awaiting_user');
    shiftMs = 31 * 60_000;

    await pause.arrived;
    expect(await o.app.store.get('rr-expired')).toMatchObject({ state: 'expired' });
    expect(await jobState(o, 'rr-expired')).toBe('active');
    shiftMs = 0;
    const retried = await o.app.operations.retry('rr-expired');
    expect(retried.state).toBe('queued');
    pause.open();

    const waiting = await o.waitFor(
      'rr-expired',
      (t: StoredTicket) => t.state === 'awaiting_user' && t.version > retried.version,
    );
    const token = new URL(waiting.lease?.pageUrl ?? '').searchParams.get('token') ?? '';
    const res = await fetch(`${o.emu.cloudauth.url}/h5/verify`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token, outcome: 'complete' }).toString(),
    });
    expect(res.status).toBe(200);
    expect((await o.waitFor('rr-expired')).state).toBe('passed');
    const history = await o.app.store.history('rr-expired');
    expect(history.map((h) => h.to)).toEqual([
      'awaiting_user',
      'expired',
      'queued',
      'awaiting_user',
      'passed',
    ]);
  });

  it('is run again by the reconciler when the worker died before it saw the job fail', async () => {
    const o = await orchestrator();
    const pause = pausePoint('failed');
    // a bare BullMQ worker: it moves the job to failed and nothing more, as a worker process
    // that dies right after BullMQ moved the job would
    const connection = testRedis('worker');
    const bare = new Worker<TicketJobData>(
      TICKET_QUEUE,
      (job: Job<TicketJobData>, token?: string) =>
        processorOf(o, { beforeSettle: pause.hook })(job, token),
      { connection, prefix: bullPrefix(o.prefix) },
    );
    cleanups.push(async () => {
      await bare.close();
      await connection.quit();
    });
    o.emu.cloudauth.setFaults({ GetVerifyToken: { internalErrorRate: 1 } });
    await o.app.intake.enqueue({ ticketId: 'rr-crash', biz: 'RPMin', binding: aBinding(face) });

    await pause.arrived;
    o.emu.cloudauth.setFaults({});
    expect((await o.app.operations.retry('rr-crash')).state).toBe('queued');
    pause.open();
    await until(
      () => jobState(o, 'rr-crash'),
      (s) => s === 'failed',
      'job state',
    );
    await bare.close();
    expect(await o.app.store.get('rr-crash')).toMatchObject({ state: 'queued' });

    const reconciler = new TicketReconciler({
      store: o.app.store,
      lifecycle: o.app.lifecycle,
      queue: o.app.queue,
      redis: o.app.redis,
      prefix: o.prefix,
      jobs: jobsOf(o),
      logger,
    });
    expect(await reconciler.sweep()).toMatchObject({ scanned: 1, rerun: 1, failed: 0 });
    expect(await jobState(o, 'rr-crash')).toBe('waiting');
    expect(await o.app.store.get('rr-crash')).toMatchObject({ state: 'queued' });

    workerOf(o, processorOf(o));
    expect((await o.waitFor('rr-crash')).state).toBe('passed');
    expect(await reconciler.reconcile('rr-crash')).toBe('ok');
  });
});

describe('attempt errors', () => {
  it('records an attempt error again on the fresh version when another writer bumped it first', async () => {
    const o = await orchestrator();
    const concurrent = { code: 'CONCURRENT_WORKER', message: 'x', retryable: true, at: 1 };
    let interposed = false;
    // the real store; another worker's record lands between this run's read and its own record
    const store = new Proxy(o.app.store, {
      get(target, prop, receiver) {
        if (prop === 'recordAttemptError') {
          return async (...args: Parameters<typeof target.recordAttemptError>) => {
            if (!interposed) {
              interposed = true;
              await target.recordAttemptError(args[0], args[1], concurrent);
            }
            return target.recordAttemptError(...args);
          };
        }
        const value: unknown = Reflect.get(target, prop, receiver);
        return typeof value === 'function' ? (value as () => unknown).bind(target) : value;
      },
    });
    workerOf(o, processorOf(o, { store }));
    o.emu.cloudauth.setFaults({ GetVerifyToken: { internalErrorRate: 1 } });
    await o.app.intake.enqueue({ ticketId: 'ae-cas', biz: 'RPMin', binding: aBinding(face) });
    const t = await o.waitFor('ae-cas');
    expect(interposed).toBe(true);
    expect(t).toMatchObject({ state: 'failed', attempts: 2 });
    expect(t.lastError?.code).not.toBe('CONCURRENT_WORKER');
    // two recorded errors and one transition
    expect(t.version).toBe(3);
    expect((await o.app.store.history('ae-cas')).map((h) => h.event)).toEqual(['failed']);
  });

  it('sends the page URL webhook once, whatever errors were recorded while the person was away', async () => {
    const o = await orchestrator({ JOB_ATTEMPTS: '30' });
    workerOf(o, processorOf(o));
    const binding = { name: '李三', idNumber: '11010519491231002X', materials: {} };
    await o.app.intake.enqueue({
      ticketId: 'ae-h5',
      biz: 'RPH5BioOnly',
      binding,
      callbackUrl: 'https://biz.example.test/hook',
    });
    const entered = await o.waitFor('ae-h5', (t) => t.state === 'awaiting_user');
    o.emu.cloudauth.setFaults({ GetStatus: { internalErrorRate: 1 } });
    await o.waitFor('ae-h5', (t) => t.attempts >= 2);
    const okBefore = o.emu.cloudauth.counters().GetStatus?.ok ?? 0;
    o.emu.cloudauth.setFaults({});
    // a run after the errors has started (it re-publishes the state's event first)
    await until(
      () => Promise.resolve(o.emu.cloudauth.counters().GetStatus?.ok ?? 0),
      (n) => n > okBefore,
      'GetStatus ok',
    );
    const waiting = await o.app.store.get('ae-h5');
    expect(waiting?.version).toBeGreaterThan(entered.version);

    const events = (await o.app.webhookQueue.getJobs(['waiting', 'delayed', 'active', 'failed']))
      .filter((j) => j.data.event.ticketId === 'ae-h5')
      .map((j) => j.data.event);
    expect(events.map((e) => [e.type, e.version])).toEqual([
      ['ticket.token_issued', entered.version],
    ]);
  });
});
