/**
 * The end-of-run checks, ticket by ticket, against two sources: the orchestrator's own view
 * (`GET /v1/tickets/:id`) and the emulator's record (`GET /__admin/tickets/:biz/:ticketId`).
 *
 * - lost: an accepted TicketId the orchestrator does not know;
 * - stuck: known but not terminal;
 * - verdict mismatch: passed ↔ the emulator's latest submission has StatusCode 1, not_passed ↔ 2,
 *   expired ↔ no submission; failed or cancelled is a mismatch too (every accepted item is valid);
 * - advanced twice: the history is not one chain from `queued` (each `from` is the previous `to`);
 * - billed twice: the emulator answered more SubmitMaterials than there are submitted server
 *   tickets (see {@link billingProblems}).
 */
import { mapLimit, request, type OrchestratorApi } from './api-client.js';
import type { PlannedTicket } from './chaos-tickets.js';

interface HistoryView {
  from: string;
  to: string;
  event: string;
  cause?: string;
  at: string;
}

/** The part of `GET /v1/tickets/:id` the checks read. */
export interface TicketView {
  TicketId: string;
  state: string;
  attempts: number;
  verdict: { statusCode: 1 | 2 } | null;
  lastError: { code: string; message: string } | null;
  history: HistoryView[];
}

/** The emulator's record of one ticket. */
export interface EmulatorRecord {
  tokensIssued: number;
  submissions: { via: string; statusCode: number }[];
}

/** The findings and figures of the checks. */
export interface CheckResult {
  states: Record<string, number>;
  /** TicketId → final state, for the tickets the orchestrator knows. */
  stateOf: Map<string, string>;
  lost: string[];
  stuck: string[];
  mismatches: string[];
  brokenHistories: string[];
  /** Sum of `attempts` (failed processing attempts retried). */
  retries: number;
  /** History entries `token_renewed`. */
  renewals: number;
  /** GetVerifyToken calls the emulator answered per ticket, summed. */
  tokensIssued: number;
  /** Server tickets with at least one recorded SubmitMaterials. */
  serverTicketsSubmitted: number;
  /**
   * Tickets the emulator recorded more than one SubmitMaterials for, as `id: n SubmitMaterials`
   * (a passed verdict stops the recording, so a later duplicate is counted but not named here).
   */
  recordedDuplicateSubmissions: string[];
}

/** SubmitMaterials answered OK (billed) beyond one per submitted server ticket. */
export function duplicateBillableCalls(
  submitMaterialsOk: number,
  checks: Pick<CheckResult, 'serverTicketsSubmitted'>,
): number {
  return Math.max(0, submitMaterialsOk - checks.serverTicketsSubmitted);
}

/**
 * The billing check: every SubmitMaterials the emulator answered OK is billed, and a server ticket
 * needs one. Any call beyond that is a failure of the run, whatever caused it (a crash between
 * SubmitMaterials and its transition must be caught by the next run's GetStatus). The tickets
 * are named where the emulator recorded their duplicates.
 */
export function billingProblems(
  submitMaterialsOk: number,
  checks: Pick<CheckResult, 'serverTicketsSubmitted' | 'recordedDuplicateSubmissions'>,
): string[] {
  const duplicates = duplicateBillableCalls(submitMaterialsOk, checks);
  if (duplicates === 0) return [];
  return [
    `${duplicates} duplicate billable SubmitMaterials: ${submitMaterialsOk} answered OK for ${checks.serverTicketsSubmitted} submitted server tickets`,
    ...checks.recordedDuplicateSubmissions,
  ];
}

/**
 * True when the history is one chain from `queued` to `state`: each transition starts where the
 * one before ended, so none was applied twice. A ticket still `queued` may have none.
 */
export function isOneChain(
  history: readonly { from: string; to: string }[],
  state: string,
): boolean {
  if (history.length === 0) return state === 'queued';
  if (history[0]?.from !== 'queued' || history.at(-1)?.to !== state) return false;
  return history.every((h, i) => i === 0 || history[i - 1]?.to === h.from);
}

/** The verdict problem of one ticket, or undefined when its state agrees with the emulator. */
export function verdictProblem(
  view: TicketView,
  record: EmulatorRecord | undefined,
): string | undefined {
  const latest = record?.submissions.at(-1);
  switch (view.state) {
    case 'passed':
    case 'not_passed': {
      const want = view.state === 'passed' ? 1 : 2;
      if (latest?.statusCode !== want) {
        return `${view.state} but the emulator's latest StatusCode is ${latest?.statusCode ?? 'absent (no submission)'}`;
      }
      if (view.verdict?.statusCode !== want)
        return `${view.state} with verdict ${JSON.stringify(view.verdict)}`;
      return undefined;
    }
    case 'expired':
      return latest === undefined
        ? undefined
        : `expired but the emulator recorded a submission (StatusCode ${latest.statusCode})`;
    default:
      return `ended ${view.state}${view.lastError ? ` (${view.lastError.code}: ${view.lastError.message})` : ''}`;
  }
}

const TERMINAL = new Set(['passed', 'not_passed', 'expired', 'failed', 'cancelled']);

/** Checks every accepted ticket. */
export async function checkTickets(options: {
  api: OrchestratorApi;
  emulatorUrl: string;
  tickets: readonly PlannedTicket[];
  accepted: ReadonlySet<string>;
}): Promise<CheckResult> {
  const result: CheckResult = {
    states: {},
    stateOf: new Map(),
    lost: [],
    stuck: [],
    mismatches: [],
    brokenHistories: [],
    retries: 0,
    renewals: 0,
    tokensIssued: 0,
    serverTicketsSubmitted: 0,
    recordedDuplicateSubmissions: [],
  };
  const accepted = options.tickets.filter((t) => options.accepted.has(t.ticketId));
  await mapLimit(accepted, 8, async (planned) => {
    const id = planned.ticketId;
    const answer = await options.api.get<TicketView>(`/v1/tickets/${encodeURIComponent(id)}`);
    if (answer.status === 404) {
      result.lost.push(id);
      return;
    }
    if (answer.status !== 200) {
      result.mismatches.push(`${id}: GET answered ${answer.status}`);
      return;
    }
    const view = answer.body;
    result.states[view.state] = (result.states[view.state] ?? 0) + 1;
    result.stateOf.set(id, view.state);
    result.retries += view.attempts;
    result.renewals += view.history.filter((h) => h.event === 'token_renewed').length;
    if (!isOneChain(view.history, view.state)) {
      result.brokenHistories.push(
        `${id}: ${view.history.map((h) => `${h.from}→${h.to}`).join(', ')}`,
      );
    }
    if (!TERMINAL.has(view.state)) {
      result.stuck.push(`${id}: ${view.state}`);
      return;
    }
    const rec = await request<EmulatorRecord>(
      `${options.emulatorUrl}/__admin/tickets/${planned.biz}/${encodeURIComponent(id)}`,
    );
    const record = rec.status === 200 ? rec.body : undefined;
    if (record) {
      result.tokensIssued += record.tokensIssued;
      const submitted = record.submissions.filter((s) => s.via === 'SubmitMaterials').length;
      if (submitted > 0) result.serverTicketsSubmitted++;
      if (submitted > 1)
        result.recordedDuplicateSubmissions.push(`${id}: ${submitted} SubmitMaterials`);
    }
    const problem = verdictProblem(view, record);
    if (problem !== undefined) result.mismatches.push(`${id}: ${problem}`);
  });
  return result;
}
