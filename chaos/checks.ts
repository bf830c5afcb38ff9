/**
 * The end-of-run checks, ticket by ticket.
 *
 * Legacy tickets (API 2018-09-16) against two sources: the orchestrator's own view
 * (`GET /v1/tickets/:id`) and the emulator's record (`GET /__admin/tickets/:biz/:ticketId`):
 * passed ↔ the emulator's latest submission has StatusCode 1, not_passed ↔ 2, expired ↔ no
 * submission.
 *
 * Financial-grade tickets (API 2019-03-07; the emulator keeps no record by ticket) against the
 * plan, by the emulator's verdict rules (`src/emulator/cloudauth/face-verify-verdict.ts`):
 * - FaceServer (Id2MetaVerify pre-check, then ContrastFaceVerify): a name on the reject list ends
 *   `not_passed` SubCode 201 at the pre-check, with no face call; any other name passes (SubCode
 *   200; the review list means nothing there), with the CertifyId of its ContrastFaceVerify;
 * - FaceH5 (the person's browser): "fail" on the CertifyUrl page → `not_passed` SubCode 205; else a
 *   reject-list name → `not_passed` 201, any other → `passed` 200; a person who could not finish
 *   (start link refused, page closed) is a finding of its own.
 *
 * For every ticket: lost (an accepted TicketId the orchestrator does not know), stuck (known but
 * not terminal), failed or cancelled (every accepted item is valid), advanced twice (the history
 * is not one chain from `queued`).
 *
 * A FaceServer ticket whose ContrastFaceVerify answer was lost (a worker kill mid-call, the
 * emulator's lost answers, a timeout) ends `failed` with `SUBMISSION_OUTCOME_UNKNOWN` by design (at
 * most once; an operator's retry sends it again): counted apart, not a mismatch. A reject-list
 * FaceServer ticket whose Id2MetaVerify answer was lost is judged by its face call instead (the
 * same `not_passed` SubCode 201, with a CertifyId): counted apart too.
 *
 * Billing, from the emulator (see {@link duplicateBillableCalls}), every duplicate a failure:
 * - SubmitMaterials answered OK beyond one per submitted RPMin ticket (GetStatus finds a
 *   submission whose answer was lost);
 * - ContrastFaceVerify billed more than once for one OuterOrderNo, Id2MetaVerify more than once
 *   for one identity (the emulator's billing record, `/__admin/face-verify/billed`).
 */
import { mapLimit, request, type OrchestratorApi } from './api-client.js';
import type { PlannedTicket } from './chaos-tickets.js';
import { FACE_OUTCOMES_TAKEN, type FaceOutcome } from './face-driver.js';

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
  verdict: {
    statusCode: 1 | 2;
    subCode?: string;
    certifyId?: string;
    auditConclusions?: string;
  } | null;
  lastError: { code: string; message: string } | null;
  history: HistoryView[];
}

/** The emulator's record of one legacy ticket. */
export interface EmulatorRecord {
  tokensIssued: number;
  submissions: { via: string; statusCode: number }[];
}

/** A span of time, ms since the epoch. */
export interface Span {
  from: number;
  to: number;
}

/** The findings and figures of the checks. */
export interface CheckResult {
  states: Record<string, number>;
  /** Biz → final state → tickets. */
  statesByBiz: Record<string, Record<string, number>>;
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
  /** FaceServer tickets whose verdict a ContrastFaceVerify reached (it carries a CertifyId). */
  contrastTicketsJudged: number;
  /**
   * For each of those, from its lease (`token_issued`) to its verdict: every ContrastFaceVerify of
   * the ticket was sent within it.
   */
  contrastSpans: Span[];
  /** FaceServer tickets failed `SUBMISSION_OUTCOME_UNKNOWN` (a face call's answer lost; not sent twice). */
  outcomeUnknown: string[];
  /** Reject-list FaceServer tickets judged by the face call: their pre-check's answer was lost. */
  precheckLost: number;
}

