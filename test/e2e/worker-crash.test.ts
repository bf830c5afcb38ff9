/**
 * Two worker processes on one Redis; one is killed with SIGKILL in the middle of a batch. The
 * other takes over its stalled tickets: every ticket ends, none is lost, none advanced twice, and
 * none was submitted (billed) twice.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { expect, it } from 'vitest';
import { isTerminal } from '../../src/domain/ticket.js';
import { smallJpeg } from '../support/images.js';
import { aBinding, isOneChain, startTestOrchestrator } from '../support/orchestrator.js';

function startWorker(env: Record<string, string>): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', 'workers/ticket.worker.ts'], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

it('finishes every ticket of a worker killed mid-batch, none lost, none advanced twice', async () => {
  const o = await startTestOrchestrator({ workers: false });
  const env = {
    ...o.env,
    WORKER_CONCURRENCY: '10',
    WORKER_LOCK_MS: '2000',
    WORKER_STALLED_INTERVAL_MS: '1000',
  };
  const victim = startWorker(env);
  const survivor = startWorker(env);
  try {
    o.emu.cloudauth.setFaults({ SubmitMaterials: { latencyMs: 150, jitterMs: 150 } });
    const face = await smallJpeg('#705030');
    const ids = Array.from({ length: 80 }, (_, i) => `k-${i}`);
    for (const ticketId of ids) {
      await o.app.intake.enqueue({ ticketId, biz: 'RPMin', binding: aBinding(face) });
    }
    const done = async () =>
      (await Promise.all(ids.map((id) => o.app.store.get(id)))).filter(
        (t) => t && isTerminal(t.state),
      ).length;
    const deadline = Date.now() + 30_000;
    while ((await done()) < 15 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    const doneAtKill = await done();
    victim.kill('SIGKILL');
    await once(victim, 'exit');
    expect(doneAtKill).toBeLessThan(ids.length);

    const finished = await Promise.all(ids.map((id) => o.waitFor(id, undefined, 60_000)));
    expect(finished.map((t) => t.state).filter((s) => s !== 'passed')).toEqual([]);
    const histories = await Promise.all(ids.map((id) => o.app.store.history(id)));
    expect(histories.filter((h) => !isOneChain(h))).toEqual([]);
    const submissions = ids.map(
      (id) => o.emu.cloudauth.registry.ticket('RPMin', id)?.submissions.length ?? 0,
    );
    expect(submissions.filter((n) => n !== 1)).toEqual([]);
    // The bill: the emulator records no submission once a ticket has passed, but it counts every
    // SubmitMaterials it answered. Exactly one per ticket: a call the victim had in flight is
    // answered and recorded (the emulator finishes it after the client is gone) long before the
    // survivor takes the ticket over (lock 2 s), so the survivor's GetStatus finds it.
    expect(o.emu.cloudauth.counters().SubmitMaterials).toEqual({ ok: ids.length });
  } finally {
    if (victim.exitCode === null && victim.signalCode === null) victim.kill('SIGKILL');
    if (survivor.exitCode === null && survivor.signalCode === null) {
      survivor.kill('SIGTERM');
      await once(survivor, 'exit');
    }
    await o.close();
  }
}, 120_000);
