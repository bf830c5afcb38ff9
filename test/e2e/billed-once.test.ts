/**
 * The financial-grade calls billed per call that cannot be looked up afterwards (ContrastFaceVerify,
 * Id2MetaVerify) are made at most once per ticket, whatever happens to their answers: real Redis,
 * BullMQ workers and the official SDK against the Cloudauth emulator, whose `lostAnswerRate`
 * carries a call out (billed) and then cuts the connection, and whose billing record counts the
 * calls per OuterOrderNo and per identity.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { outerOrderNoOf } from '../../src/domain/biz.js';
import type { FaultConfig } from '../../src/emulator/faults.js';
import { smallJpeg } from '../support/images.js';
import {
  aBinding,
  startTestOrchestrator,
  TEST_BIZ,
  type TestOrchestrator,
} from '../support/orchestrator.js';
import { waitUntil } from '../../testkit/waiting.js';

const BIZ = `${TEST_BIZ},FaceServer=financial:ID_MIN:1000000007:precheck,FaceServerNoCheck=financial:ID_MIN:1000000007`;
/** A short client timeout: a run waits it out (+2 s) before it calls a standing mark unknown. */
const ENV = { CLOUDAUTH_BIZ: BIZ, CLOUDAUTH_TIMEOUT_MS: '1000' };

let face: Buffer;

beforeAll(async () => {
  face = await smallJpeg('#7a5b3e');
});

interface Billed {
  ContrastFaceVerify: { calls: number; keys: number; repeatedKeys: number };
  Id2MetaVerify: { calls: number; keys: number; repeatedKeys: number };
}

async function billedFor(o: TestOrchestrator, ticketId: string): Promise<number> {
  const order = outerOrderNoOf(ticketId);
  const res = await fetch(`${o.emu.cloudauth.url}/__admin/face-verify/billed/${order}`);
  return ((await res.json()) as { ContrastFaceVerify: number }).ContrastFaceVerify;
}

async function billed(o: TestOrchestrator): Promise<Billed> {
  return (await (
    await fetch(`${o.emu.cloudauth.url}/__admin/face-verify/billed`)
  ).json()) as Billed;
}

const failing = (action: string, faults: FaultConfig[string]): FaultConfig => ({
  [action]: faults,
});