/** The billable calls the emulator answered OK (its counters) and its billing record. */
export interface BilledCalls {
  submitMaterials: number;
  contrastFaceVerify: number;
  /** OuterOrderNos billed more than one ContrastFaceVerify. */
  contrastRepeatedOrders: number;
  /** Identities billed more than one Id2MetaVerify. */
  id2MetaRepeatedIdentities: number;
}

/** Billable calls beyond one per ticket that needs one, by action. */
export interface DuplicateBilling {
  SubmitMaterials: number;
  ContrastFaceVerify: number;
  Id2MetaVerify: number;
}

/**
 * The duplicates: beyond one SubmitMaterials per submitted RPMin ticket; orders billed more than
 * one ContrastFaceVerify; identities billed more than one Id2MetaVerify.
 */
export function duplicateBillableCalls(
  billed: BilledCalls,
  checks: Pick<CheckResult, 'serverTicketsSubmitted'>,
): DuplicateBilling {
  return {
    SubmitMaterials: Math.max(0, billed.submitMaterials - checks.serverTicketsSubmitted),
    ContrastFaceVerify: billed.contrastRepeatedOrders,
    Id2MetaVerify: billed.id2MetaRepeatedIdentities,
  };
}

/** How many spans a disruption (a worker kill, the Redis outage) overlaps. */
export function exposedSpans(spans: readonly Span[], disruptions: readonly Span[]): number {
  return spans.filter((s) => disruptions.some((d) => d.from <= s.to && s.from <= d.to)).length;
}

/**
 * The billing check: every duplicate fails the run, whatever caused it. A crash between
 * SubmitMaterials and its transition must be caught by the next run's GetStatus; a ContrastFaceVerify
 * or Id2MetaVerify whose answer was lost must not be made again. The RPMin tickets are named where
 * the emulator recorded their duplicates.
 */
export function billingProblems(
  billed: BilledCalls,
  checks: Pick<CheckResult, 'serverTicketsSubmitted' | 'recordedDuplicateSubmissions'>,
): string[] {
  const duplicates = duplicateBillableCalls(billed, checks);
  const problems: string[] = [];
  if (duplicates.SubmitMaterials > 0) {
    problems.push(
      `${duplicates.SubmitMaterials} duplicate billable SubmitMaterials: ${billed.submitMaterials} answered OK for ${checks.serverTicketsSubmitted} submitted server tickets`,
      ...checks.recordedDuplicateSubmissions,
    );
  }
  if (duplicates.ContrastFaceVerify > 0) {
    problems.push(
      `${duplicates.ContrastFaceVerify} OuterOrderNos billed more than one ContrastFaceVerify`,
    );
  }
  if (duplicates.Id2MetaVerify > 0) {
    problems.push(`${duplicates.Id2MetaVerify} identities billed more than one Id2MetaVerify`);
  }
  return problems;
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

const ended = (view: Pick<TicketView, 'state' | 'lastError'>) =>
  `ended ${view.state}${view.lastError ? ` (${view.lastError.code}: ${view.lastError.message})` : ''}`;

/** The verdict problem of one legacy ticket, or undefined when its state agrees with the emulator. */
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
      return ended(view);
  }
}

/** What a financial-grade ticket must end with, by the emulator's rules. */
export interface ExpectedVerdict {
  state: 'passed' | 'not_passed';
  subCode: '200' | '201' | '205';
  /** Ended by Id2MetaVerify, before any face call. */
  atPrecheck: boolean;
}

/** The verdict a FaceServer or FaceH5 ticket must end with. */
export function expectedFinancialVerdict(
  planned: Pick<PlannedTicket, 'biz' | 'nameKind' | 'face'>,
): ExpectedVerdict {
  if (planned.biz === 'FaceH5' && planned.face?.plan === 'fail') {
    return { state: 'not_passed', subCode: '205', atPrecheck: false };
  }
  if (planned.nameKind === 'reject') {
    return { state: 'not_passed', subCode: '201', atPrecheck: planned.biz === 'FaceServer' };
  }
  return { state: 'passed', subCode: '200', atPrecheck: false };
}

