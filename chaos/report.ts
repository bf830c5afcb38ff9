/** The figures of a chaos run as printed by `npm run chaos`. */
import type { ChaosReport } from './run-chaos.js';

export function formatReport(report: ChaosReport): string {
  const f = report.figures;
  const states = Object.entries(f.states)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([s, n]) => `${s} ${n}`)
    .join(', ');
  const h5 = Object.entries(f.h5)
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');
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
    `  worker kills (SIGKILL)    ${f.workerKills}`,
    `  Redis restarts            ${f.redisRestarts} (down ${f.redisDownMs} ms; acknowledged writes lost ${f.redisLostAckedWrites}${f.aofBytesCut > 0 ? `; AOF cut by ${f.aofBytesCut} bytes` : ''})`,
    `  retries                   ${f.retries} (sum of attempts)`,
    `  renewals                  ${f.renewals} (token_renewed)`,
    `  tokens issued             ${f.tokensIssued}`,
    `  SubmitMaterials billed    ${f.submitMaterialsCalls}`,
    `  duplicate billable calls  ${f.duplicateBillableCalls}`,
    `  H5 page                   ${h5}`,
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