describe('UNKNOWN_SUBMISSION=fail (the default): at most once', () => {
  let o: TestOrchestrator;
  beforeAll(async () => {
    o = await startTestOrchestrator({ emulator: { rejectNames: ['王拒绝'] }, env: ENV });
  });
  afterAll(async () => {
    o.emu.cloudauth.setFaults({});
    await o.close();
  });

  it('a ContrastFaceVerify whose answer was lost fails the ticket, billed once; retry sends it', async () => {
    o.emu.cloudauth.setFaults(failing('ContrastFaceVerify', { lostAnswerRate: 1 }));
    const id = 'once/lost-answer';
    await o.app.intake.enqueue({ ticketId: id, biz: 'FaceServerNoCheck', binding: aBinding(face) });
    const t = await o.waitFor(id);
    expect(t.state).toBe('failed');
    expect(t.lastError?.code).toBe('SUBMISSION_OUTCOME_UNKNOWN');
    expect(t.lastError?.message).toMatch(/^ContrastFaceVerify was sent and its answer lost/);
    expect(await billedFor(o, id)).toBe(1);

    // the operator's retry is the decision to send it again (and maybe pay again)
    o.emu.cloudauth.setFaults({});
    await o.app.operations.retry(id);
    const again = await o.waitFor(id, (x) => x.state === 'passed');
    expect(again.verdict).toMatchObject({ statusCode: 1, subCode: '200' });
    expect(await billedFor(o, id)).toBe(2);
  });

  it('a ContrastFaceVerify refused with a code releases its mark: sent again, billed once', async () => {
    o.emu.cloudauth.resetCounters();
    o.emu.cloudauth.setFaults(failing('ContrastFaceVerify', { internalErrorRate: 1 }));
    const id = 'once/refused';
    await o.app.intake.enqueue({ ticketId: id, biz: 'FaceServerNoCheck', binding: aBinding(face) });
    await waitUntil(
      'a refused ContrastFaceVerify',
      () => (o.emu.cloudauth.counters().ContrastFaceVerify?.['Error.InternalError'] ?? 0) > 0,
    );
    o.emu.cloudauth.setFaults({});
    const t = await o.waitFor(id);
    expect(t.state).toBe('passed');
    expect(t.attempts).toBeGreaterThan(0);
    expect(await billedFor(o, id)).toBe(1);
  });

  it('an Id2MetaVerify whose answer was lost is not made again: the face call judges the name', async () => {
    const before = await billed(o);
    o.emu.cloudauth.setFaults(failing('Id2MetaVerify', { lostAnswerRate: 1 }));
    const id = 'once/lost-precheck';
    await o.app.intake.enqueue({
      ticketId: id,
      biz: 'FaceServer',
      binding: aBinding(face, '王拒绝'),
    });
    const t = await o.waitFor(id);
    o.emu.cloudauth.setFaults({});
    // not the pre-check's verdict but ContrastFaceVerify's: the same outcome, dearer
    expect(t.state).toBe('not_passed');
    expect(t.verdict).toMatchObject({ statusCode: 2, subCode: '201' });
    expect(t.verdict?.certifyId).toMatch(/^[0-9a-f]{32}$/);
    const after = await billed(o);
    expect(after.Id2MetaVerify.calls - before.Id2MetaVerify.calls).toBe(1);
    expect(after.Id2MetaVerify.repeatedKeys).toBe(before.Id2MetaVerify.repeatedKeys);
    expect(await billedFor(o, id)).toBe(1);
  });

  it('an Id2MetaVerify refused with a code is made again and decides the ticket', async () => {
    const before = await billed(o);
    o.emu.cloudauth.resetCounters();
    o.emu.cloudauth.setFaults(failing('Id2MetaVerify', { internalErrorRate: 1 }));
    const id = 'once/refused-precheck';
    await o.app.intake.enqueue({
      ticketId: id,
      biz: 'FaceServer',
      binding: aBinding(face, '王拒绝'),
    });
    await waitUntil(
      'a refused Id2MetaVerify',
      () => (o.emu.cloudauth.counters().Id2MetaVerify?.['Error.InternalError'] ?? 0) > 0,
    );
    o.emu.cloudauth.setFaults({});
    const t = await o.waitFor(id);
    expect(t.state).toBe('not_passed');
    expect(t.verdict?.auditConclusions).toMatch(/^Id2MetaVerify: /);
    const after = await billed(o);
    expect(after.Id2MetaVerify.calls - before.Id2MetaVerify.calls).toBe(1);
    expect(await billedFor(o, id)).toBe(0);
  });
});

describe('UNKNOWN_SUBMISSION=resubmit: at least once', () => {
  let o: TestOrchestrator;
  beforeAll(async () => {
    o = await startTestOrchestrator({ env: { ...ENV, UNKNOWN_SUBMISSION: 'resubmit' } });
  });
  afterAll(async () => {
    o.emu.cloudauth.setFaults({});
    await o.close();
  });

  it('sends a ContrastFaceVerify whose answer was lost again, and says so in the bill', async () => {
    o.emu.cloudauth.setFaults(failing('ContrastFaceVerify', { lostAnswerRate: 1 }));
    const id = 'again/lost-answer';
    await o.app.intake.enqueue({ ticketId: id, biz: 'FaceServerNoCheck', binding: aBinding(face) });
    await waitUntil('a billed ContrastFaceVerify', async () => (await billedFor(o, id)) >= 1);
    o.emu.cloudauth.setFaults({});
    const t = await o.waitFor(id);
    expect(t.state).toBe('passed');
    expect(await billedFor(o, id)).toBe(2);
  });
});