/**
 * The verdict problem of one financial-grade ticket, or undefined when it ended as planned.
 * `faceOutcome`: FaceH5 only, what the person's browser got (see `face-driver.ts`).
 */
export function financialVerdictProblem(
  view: TicketView,
  planned: Pick<PlannedTicket, 'biz' | 'nameKind' | 'face'>,
  faceOutcome?: FaceOutcome,
): string | undefined {
  if (
    planned.biz === 'FaceH5' &&
    (faceOutcome === undefined || !FACE_OUTCOMES_TAKEN.has(faceOutcome))
  ) {
    return `the person could not finish (${faceOutcome ?? 'start link never opened'}); ${ended(view)}`;
  }
  const want = expectedFinancialVerdict(planned);
  if (view.state !== want.state) {
    return `${ended(view)}, expected ${want.state} SubCode ${want.subCode}`;
  }
  const v = view.verdict;
  if (v?.statusCode !== (want.state === 'passed' ? 1 : 2)) {
    return `${view.state} with verdict ${JSON.stringify(v)}`;
  }
  if (v.subCode !== want.subCode) {
    return `${view.state} with SubCode ${v.subCode ?? 'absent'}, expected ${want.subCode}`;
  }
  if (want.atPrecheck) {
    const faceCall =
      v.certifyId !== undefined ||
      !(v.auditConclusions ?? '').startsWith('Id2MetaVerify:') ||
      view.history.some((h) => h.to === 'token_issued');
    // a face call that judged it (a CertifyId): the pre-check's answer was lost, not made again
    return faceCall && v.certifyId === undefined
      ? 'not_passed after a face call without a CertifyId, expected it to end at the Id2MetaVerify pre-check'
      : undefined;
  }
  return v.certifyId === undefined
    ? `${view.state} without a CertifyId: no face verification reached it`
    : undefined;
}

const TERMINAL = new Set(['passed', 'not_passed', 'expired', 'failed', 'cancelled']);

/** Checks every accepted ticket. */
export async function checkTickets(options: {
  api: OrchestratorApi;
  emulatorUrl: string;
  tickets: readonly PlannedTicket[];
  accepted: ReadonlySet<string>;
  /** FaceH5 TicketId → what the person's browser got. */
  faceOutcomes?: ReadonlyMap<string, FaceOutcome>;
  /**
   * When each ticket was accepted: where it is given, a ContrastFaceVerify span starts there rather
   * than at the lease (a power loss can take the lease's transition with it).
   */
  acceptedAt?: ReadonlyMap<string, number>;
}): Promise<CheckResult> {
  const result: CheckResult = {
    states: {},
    statesByBiz: {},
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
    contrastTicketsJudged: 0,
    contrastSpans: [],
    outcomeUnknown: [],
    precheckLost: 0,
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
    const byBiz = (result.statesByBiz[planned.biz] ??= {});
    byBiz[view.state] = (byBiz[view.state] ?? 0) + 1;
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
    if (planned.biz === 'FaceServer' || planned.biz === 'FaceH5') {
      if (
        planned.biz === 'FaceServer' &&
        view.state === 'failed' &&
        view.lastError?.code === 'SUBMISSION_OUTCOME_UNKNOWN'
      ) {
        result.outcomeUnknown.push(id);
        return;
      }
      if (
        planned.biz === 'FaceServer' &&
        expectedFinancialVerdict(planned).atPrecheck &&
        view.verdict?.certifyId !== undefined
      ) {
        result.precheckLost++;
      }
      if (planned.biz === 'FaceServer' && view.verdict?.certifyId !== undefined) {
        result.contrastTicketsJudged++;
        const leased = view.history.find((h) => h.to === 'token_issued');
        const judged = view.history.at(-1);
        const from = options.acceptedAt?.get(id) ?? (leased ? Date.parse(leased.at) : undefined);
        if (from !== undefined && judged !== undefined) {
          result.contrastSpans.push({ from, to: Date.parse(judged.at) });
        }
      }
      const problem = financialVerdictProblem(view, planned, options.faceOutcomes?.get(id));
      if (problem !== undefined) result.mismatches.push(`${id}: ${problem}`);
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
