/**
 * The plan `enqueue` prints before it enqueues: what the file holds, and how long the provider
 * calls take at the configured QPS. A legacy server-flow ticket makes about two provider calls
 * (GetVerifyToken, SubmitMaterials), a legacy interactive one about one (GetVerifyToken) plus
 * GetStatus polls while the person completes the page. A financial-grade ticket makes its
 * product's call (ID_MIN: ContrastFaceVerify; ID_PRO: InitFaceVerify, once the person opens the
 * start link, then DescribeFaceVerify) after an Id2MetaVerify when its Biz asks for the pre-check.
 * The action with the most calls per allowed call per second is the bottleneck. Pure; no I/O.
 */
import { flowOf, type Flow, type TicketState } from '../domain/ticket.js';
import type { BizProfile } from '../domain/biz.js';
import { describeEncoding, type EncodingChoice } from './input-encoding.js';
import { formatInvalidRow, type InvalidRow } from './invalid-rows.js';

/** Provider calls one legacy ticket makes, per action, by flow (retries and polls not counted). */
export const CALLS_PER_TICKET: Readonly<Record<Flow, Readonly<Record<string, number>>>> = {
  server: { GetVerifyToken: 1, SubmitMaterials: 1 },
  interactive: { GetVerifyToken: 1 },
};

/**
 * Provider calls one ticket of a Biz makes, per action (retries and polls not counted; the
 * actions are those CLOUDAUTH_QPS limits).
 */
export function callsPerTicket(profile: BizProfile): Readonly<Record<string, number>> {
  if (typeof profile === 'string') return CALLS_PER_TICKET[flowOf(profile)];
  const face: Record<string, number> =
    profile.productCode === 'ID_MIN' ? { ContrastFaceVerify: 1 } : { InitFaceVerify: 1 };
  return profile.precheck ? { Id2MetaVerify: 1, ...face } : face;
}

/** Adds `n` tickets' calls of `perTicket` to `calls`. */
export function addCalls(
  calls: Record<string, number>,
  perTicket: Readonly<Record<string, number>>,
  n = 1,
): void {
  for (const [action, k] of Object.entries(perTicket)) calls[action] = (calls[action] ?? 0) + k * n;
}

/** Where `enqueue --photos` takes the images from. */
export interface PlanPhotos {
  kind: 'folder' | 'archive';
  path: string;
  /** An archive's photos (its files), and the entries left out for their name (`..`, absolute). */
  entries?: number | undefined;
  refusedEntries?: number | undefined;
}

/** What the preflight found. */
export interface Plan {
  file: string;
  batchId: string;
  /** A CSV or JSONL input: the encoding it was read in, and why. */
  encoding?: EncodingChoice | undefined;
  /** A workbook: the sheet read. */
  sheet?: string | undefined;
  /** `--photos`. */
  photos?: PlanPhotos | undefined;
  /** Data rows read (blank lines not counted). */
  rowsRead: number;
  /** Valid rows whose TicketId is new, by flow. */
  validNew: Readonly<Record<Flow, number>>;
  /**
   * Valid rows whose TicketId is new and whose flow only the API knows (`--api`: the CLI has no
   * CLOUDAUTH_BIZ, and the API checks the Biz and the fields it requires). Absent: none.
   */
  validNewFlowUnknown?: number;
  /**
   * Valid new rows of a financial-grade ID_PRO Biz (counted in `validNew.interactive` too): each
   * waits for its person to open its start link. Absent: none.
   */
  validNewStartLink?: number;
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

/** `calls` per action, divided by each action's QPS (`*` for the others; 0 = none). */
export function estimateDuration(
  calls: Readonly<Record<string, number>>,
  qps: Readonly<Record<string, number>>,
  headroom = 0,
): DurationEstimate {
  let best: DurationEstimate = { kind: 'none' };
  for (const [action, n] of Object.entries(calls)) {
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

/** What the person's part adds to the provider calls: legacy polls, start links to be opened. */
function waitsOf(plan: Pick<Plan, 'validNew' | 'validNewStartLink'>): string {
  const startLinks = plan.validNewStartLink ?? 0;
  const waits = [];
  if (plan.validNew.interactive > startLinks) {
    waits.push('GetStatus polls until people finish the page');
  }
  if (startLinks > 0) {
    waits.push(
      'the time people take to open their start link (InitFaceVerify waits for it) and finish the page',
    );
  }
  return waits.length > 0 ? `, plus ${waits.join(', and ')}` : '';
}

function describeEstimate(estimate: DurationEstimate, polls: string): string {
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
    ...(plan.encoding === undefined
      ? []
      : [`  encoding          ${describeEncoding(plan.encoding)}`]),
    // quoted: a sheet's name is the workbook's text, and could hold a line break
    ...(plan.sheet === undefined ? [] : [`  sheet             ${JSON.stringify(plan.sheet)}`]),
    ...(plan.photos === undefined ? [] : [`  photos            ${describePhotos(plan.photos)}`]),
    `  rows read         ${plan.rowsRead}`,
    `  valid, new        ${validCount(plan)}${flows.length ? ` (${flows.join(', ')})` : ''}`,
  ];
  const startLinks = plan.validNewStartLink ?? 0;
  if (startLinks > 0) {
    lines.push(
      `  of which ID_PRO   ${startLinks} (each waits until its person opens the start link that status <TicketId> shows)`,
    );
  }
  lines.push(`  already enqueued  ${plan.alreadyKnown}`, `  invalid           ${plan.invalid}`);
  const listed = plan.invalidRows.slice(0, shown);
  for (const row of listed) lines.push(`    ${formatInvalidRow(row)}`);
  if (plan.invalid > listed.length) {
    lines.push(`    … and ${plan.invalid - listed.length} more`);
  }
  if (plan.invalidLog !== undefined) lines.push(`  all invalid rows  ${plan.invalidLog}`);
  lines.push(`  expected duration ${describeEstimate(estimate, waitsOf(plan))}`);
  return `${lines.join('\n')}\n`;
}

/** `/x/photos.zip (archive of 12 photos; 1 entry refused for its name)`, `/x/photos (folder)`. */
export function describePhotos(photos: PlanPhotos): string {
  if (photos.kind === 'folder') return `${photos.path} (folder)`;
  const refused = photos.refusedEntries ?? 0;
  return (
    `${photos.path} (archive of ${plural(photos.entries ?? 0, 'file')}` +
    `${refused > 0 ? `; ${refused} ${refused === 1 ? 'entry' : 'entries'} left out: ${refused === 1 ? 'its name is absolute or goes' : 'their names are absolute or go'} up (..)` : ''})`
  );
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
