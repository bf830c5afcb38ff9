/**
 * A worker dies between any two steps of a ticket's run, and the ticket still ends right, billed
 * once. Each case kills the run at one port call of the executor (before it, or after it with its
 * answer lost), the way a process dies: no error handling runs, the job's lock runs out, and a
 * healthy worker recovers the job as stalled and finishes it from what the store and the provider
 * hold. The calls are those of a clean run of the same flow, found first, so a new step of the
 * executor is covered without editing this file.
 */
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startTicketWorker } from '../../src/adapters/bullmq/ticket-worker.js';
import type { StoredTicket } from '../../src/adapters/redis/ticket-store.js';
import { mortalWorker, recordingPorts, type CrashPlan } from '../support/crash.js';
import { smallJpeg } from '../support/images.js';
import {
  aBinding,
  isOneChain,
  startTestOrchestrator,
  type TestOrchestrator,
} from '../support/orchestrator.js';
import { providerOf, testProcessor, type Cleanups } from '../support/processor.js';

const cleanups: Cleanups = [];
let o: TestOrchestrator;
let face: Buffer;

beforeAll(async () => {
  face = await smallJpeg('#5a4032');
  o = await startTestOrchestrator({
    workers: false,
    emulator: { reviewNames: ['审核'], reviewMs: 300 },
  });
});

afterAll(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  await o.close();
});

/**
 * A healthy worker, started once the dying one is gone (so that every new ticket is the dying
 * worker's), finds the dead worker's job when its lock has run out and finishes the ticket.
 */
async function recovered(ticketId: string): Promise<StoredTicket> {
  const connection = new Redis(inject('redisUrl'), { maxRetriesPerRequest: null });
  const healthy = startTicketWorker({
    connection,
    prefix: o.prefix,
    processor: testProcessor(o, cleanups),
    concurrency: 1,
    lockDurationMs: 30_000,
    stalledIntervalMs: 200,
    backoff: { baseMs: 50, capMs: 400 },
    logger: pino({ level: 'silent' }),
  });
  try {
    return await o.waitFor(ticketId);
  } finally {
    await healthy.close(5000);
    await connection.quit();
  }
}

/** The emulator's count of answered SubmitMaterials so far (the bill). */
const billed = () => o.emu.cloudauth.counters().SubmitMaterials?.ok ?? 0;

/** Runs one ticket on a worker whose ports record every call; `plan` kills it at one of them. */
async function runWith(ticketId: string, name: string, plan?: CrashPlan) {
  const recording = recordingPorts(
    { provider: providerOf(o, cleanups), store: o.app.store, lifecycle: o.app.lifecycle },
    plan,
  );
  const worker = mortalWorker(o.prefix, testProcessor(o, cleanups, recording.ports));
  await o.app.intake.enqueue({ ticketId, biz: 'RPMin', binding: aBinding(face, name) });
  return { recording, worker };
}

/** The port calls of a clean run of the flow (a ticket under `name`). */
async function cleanRun(ticketId: string, name: string): Promise<string[]> {
  const { recording, worker } = await runWith(ticketId, name);
  const t = await o.waitFor(ticketId);
  await worker.stop();
  expect(t.state).toBe('passed');
  return [...recording.calls];
}

const flows = [
  { flow: 'verdict at once', name: '李三' },
  { flow: 'under review (submitted, then status checks)', name: '审核' },
];

describe.each(flows)('a worker dies at any port call: $flow', ({ flow, name }) => {
  it('ends passed with one SubmitMaterials, whichever call it died at', async () => {
    const tag = flow === flows[0]?.flow ? 'now' : 'review';
    const calls = await cleanRun(`clean-${tag}`, name);
    // the flow's steps are all there: a token, the materials staged, the submission, the verdict
    expect(calls).toEqual(
      expect.arrayContaining([
        'provider.start',
        'lifecycle.advance(token_issued)',
        'provider.stage',
        'store.markSubmitStarted',
        'provider.submit',
        'lifecycle.advance(verdict)',
      ]),
    );
    // each kind of call once, at its first occurrence (how many status checks a review takes
    // depends on timing; the first is always there)
    const points = [...new Set(calls)];
    for (const [i, call] of points.entries()) {
      for (const at of ['before', 'after'] as const) {
        const ticketId = `crash-${tag}-${i}-${at}`;
        const what = `${ticketId} (${at} ${call})`;
        const bill = billed();
        if (process.env.CRASH_DEBUG) console.error(new Date().toISOString(), what);
        const { recording, worker } = await runWith(ticketId, name, { call, at });
        expect(await recording.died, what).toBe(call);
        await worker.kill();

        const t = await recovered(ticketId);
        expect(t.state, what).toBe('passed');
        expect(billed() - bill, `${what}: SubmitMaterials billed`).toBe(1);
        const history = await o.app.store.history(ticketId);
        expect(history, what).toSatisfy(isOneChain);
        expect(history.at(-1)?.to, what).toBe('passed');
      }
    }
  }, 180_000);
});
