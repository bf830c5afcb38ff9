/**
 * `GET /v1/ops/overview` against real Redis, the emulators and workers: real tickets finish, two
 * GetVerifyToken calls are answered Throttling (the emulator's fault, drawn from a fixed
 * sequence), and the overview's counts are checked against the tickets' states and the
 * emulator's own call counters. Then, with no workers, the queue's waiting jobs and a batch's time
 * left at the configured QPS.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { overviewSchema, type OverviewView } from '../../src/api/ui/overview-route.js';
import { smallJpeg } from '../support/images.js';
import { waitFor } from '../../testkit/waiting.js';
import {
  aBinding,
  startTestOrchestrator,
  TEST_BIZ,
  type TestOrchestrator,
} from '../support/orchestrator.js';

const TOKEN = 'ops-overview-token-0123456789abcdef';
const total = (values: readonly number[]) => values.reduce((a, b) => a + b, 0);

async function overviewOf(o: TestOrchestrator, token = TOKEN): Promise<Response> {
  return fetch(`${o.app.apiUrl ?? ''}/v1/ops/overview`, {
    headers: { authorization: `Bearer ${token}` },
  });
}

async function read(o: TestOrchestrator): Promise<OverviewView> {
  const res = await overviewOf(o);
  expect(res.status).toBe(200);
  return overviewSchema.parse(await res.json());
}

/** Calls the emulator received per action, whatever it answered. */
function emulatorCalls(o: TestOrchestrator): Record<string, number> {
  const counters = o.emu.cloudauth.counters();
  return Object.fromEntries(
    Object.entries(counters).map(([action, outcomes]) => [action, total(Object.values(outcomes))]),
  );
}

describe('GET /v1/ops/overview with workers', () => {
  let o: TestOrchestrator;
  let face: Buffer;
  const PASSING = ['ov-1', 'ov-2', 'ov-3'];

  beforeAll(async () => {
    face = await smallJpeg('#7a6b5e');
    // the emulator draws one number per GetVerifyToken call: the first two are throttled
    let draws = 0;
    o = await startTestOrchestrator({
      http: true,
      emulator: {
        faults: { GetVerifyToken: { throttleRate: 0.5 } },
        random: () => (draws++ < 2 ? 0 : 0.99),
      },
      env: {
        API_TOKENS: TOKEN,
        CLOUDAUTH_BIZ: `${TEST_BIZ},Ghost=RPMin`,
        // GetStatus has no limit: its calls skip the limiter and are not counted
        CLOUDAUTH_QPS: 'GetVerifyToken=40,SubmitMaterials=40',
      },
    });
    const enqueue = (ticketId: string, biz: string, batchId: string, name?: string) =>
      o.app.intake.enqueue({ ticketId, biz, batchId, binding: aBinding(face, name) });
    for (const id of PASSING) await enqueue(id, 'RPMin', 'ov-batch');
    await enqueue('ov-reject', 'RPMin', 'ov-batch', '拒绝');
    await enqueue('ov-ghost', 'Ghost', 'ov-ghost-batch');
    for (const id of [...PASSING, 'ov-reject', 'ov-ghost']) await o.waitFor(id);
  }, 60_000);

  afterAll(async () => {
    await o?.close();
  });

  it('is authenticated, and described in the OpenAPI document', async () => {
    expect((await overviewOf(o, 'wrong-token-0123456789abcdef')).status).toBe(401);
    const doc = (await (await fetch(`${o.app.apiUrl ?? ''}/openapi.json`)).json()) as {
      paths: Record<string, { get?: { operationId?: string } }>;
    };
    expect(doc.paths['/v1/ops/overview']?.get?.operationId).toBe('getOpsOverview');
  });

  it('counts the finished tickets per minute by outcome', async () => {
    const view = await read(o);
    expect(view.finished.byOutcome.passed).toHaveLength(60);
    const sums = Object.fromEntries(
      Object.entries(view.finished.byOutcome).map(([state, s]) => [state, total(s)]),
    );
    expect(sums).toEqual({ passed: 3, not_passed: 1, expired: 0, failed: 1, cancelled: 0 });
    expect(Date.parse(view.finished.start)).toBe(
      (Math.floor(Date.parse(view.at) / 60_000) - 59) * 60_000,
    );
  });

  it('counts the provider calls per second of the limited actions, as the emulator saw them', async () => {
    const view = await read(o);
    const calls = emulatorCalls(o);
    const byAction = Object.fromEntries(view.calls.actions.map((a) => [a.action, a]));
    expect(byAction.GetVerifyToken).toMatchObject({ qps: 40, counted: true });
    expect(byAction.SubmitMaterials).toMatchObject({ qps: 40, counted: true });
    expect(byAction.GetVerifyToken?.perSecond).toHaveLength(300);
    // every call left in a slot, throttled ones too: 5 tickets' first calls and 2 retries
    expect(calls.GetVerifyToken).toBe(7);
    expect(total(byAction.GetVerifyToken?.perSecond ?? [])).toBe(calls.GetVerifyToken);
    expect(total(byAction.SubmitMaterials?.perSecond ?? [])).toBe(calls.SubmitMaterials);
    expect(calls.SubmitMaterials).toBe(4);
    // GetStatus has no limit: charted, as not counted
    expect(byAction.GetStatus).toMatchObject({ qps: 0, counted: false });
    expect(total(byAction.GetStatus?.perSecond ?? [])).toBe(0);
  });

  it('counts the Throttling answers and the retried attempts per minute', async () => {
    const view = await read(o);
    expect(o.emu.cloudauth.counters().GetVerifyToken?.['Throttling.User']).toBe(2);
    expect(total(view.troubles.throttled)).toBe(2);
    expect(total(view.troubles.throttledBy.GetVerifyToken ?? [])).toBe(2);
    expect(total(view.troubles.retried)).toBe(2);
    expect(view.troubles.retried).toHaveLength(60);
  });

  it('lists the batches, newest first, with their progress; the queue is empty', async () => {
    const view = await read(o);
    expect(view.batches.map((b) => b.batchId)).toEqual(['ov-ghost-batch', 'ov-batch']);
    expect(view.batches[1]).toMatchObject({
      total: 4,
      finished: 4,
      failed: 0,
      byState: { passed: 3, not_passed: 1 },
      eta: { kind: 'done', seconds: 0 },
    });
    expect(view.batches[0]).toMatchObject({ total: 1, finished: 1, failed: 1 });
    expect(view.queue).toMatchObject({ waiting: 0, oldestWaitingMs: null });
  });
});

