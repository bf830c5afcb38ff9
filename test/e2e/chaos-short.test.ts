/**
 * The short chaos run (what `npm run chaos -- --quick` does): 500 tickets through the HTTP API,
 * three worker processes of which a few are killed with SIGKILL and restarted, the emulators in
 * their own process injecting errors, throttling and hangs with short-lived tokens, and Redis
 * killed once and restarted from its AOF. Every accepted ticket must end, as the emulator judged
 * it, each advanced once and billed once (one SubmitMaterials answered per server ticket), none
 * lost.
 */
import { expect, it } from 'vitest';
import { formatReport } from '../../chaos/report.js';
import { quickRun, runChaos } from '../../chaos/run-chaos.js';

it('ends every ticket of a short chaos run truly: none lost, none advanced or billed twice', async () => {
  const lines: string[] = [];
  const report = await runChaos(quickRun({ log: (line) => lines.push(line) }));
  const summary = `${lines.join('\n')}\n${formatReport(report)}`;
  if (!report.ok) process.stderr.write(`${summary}\n`);
  const f = report.figures;
  expect(report.failures, summary).toEqual([]);
  expect(f.lost).toBe(0);
  expect(f.stuck).toBe(0);
  expect(f.verdictMismatches).toBe(0);
  expect(f.brokenHistories).toBe(0);
  expect(f.duplicateBillableCalls).toBe(0);
  expect(f.accepted).toBeGreaterThan(450);
  expect(f.workerKills).toBeGreaterThan(0);
  expect(f.redisRestarts).toBe(1);
  expect(f.retries).toBeGreaterThan(0);
  expect(f.states.expired ?? 0).toBeGreaterThan(0);
}, 420_000);
