/**
 * The short chaos run (what `npm run chaos -- --quick` does): 500 tickets of both API families
 * through the HTTP API (RPMin and RPH5BioOnly on 2018-09-16; FaceServer, with the Id2MetaVerify
 * pre-check, and FaceH5, through its start link, on 2019-03-07), three worker processes of which a
 * few are killed with SIGKILL and restarted, the emulators in their own process injecting errors,
 * throttling, hangs and answers lost after the call was carried out, with short-lived tokens, and
 * Redis killed once and restarted from its AOF. Every accepted ticket must end, as the emulator
 * judged it (or, financial-grade, as its rules say), each advanced once and billed at most once
 * (one SubmitMaterials per RPMin ticket, one ContrastFaceVerify per OuterOrderNo, one Id2MetaVerify
 * per identity), none lost. A FaceServer ticket whose face call's answer was lost ends `failed`
 * with SUBMISSION_OUTCOME_UNKNOWN rather than pay again: counted, not a mismatch.
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
  expect(f.duplicateBillable.SubmitMaterials).toBe(0);
  expect(f.duplicateBillable.ContrastFaceVerify).toBe(0);
  expect(f.duplicateBillable.Id2MetaVerify).toBe(0);
  expect(f.accepted).toBeGreaterThan(450);
  // both families ran, each to the verdicts its rules give
  for (const biz of ['RPMin', 'RPH5BioOnly', 'FaceServer', 'FaceH5']) {
    expect(f.acceptedByBiz[biz] ?? 0, biz).toBeGreaterThan(40);
  }
  expect(f.statesByBiz.FaceServer?.not_passed ?? 0).toBeGreaterThan(0);
  expect(f.statesByBiz.FaceH5?.passed ?? 0).toBeGreaterThan(0);
  expect(f.statesByBiz.FaceH5?.not_passed ?? 0).toBeGreaterThan(0);
  expect(f.contrastTicketsJudged).toBeGreaterThan(0);
  expect(f.workerKills).toBeGreaterThan(0);
  expect(f.redisRestarts).toBe(1);
  expect(f.retries).toBeGreaterThan(0);
  expect(f.states.expired ?? 0).toBeGreaterThan(0);
}, 420_000);
