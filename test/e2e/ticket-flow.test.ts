/**
 * The ticket flow end to end: real Redis, real BullMQ workers in process, the real pop-core and
 * ali-oss clients against both emulators.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { smallJpeg } from '../support/images.js';
import { ticketStoreKeys } from '../../src/adapters/redis/ticket-store.js';
import { TEST_KEY_ID } from '../support/emulator.js';
import { waitUntil } from '../../testkit/waiting.js';
import {
  aBinding,
  isOneChain,
  startTestOrchestrator,
  type TestOrchestrator,
} from '../support/orchestrator.js';

let o: TestOrchestrator;
let face: Buffer;

beforeAll(async () => {
  face = await smallJpeg('#8a6b4e');
  o = await startTestOrchestrator({
    emulator: { tokenSeconds: 3, reviewNames: ['审核'], reviewMs: 600 },
  });
});
afterAll(async () => {
  await o.close();
});

describe('server flow (RPMin)', () => {
  it('passes a valid applicant: token, upload, SubmitMaterials, and no GetMaterials', async () => {
    o.emu.cloudauth.resetCounters();
    await o.app.intake.enqueue({ ticketId: 's-pass', biz: 'RPMin', binding: aBinding(face) });
    const t = await o.waitFor('s-pass');
    expect(t.state).toBe('passed');
    // embedded mode (the emulator's endpoint): the verdict is marked
    expect(t.verdict).toMatchObject({
      statusCode: 1,
      similarityScore: expect.any(Number),
      emulated: true,
    });
    const history = await o.app.store.history('s-pass');
    expect(history.map((h) => `${h.from}>${h.to}`)).toEqual([
      'queued>token_issued',
      'token_issued>passed',
    ]);
    // what Cloudauth recorded of the person is neither fetched nor kept: the hash has no
    // providerMaterials field (an earlier version's); the applicant's data goes right after the
    // verdict is written
    await o.waitFor('s-pass', (x) => x.erasedAt !== undefined);
    const fields = await o.app.redis.hkeys(ticketStoreKeys(o.prefix).ticket('s-pass'));
    expect(fields).toEqual(expect.arrayContaining(['state', 'verdict']));
    expect(fields).not.toContain('providerMaterials');
    // nor its lease (VerifyToken, STS secret) once it ended, nor the applicant (erased on arrival)
    expect(fields).not.toContain('lease');
    expect(fields).not.toContain('binding');
    // its job keeps no retention options of its own (the worker applies them): every value of
    // the job's hash fits a compact hash, a third of the memory of a full one
    const jobKey = `{${o.prefix}:q}:tickets:t-s-pass`;
    await waitUntil(
      'the job completed',
      async () => (await o.app.queue.getJobState('t-s-pass')) === 'completed',
      { timeoutMs: 5000, everyMs: 20 },
    );
    expect(await o.app.redis.object('ENCODING', jobKey)).toBe('listpack');
    // one ticket since the counters were cleared: one SubmitMaterials answered (billed) and no
    // GetMaterials at all (a refused one would be counted under its code)
    const c = o.emu.cloudauth.counters();
    expect(c.SubmitMaterials?.ok).toBe(1);
    expect(c.GetMaterials).toBeUndefined();
  });

  it('ends a rejected name as not passed with the conclusion', async () => {
    await o.app.intake.enqueue({
      ticketId: 's-reject',
      biz: 'RPMin',
      binding: aBinding(face, '拒绝'),
    });
    const t = await o.waitFor('s-reject');
    expect(t.state).toBe('not_passed');
    expect(t.verdict?.auditConclusions).toContain('name does not match');
    const history = await o.app.store.history('s-reject');
    expect(history.at(-1)?.cause).toContain('not_passed');
  });

  it('follows a ticket under review until its verdict, submitted once', async () => {
    o.emu.cloudauth.resetCounters();
    await o.app.intake.enqueue({
      ticketId: 's-review',
      biz: 'RPMin',
      binding: aBinding(face, '审核'),
    });
    const t = await o.waitFor('s-review');
    expect(t.state).toBe('passed');
    const history = await o.app.store.history('s-review');
    expect(history.map((h) => h.to)).toEqual(['token_issued', 'submitted', 'passed']);
    expect(o.emu.cloudauth.counters().SubmitMaterials?.ok).toBe(1);
  });

  it('fails a ticket whose photo is a PDF before any provider call', async () => {
    o.emu.cloudauth.resetCounters();
    await o.app.intake.enqueue({
      ticketId: 's-noface',
      biz: 'RPMin',
      binding: {
        name: '李三',
        idNumber: '11010519491231002X',
        materials: {
          FacePic: { kind: 'bytes', base64: Buffer.from('%PDF-1.4').toString('base64') },
        },
      },
    });
    const t = await o.waitFor('s-noface');
    expect(t.state).toBe('failed');
    expect(t.lastError).toMatchObject({ code: 'VALIDATION_FAILED', retryable: false });
    expect(t.lastError?.message).toContain('FacePic: it is a PDF');
    expect(o.emu.cloudauth.counters()).toEqual({});
  });
});

describe('interactive flow (RPH5BioOnly)', () => {
  const binding = { name: '李三', idNumber: '11010519491231002X', materials: {} };

  it('completes when the person passes the H5 page', async () => {
    await o.app.intake.enqueue({ ticketId: 'i-pass', biz: 'RPH5BioOnly', binding });
    const waiting = await o.waitFor('i-pass', (t) => t.state === 'awaiting_user');
    const pageUrl = waiting.lease?.pageUrl ?? '';
    expect(pageUrl).toContain('/h5/verify?token=');
    const token = new URL(pageUrl).searchParams.get('token') ?? '';
    const res = await fetch(`${o.emu.cloudauth.url}/h5/verify`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token, outcome: 'complete' }).toString(),
    });
    expect(res.status).toBe(200);
    const t = await o.waitFor('i-pass');
    expect(t.state).toBe('passed');
  });

  it('expires when nobody acts before the token ends', async () => {
    await o.app.intake.enqueue({ ticketId: 'i-expire', biz: 'RPH5BioOnly', binding });
    const t = await o.waitFor('i-expire', undefined, 15_000);
    expect(t.state).toBe('expired');
    const history = await o.app.store.history('i-expire');
    expect(history.map((h) => h.to)).toEqual(['awaiting_user', 'expired']);
  });
});

describe('permanent errors', () => {
  it('fails a ticket for a Biz the provider does not know, at once and without retries', async () => {
    const other = await startTestOrchestrator({ env: { CLOUDAUTH_BIZ: 'Ghost=RPMin' } });
    try {
      await other.app.intake.enqueue({ ticketId: 'p-biz', biz: 'Ghost', binding: aBinding(face) });
      const t = await other.waitFor('p-biz');
      expect(t.state).toBe('failed');
      expect(t.lastError).toMatchObject({
        code: 'PROVIDER_INVALID_BIZ',
        providerCode: 'InvalidParam.InvalidBiz',
      });
      expect(t.attempts).toBe(0);
      expect(other.emu.cloudauth.counters().GetVerifyToken).toEqual({
        'InvalidParam.InvalidBiz': 1,
      });
      // The ticket is failed before the job leaves `active`: wait for BullMQ to move it.
      const deadline = Date.now() + 5000;
      let job = await other.app.queue.getJob('t-p-biz');
      while ((await job?.getState()) !== 'failed' && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 20));
        job = await other.app.queue.getJob('t-p-biz');
      }
      expect(await job?.getState()).toBe('failed');
      expect(job?.attemptsMade).toBe(1);
    } finally {
      await other.close();
    }
  });

  it('fails a ticket whose access key has no permission, at once', async () => {
    const other = await startTestOrchestrator({ emulator: { deniedAccessKeys: [TEST_KEY_ID] } });
    try {
      await other.app.intake.enqueue({ ticketId: 'p-perm', biz: 'RPMin', binding: aBinding(face) });
      const t = await other.waitFor('p-perm');
      expect(t.state).toBe('failed');
      expect(t.lastError).toMatchObject({
        code: 'PROVIDER_NO_PERMISSION',
        providerCode: 'Error.NoPermissionAccess',
      });
      expect(other.emu.cloudauth.counters().GetVerifyToken).toEqual({
        'Error.NoPermissionAccess': 1,
      });
    } finally {
      await other.close();
    }
  });
});

describe('intake', () => {
  it('takes a TicketId given twice as one ticket, and tells a different payload apart', async () => {
    const input = { ticketId: 'dup-1', biz: 'RPMin', binding: aBinding(face) };
    const first = await o.app.intake.enqueue(input);
    const second = await o.app.intake.enqueue(input);
    const third = await o.app.intake.enqueue({ ...input, binding: aBinding(face, '王五') });
    expect([first.created, second.created, third.created]).toEqual([true, false, false]);
    expect([second.samePayload, third.samePayload]).toEqual([true, false]);
    await o.waitFor('dup-1');
    expect(await o.app.store.history('dup-1')).toSatisfy(isOneChain);
  });
});
