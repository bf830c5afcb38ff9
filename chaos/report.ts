/** The figures of a chaos run as printed by `npm run chaos`. */
import type { ChaosReport } from './run-chaos.js';

export function formatReport(report: ChaosReport): string {
  const f = report.figures;
  const states = Object.entries(f.states)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([s, n]) => `${s} ${n}`)
    .join(', ');
  const counts = (xs: Record<string, number>) =>
    Object.entries(xs)
      .map(([k, n]) => `${k} ${n}`)
      .join(', ');
  const h5 = counts(f.h5);
  const byBiz = Object.entries(f.acceptedByBiz).map(([biz, n]) => {
    const ends = Object.entries(f.statesByBiz[biz] ?? {})
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([s, k]) => `${s} ${k}`)
      .join(', ');
    return `    ${biz.padEnd(24)}${String(n).padStart(5)} accepted: ${ends || 'none ended'}`;
  });
  const d = f.duplicateBillable;
  const calls = Object.entries(f.emulatorCalls)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([action, outcomes]) => {
      const total = Object.values(outcomes).reduce((a, b) => a + b, 0);
      return `${action} ${total} (ok ${outcomes.ok ?? 0})`;
    })
    .join(', ');
  const lines = [
    `Chaos run: ${report.ok ? 'PASSED' : 'FAILED'}`,
    `  tickets                   ${f.accepted} accepted (server ${f.server}, interactive ${f.interactive}), ${f.rejected} invalid refused, of ${f.planned} sent`,
    `  final states              ${states}`,
    `  by Biz`,
    ...byBiz,
    `  worker kills (SIGKILL)    ${f.workerKills}`,
    `  Redis topology            ${f.topology}`,
    ...(f.topology === 'single'
      ? [
          `  Redis restarts            ${f.redisRestarts} (down ${f.redisDownMs} ms; acknowledged writes lost ${f.redisLostAckedWrites}${f.aofBytesCut > 0 ? `; AOF cut by ${f.aofBytesCut} bytes` : ''})`,
        ]
      : f.failovers.map(
          (x, i) =>
            `  failover ${i + 1}                ${x.promotedMs} ms to a promoted primary, ${x.rejoinedMs} ms until the killed node rejoined; intake answered 503 ${x.intake503Answers} times (the last ${x.intake503ForMs} ms after the kill), its slowest answer took ${x.intakeSlowestMs} ms`,
        )),
    `  retries                   ${f.retries} (sum of attempts)`,
    `  renewals                  ${f.renewals} (token_renewed)`,
    `  tokens issued             ${f.tokensIssued}`,
    `  SubmitMaterials billed    ${f.submitMaterialsCalls}`,
    `  ContrastFaceVerify billed ${f.contrastFaceVerifyCalls} for ${f.contrastTicketsJudged} FaceServer tickets past the pre-check`,
    `  financial set-up calls    ${f.precheckCalls} Id2MetaVerify OK for ${f.acceptedByBiz.FaceServer ?? 0} FaceServer; ${f.initFaceVerifyCalls} InitFaceVerify OK for ${f.acceptedByBiz.FaceH5 ?? 0} FaceH5`,
    `  duplicate billable calls  ${f.duplicateBillableCalls}: SubmitMaterials ${d.SubmitMaterials}, ContrastFaceVerify ${d.ContrastFaceVerify} (per OuterOrderNo), Id2MetaVerify ${d.Id2MetaVerify} (per identity)`,
    `  answers lost, not resent  ${f.outcomeUnknown} FaceServer failed SUBMISSION_OUTCOME_UNKNOWN (a kill, the outage, a lost answer or a timeout during the call; ${f.contrastExposed} FaceServer tickets met a kill or the outage between lease and verdict); ${f.precheckLost} reject-list FaceServer judged by the face call after a lost pre-check`,
    `  H5 page                   ${h5}`,
    `  FaceH5 people             ${counts(f.faceH5)}; CertifyUrl ready after MetaInfo: median ${f.faceReadyMs.median} ms, max ${f.faceReadyMs.max} ms`,
    `  emulator calls            ${calls}`,
    `  API retries (outage)      ${f.apiRetries}`,
    `  lost                      ${f.lost}`,
    `  not terminal              ${f.stuck}`,
    `  verdict mismatches        ${f.verdictMismatches}`,
    `  advanced twice            ${f.brokenHistories}`,
    `  elapsed                   ${(f.elapsedMs / 1000).toFixed(1)} s`,
  ];
  if (report.failures.length > 0) {
    lines.push('Failures:', ...report.failures.map((x) => `  ${x}`));
  }
  if (report.dir !== undefined) lines.push(`Logs and AOF kept in ${report.dir}`);
  return lines.join('\n');
}
