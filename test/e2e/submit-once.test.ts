/**
 * SubmitMaterials is billed once per ticket. A run that dies after SubmitMaterials reached the
 * provider and before its transition was saved leaves the ticket in `token_issued` with its
 * submit mark; the next run must ask GetStatus and carry on from the provider's answer, never
 * submit again. The emulator's call counters are the bill: they count every SubmitMaterials it
 * answered, including those it no longer records once the ticket has passed.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { CloudauthClient } from '../../src/adapters/cloudauth/client.js';
import type { TicketEvent } from '../../src/domain/ticket.js';
import type { TicketLifecycle } from '../../src/flow/ticket-lifecycle.js';
import { smallJpeg } from '../support/images.js';
import { waitUntil } from '../../testkit/waiting.js';
import {
  aBinding,
  isOneChain,
  startTestOrchestrator,
  type TestOrchestrator,
} from '../support/orchestrator.js';
import {
  cloudauthOf,
  killPoint,
  observe,
  providerOf,
  testProcessor,
  testWorker,
  type Cleanups,
} from '../support/processor.js';

let face: Buffer;
beforeAll(async () => {
  face = await smallJpeg('#6e4f3a');
});

const cleanups: Cleanups = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function orchestrator(): Promise<TestOrchestrator> {
  const o = await startTestOrchestrator({
    workers: false,
    emulator: { reviewNames: ['审核'], reviewMs: 400 },
  });
  cleanups.push(() => o.close());
  return o;
}

const eventIs =
  (type: TicketEvent['type']) =>
  (args: unknown[]): boolean =>
    (args[1] as TicketEvent | undefined)?.type === type;

describe('a run that dies after SubmitMaterials reached the provider', () => {
  it('dies once the answer is back: the next run asks GetStatus, submits nothing, and passes', async () => {
    const o = await orchestrator();
    const crash = killPoint<CloudauthClient, 'submitMaterials'>(
      cloudauthOf(o, cleanups),
      'submitMaterials',
      'after',
    );
    testWorker(
      o,
      cleanups,
      testProcessor(o, cleanups, { provider: providerOf(o, cleanups, crash.port) }),
    );
    await o.app.intake.enqueue({ ticketId: 'once-answer', biz: 'RPMin', binding: aBinding(face) });

    const t = await o.waitFor('once-answer');
    expect(crash.fired()).toBe(true);
    expect(t.state).toBe('passed');
    const calls = o.emu.cloudauth.counters();
    expect(calls.SubmitMaterials).toEqual({ ok: 1 });
    // the second run's question, not a second submission
    expect(calls.GetStatus).toEqual({ ok: 1 });
    expect(o.emu.cloudauth.registry.ticket('RPMin', 'once-answer')?.submissions).toHaveLength(1);
    const history = await o.app.store.history('once-answer');
    expect(history.map((h) => h.event)).toEqual(['token_issued', 'verdict']);
  });

  it('dies before the verdict is saved: the next run finds the verdict, submits nothing', async () => {
    const o = await orchestrator();
    const crash = killPoint<TicketLifecycle, 'advance'>(
      o.app.lifecycle,
      'advance',
      'before',
      eventIs('verdict'),
    );
    testWorker(o, cleanups, testProcessor(o, cleanups, { lifecycle: crash.port }));
    await o.app.intake.enqueue({ ticketId: 'once-save', biz: 'RPMin', binding: aBinding(face) });

    const t = await o.waitFor('once-save');
    expect(crash.fired()).toBe(true);
    expect(t.state).toBe('passed');
    expect(o.emu.cloudauth.counters().SubmitMaterials).toEqual({ ok: 1 });
    expect(o.emu.cloudauth.counters().GetMaterials).toBeUndefined();
    const history = await o.app.store.history('once-save');
    expect(history.map((h) => h.event)).toEqual(['token_issued', 'verdict']);
  });

  it('dies before the move to submitted is saved (under review): the next run waits, submits nothing', async () => {
    const o = await orchestrator();
    const crash = killPoint<TicketLifecycle, 'advance'>(
      o.app.lifecycle,
      'advance',
      'before',
      eventIs('submitted'),
    );
    testWorker(o, cleanups, testProcessor(o, cleanups, { lifecycle: crash.port }));
    await o.app.intake.enqueue({
      ticketId: 'once-review',
      biz: 'RPMin',
      binding: aBinding(face, '审核'),
    });

    const t = await o.waitFor('once-review');
    expect(crash.fired()).toBe(true);
    expect(t.state).toBe('passed');
    expect(o.emu.cloudauth.counters().SubmitMaterials).toEqual({ ok: 1 });
    const history = await o.app.store.history('once-review');
    expect(history.map((h) => h.to)).toEqual(['token_issued', 'submitted', 'passed']);
    expect(history).toSatisfy(isOneChain);
  });
});

describe('a ticket cancelled while its materials are being staged', () => {
  it('is not submitted: the submit mark is refused on the version the run decided from', async () => {
    const o = await orchestrator();
    let cancelled = false;
    const provider = observe(providerOf(o, cleanups), 'stage', async () => {
      // the operator's cancel lands between the run's last read and its submission
      await o.app.operations.cancel('once-cancelled');
      cancelled = true;
    });
    testWorker(o, cleanups, testProcessor(o, cleanups, { provider }));
    await o.app.intake.enqueue({
      ticketId: 'once-cancelled',
      biz: 'RPMin',
      binding: aBinding(face),
    });

    const t = await o.waitFor('once-cancelled');
    // the ticket is cancelled before cancel() returns (it publishes ticket.cancelled after)
    await waitUntil('the cancel returned', () => cancelled);
    expect(t.state).toBe('cancelled');
    expect(t.submitStartedAt).toBeUndefined();
    expect(o.emu.cloudauth.counters().SubmitMaterials).toBeUndefined();
  });
});
