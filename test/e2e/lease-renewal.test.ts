/**
 * Proactive renewal: a lease whose VerifyToken or STS credential runs out within the lease margin
 * (LEASE_MARGIN_SECONDS, at most a quarter of the token's lifetime) is replaced by a new
 * GetVerifyToken before it is used, not only after the provider refused it. The emulator's
 * counters show the renewal happened with no refused call: every answer, Cloudauth's and OSS's,
 * is `ok`.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Ticket, TicketEvent } from '../../src/domain/ticket.js';
import type { Advanced, TicketLifecycle } from '../../src/flow/ticket-lifecycle.js';
import { smallJpeg } from '../support/images.js';
import { aBinding, startTestOrchestrator, type TestOrchestrator } from '../support/orchestrator.js';
import { observe, testProcessor, testWorker, type Cleanups } from '../support/processor.js';

let face: Buffer;
beforeAll(async () => {
  face = await smallJpeg('#735238');
});

const cleanups: Cleanups = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** VerifyToken and STS lifetimes, in seconds; the lease margin stays at its default (120 s). */
async function orchestrator(tokenSeconds: number, stsSeconds: number): Promise<TestOrchestrator> {
  const o = await startTestOrchestrator({ workers: false, emulator: { tokenSeconds, stsSeconds } });
  cleanups.push(() => o.close());
  expect(o.app.config.queue.leaseMarginMs).toBe(120_000);
  return o;
}

/** Every call either emulator answered, by action: nothing refused, nothing failed. */
function expectOnlyOk(o: TestOrchestrator): void {
  const outcomes = [o.emu.cloudauth.counters(), o.emu.oss.counters()].flatMap((counters) =>
    Object.entries(counters).flatMap(([action, byOutcome]) =>
      Object.keys(byOutcome).map((outcome) => `${action} ${outcome}`),
    ),
  );
  expect(outcomes.filter((x) => !x.endsWith(' ok'))).toEqual([]);
}

async function expectRenewedOnceBeforeUse(o: TestOrchestrator, ticketId: string): Promise<void> {
  const t = await o.waitFor(ticketId);
  expect(t.state).toBe('passed');
  expect(t.attempts).toBe(0);
  const calls = o.emu.cloudauth.counters();
  expect(calls.GetVerifyToken).toEqual({ ok: 2 });
  expect(calls.SubmitMaterials).toEqual({ ok: 1 });
  expectOnlyOk(o);
  expect(o.emu.cloudauth.registry.ticket('RPMin', ticketId)?.tokensIssued).toBe(2);
  const history = await o.app.store.history(ticketId);
  expect(history.map((h) => h.event)).toEqual(['token_issued', 'token_renewed', 'verdict']);
}

describe('a held lease within the margin of its end', () => {
  it('renews a VerifyToken that runs out within the margin before submitting with it', async () => {
    // a 60 s token: the margin is a quarter of it, 15 s
    const o = await orchestrator(60, 3600);
    // the processor's clock jumps 50 s ahead once the first token is saved: 10 s are left
    let shiftMs = 0;
    const lifecycle = observe<TicketLifecycle>(o.app.lifecycle, 'advance', (args) => {
      if ((args[1] as TicketEvent).type === 'token_issued') shiftMs = 50_000;
    });
    testWorker(
      o,
      cleanups,
      testProcessor(o, cleanups, { lifecycle, clock: () => Date.now() + shiftMs }),
    );
    await o.app.intake.enqueue({ ticketId: 'renew-token', biz: 'RPMin', binding: aBinding(face) });
    await expectRenewedOnceBeforeUse(o, 'renew-token');
  });

  it('renews a lease whose STS credential runs out within the margin before uploading with it', async () => {
    // a 30 min token: the margin is LEASE_MARGIN_SECONDS, 120 s
    const o = await orchestrator(1800, 1800);
    // the issued lease, as the run goes on with it, was issued 29.5 min ago, its STS credential
    // 30 s from its end, as a lease held since long ago would be (the emulator's credential
    // itself is still good)
    let aged = false;
    const lifecycle = observe<TicketLifecycle>(o.app.lifecycle, 'advance', (_args, result) => {
      const { result: outcome, ticket: t } = result as Advanced<Ticket>;
      if (aged || outcome !== 'applied' || t.state !== 'token_issued' || t.lease === undefined) {
        return undefined;
      }
      aged = true;
      return {
        result: outcome,
        ticket: {
          ...t,
          lease: {
            ...t.lease,
            issuedAt: Date.now() - 1_770_000,
            sts: { ...t.lease.sts, expiresAt: Date.now() + 30_000 },
          },
        },
      };
    });
    testWorker(o, cleanups, testProcessor(o, cleanups, { lifecycle }));
    await o.app.intake.enqueue({ ticketId: 'renew-sts', biz: 'RPMin', binding: aBinding(face) });
    await expectRenewedOnceBeforeUse(o, 'renew-sts');
    expect(aged).toBe(true);
  });
});

describe('a lease whose credentials live shorter than the lease margin', () => {
  it('uses a 60 s STS credential just issued instead of renewing it again and again', async () => {
    // the margin is at most a quarter of the credential's own lifetime (15 s), so a lease just
    // issued is never "expiring"
    const o = await orchestrator(1800, 60);
    testWorker(o, cleanups, testProcessor(o, cleanups));
    await o.app.intake.enqueue({ ticketId: 'short-sts', biz: 'RPMin', binding: aBinding(face) });
    const t = await o.waitFor('short-sts');
    expect(t.state).toBe('passed');
    expect(t.attempts).toBe(0);
    const calls = o.emu.cloudauth.counters();
    expect(calls.GetVerifyToken).toEqual({ ok: 1 });
    expect(calls.SubmitMaterials).toEqual({ ok: 1 });
    expectOnlyOk(o);
  });
});