describe('GET /v1/ops/overview with tickets waiting for a worker', () => {
  let o: TestOrchestrator;

  beforeAll(async () => {
    o = await startTestOrchestrator({
      http: true,
      workers: false,
      env: { API_TOKENS: TOKEN, CLOUDAUTH_QPS: 'GetVerifyToken=4,SubmitMaterials=2' },
    });
  });

  afterAll(async () => {
    await o?.close();
  });

  it('tells how long the job next in line has waited, and a batch its time left at the QPS', async () => {
    const face = await smallJpeg('#6a5b4e');
    const enqueue = (ticketId: string) =>
      o.app.intake.enqueue({
        ticketId,
        biz: 'RPMin',
        batchId: 'eta-batch',
        binding: aBinding(face),
      });
    await enqueue('wait-1');
    const firstAdded = Date.now();
    // the first job is the oldest by a margin the answer must show
    await waitFor(
      'a quarter second',
      () => Promise.resolve(Date.now()),
      (t) => t - firstAdded >= 250,
      { timeoutMs: 2_000, everyMs: 20 },
    );
    await enqueue('wait-2');
    await enqueue('wait-3');
    const asked = Date.now();
    const view = await read(o);
    expect(view.queue.waiting).toBe(3);
    expect(view.queue.oldestWaitingMs).toBeGreaterThanOrEqual(asked - firstAdded - 5);
    expect(view.queue.oldestWaitingMs).toBeGreaterThanOrEqual(250);
    // 3 queued RPMin tickets: 3 SubmitMaterials at 2 QPS, 3 % headroom: 1.55 s, the bottleneck
    expect(view.batches).toEqual([
      expect.objectContaining({
        batchId: 'eta-batch',
        total: 3,
        finished: 0,
        failed: 0,
        eta: { kind: 'limited', seconds: 2, action: 'SubmitMaterials', qps: 2 },
      }),
    ]);
    expect(total(view.finished.byOutcome.passed ?? [])).toBe(0);
  });
});
