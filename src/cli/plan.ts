/**
 * The plan `enqueue` prints before it enqueues: what the file holds, and how long the provider
 * calls take at the configured QPS. A server-flow ticket makes about two provider calls
 * (GetVerifyToken, SubmitMaterials), an interactive one about one (GetVerifyToken)
 * plus GetStatus polls while the person completes the page; the action with the most calls per
 * allowed call per second is the bottleneck. Pure; no I/O.
 */
import type { Flow, TicketState } from '../domain/ticket.js';
import { formatInvalidRow, type InvalidRow } from './invalid-rows.js';

/** Provider calls one ticket makes, per action, by flow (retries and polls not counted). */
export const CALLS_PER_TICKET: Readonly<Record<Flow, Readonly<Record<string, number>>>> = {
  server: { GetVerifyToken: 1, SubmitMaterials: 1 },
  interactive: { GetVerifyToken: 1 },
};

/** What the preflight found. */
export interface Plan {
  file: string;
  batchId: string;
  /** Data rows read (blank lines not counted). */
  rowsRead: number;
  /** Valid rows whose TicketId is new, by flow. */
  validNew: Readonly<Record<Flow, number>>;
  /**
   * Valid rows whose TicketId is new and whose flow only the API knows (`--api`: the CLI has no
   * CLOUDAUTH_BIZ, and the API checks the Biz and the fields it requires). Absent: none.
   */
  validNewFlowUnknown?: number;
  /** Rows whose TicketId the store already holds: skipped. */
  alreadyKnown: number;
  invalid: number;
  /** The first invalid rows (at most {@link KEPT_INVALID_ROWS}). */
  invalidRows: readonly InvalidRow[];
  /** Where every invalid row was written. */
  invalidLog: string | undefined;
}

/** How long the provider calls of a plan take. */
export type DurationEstimate =
  | { kind: 'none' }
  /** Over `--api`: the QPS limits are the workers' own settings. */
  | { kind: 'unknown' }
  | { kind: 'unlimited' }
  | { kind: 'limited'; seconds: number; action: string; calls: number; qps: number };

/** Valid new rows of a plan. */
export function validCount(plan: Pick<Plan, 'validNew' | 'validNewFlowUnknown'>): number {
  return plan.validNew.server + plan.validNew.interactive + (plan.validNewFlowUnknown ?? 0);
}

/** The calls of `tickets` per action, divided by each action's QPS (`*` for the others; 0 = none). */
export function estimateDuration(
  tickets: Readonly<Record<Flow, number>>,
  qps: Readonly<Record<string, number>>,
  headroom = 0,
): DurationEstimate {
  const calls = new Map<string, number>();
  for (const flow of ['server', 'interactive'] as const) {
    for (const [action, n] of Object.entries(CALLS_PER_TICKET[flow])) {
      calls.set(action, (calls.get(action) ?? 0) + n * tickets[flow]);
    }
  }
  let best: DurationEstimate = { kind: 'none' };
  for (const [action, n] of calls) {
    if (n === 0) continue;
    const rate = qps[action] ?? qps['*'] ?? 0;
    if (rate <= 0) {
      if (best.kind === 'none') best = { kind: 'unlimited' };
      continue;
    }
    const seconds = (n / rate) * (1 + headroom);
    if (best.kind !== 'limited' || seconds > best.seconds) {
      best = { kind: 'limited', seconds, action, calls: n, qps: rate };
    }
  }
  return best;
}

/** `45 s`, `12 min 5 s`, `3 h 20 min` (at least `1 s`). */
export function formatDuration(seconds: number): string {
  const s = Math.max(1, Math.round(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min${s % 60 ? ` ${s % 60} s` : ''}`;
  const minutes = Math.round((s % 3600) / 60);
  return `${Math.floor(s / 3600)} h${minutes ? ` ${minutes} min` : ''}`;
}

function describeEstimate(estimate: DurationEstimate, interactive: number): string {
  const polls = interactive > 0 ? ', plus GetStatus polls until people finish the page' : '';
  switch (estimate.kind) {
    case 'none':
      return 'nothing to do';
    case 'unknown':
      return "set by the workers' CLOUDAUTH_QPS, which the API does not tell";
    case 'unlimited':
      return `no QPS limit configured: as fast as the workers go${polls}`;
    case 'limited':
      return (
        `about ${formatDuration(estimate.seconds)} (${estimate.action}: ${estimate.calls} ` +
        `calls at ${estimate.qps} QPS is the bottleneck)${polls}`
      );
  }
}

/** The plan as printed, with at most `shown` invalid rows listed. */
export function formatPlan(plan: Plan, estimate: DurationEstimate, shown = 50): string {
  const flows = (['server', 'interactive'] as const)
    .filter((f) => plan.validNew[f] > 0)
    .map((f) => `${f} flow ${plan.validNew[f]}`);
  const unknown = plan.validNewFlowUnknown ?? 0;
  if (unknown > 0) flows.push(`${unknown} whose Biz and required fields the API checks`);
  const lines = [
    `Plan for ${plan.file}`,
    `  batch             ${plan.batchId}`,
    `  rows read         ${plan.rowsRead}`,
    `  valid, new        ${validCount(plan)}${flows.length ? ` (${flows.join(', ')})` : ''}`,
    `  already enqueued  ${plan.alreadyKnown}`,
    `  invalid           ${plan.invalid}`,
  ];
  const listed = plan.invalidRows.slice(0, shown);
  for (const row of listed) lines.push(`    ${formatInvalidRow(row)}`);
  if (plan.invalid > listed.length) {
    lines.push(`    … and ${plan.invalid - listed.length} more`);
  }
  if (plan.invalidLog !== undefined) lines.push(`  all invalid rows  ${plan.invalidLog}`);
  lines.push(`  expected duration ${describeEstimate(estimate, plan.validNew.interactive)}`);
  return `${lines.join('\n')}\n`;
}

/** `1 ticket`, `2 tickets`. */
export function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

/** `12 tickets: queued 3, passed 9` (states with no ticket left out). */
export function formatCounts(counts: Readonly<Record<TicketState, number>>): string {
  const entries = Object.entries(counts).filter(([, n]) => n > 0);
  const total = entries.reduce((sum, [, n]) => sum + n, 0);
  const parts = entries.map(([state, n]) => `${state} ${n}`).join(', ');
  return `${plural(total, 'ticket')}${parts ? `: ${parts}` : ''}`;
}
