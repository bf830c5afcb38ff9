/**
 * The ticket flow as a pure decider: from a ticket as stored, what this run has learnt so far and
 * the time, the one next {@link Step}. The executor (`src/flow/ticket-processor.ts`) carries the
 * step out, persists its result and asks again with the ticket as written (read again when a
 * write lost to another worker), until a step waits or the ticket has ended. No I/O, no clock: everything comes in the arguments.
 *
 * The guarantees it encodes:
 * - SubmitMaterials is billed once: a ticket with a submit mark whose outcome this run has not
 *   learnt gets a GetStatus first, and is submitted again only when the provider answers that it
 *   has no submission (-1); an answer from SubmitMaterials itself never leads to a second one.
 * - A submission the provider cannot be asked about (ContrastFaceVerify: its status answer says
 *   `noLookup`) is made at most once: a mark whose call's outcome is unknown (the mark is released
 *   only when the call was surely not acted on) ends the ticket `SUBMISSION_OUTCOME_UNKNOWN`,
 *   unless `resubmitUnknown` says to send it again.
 * - A lease is renewed ahead of its end: a VerifyToken or STS credential that runs out within the
 *   lease margin, capped at a quarter of that credential's own lifetime (so a lease just issued is
 *   never "expiring", however short its credentials live), is replaced before it is used.
 * - One run takes at most `maxRenewalsPerRun` new tokens; then it gives the job back to the
 *   backoff.
 */
import { type Lease, type Ticket, type TicketState, type Verdict } from './ticket.js';

/** What the decider needs of the processor's settings (all durations in ms). */
export interface DecideSettings {
  /** Renew a credential that runs out within this margin (at most a quarter of its lifetime). */
  leaseMarginMs: number;
  /** First status re-check delay. */
  pollInitialMs: number;
  /** Longest status re-check delay. */
  pollMaxMs: number;
  /** Growth of the re-check delay per re-check. */
  pollFactor: number;
  /** New tokens one run may take before it gives the job back to the backoff. */
  maxRenewalsPerRun: number;
  /**
   * How long a submission (the paid call) can take, in ms: its client's timeout and a margin. A
   * submit mark younger than this may be another run's call still in flight (two runs of one job
   * after a lock lost to a stalled process), so "no submission known" waits until it is older
   * before one more is made. Default 0: no wait.
   */
  submitInFlightMs?: number;
  /**
   * A submission the provider cannot be asked about whose outcome is unknown: send it again
   * (true: at least once, a second bill possible) instead of ending the ticket
   * `SUBMISSION_OUTCOME_UNKNOWN` (false, the default: at most once). `UNKNOWN_SUBMISSION`.
   */
  resubmitUnknown?: boolean;
}

/**
 * A provider's answer about a ticket: Cloudauth's StatusCode (-1 no submission known, 0 under
 * way, 1 passed, 2 not passed) and the verdict's scores.
 */
export interface StatusAnswer {
  statusCode: number;
  trustedScore?: number;
  similarityScore?: number;
  authorityComparisonScore?: number;
  auditConclusions?: string;
  /** Financial family: the reason code (SubCode) and the provider's CertifyId. */
  subCode?: string;
  certifyId?: string;
  /**
   * The provider keeps nothing it can be asked about a submission (financial ID_MIN's
   * ContrastFaceVerify): statusCode -1 then means "not known", not "no submission".
   */
  noLookup?: true;
}

/** A status answer learnt in this run, and what the ticket was when it was asked. */
export interface LearntStatus {
  answer: StatusAnswer;
  /** GetStatus, or the answer of the SubmitMaterials this run sent. */
  from: 'GetStatus' | 'SubmitMaterials';
  /** The ticket's state and submit mark when asked: the answer holds while both are unchanged. */
  state: TicketState;
  submitStartedAt: number | undefined;
}

/** What one run of a ticket's job has learnt so far; a new run starts from {@link freshRun}. */
export interface RunMemory {
  /** New tokens this run took. */
  renewals: number;
  /** The VerifyToken whose lease the provider refused in this run (STS or token invalid). */
  refusedToken?: string;
  status?: LearntStatus;
  /** Status re-checks of the ticket so far (across runs; the poll delay grows with them). */
  polls: number;
  /** The submit mark of this run's own submission, once its call has ended (answered or refused). */
  endedMark?: number;
}

/** The memory of a run that has learnt nothing yet. */
export function freshRun(polls = 0): RunMemory {
  return { renewals: 0, polls };
}

/** Why a lease is replaced by a new GetVerifyToken. */
export type RenewReason = 'absent' | 'token_expiring' | 'sts_expiring' | 'refused';

/** The next step of a ticket. */
export type Step =
  /** GetVerifyToken for a queued ticket (the server flow checks its materials first). */
  | { kind: 'get_token' }
  /**
   * Financial `ID_PRO`: the person has not opened the start link yet; wait for their browser's
   * MetaInfo (the API wakes the job) until the link's end `until`.
   */
  | { kind: 'await_start'; until: number }
  /** A new GetVerifyToken replacing the held lease. */
  | { kind: 'renew'; reason: RenewReason }
  /** Upload the images under the lease, set the submit mark, SubmitMaterials. */
  | { kind: 'upload_and_submit' }
  /** GetStatus: after a crash (a submit mark with no known outcome) or as a re-check. */
  | { kind: 'check_status'; why: 'after_crash' | 'poll' }
  /** Record the move to `submitted`: the provider has the materials, the verdict is not in. */
  | { kind: 'record_submitted' }
  /** Save the verdict (GetStatus or SubmitMaterials answered 1 or 2). */
  | { kind: 'finish'; verdict: Verdict }
  /** The interactive token (or the start link) ran out before the person finished. */
  | { kind: 'expire' }
  /**
   * A submission the provider cannot be asked about was sent and its outcome is unknown: the
   * ticket fails `SUBMISSION_OUTCOME_UNKNOWN` rather than pay again (an operator's `retry` sends it).
   */
  | { kind: 'outcome_unknown' }
  /** Re-check the status at `at` (ms since the epoch), in a later run. */
  | { kind: 'wait_until'; at: number }
  /** The run took its renewals and the lease still will not do: back to the backoff. */
  | { kind: 'give_back'; cause: 'renewals_exhausted' }
  /** The ticket has ended. */
  | { kind: 'done'; state: TicketState };

/** The ticket as the decider reads it: with the store's submit mark. */
export type DecidedTicket = Ticket & { submitStartedAt?: number };

/** The next step for `ticket` at `now` (ms since the epoch), given what this `run` learnt. */
export function decide(
  ticket: DecidedTicket,
  run: RunMemory,
  now: number,
  settings: DecideSettings,
): Step {
  const status = statusFor(ticket, run);
  switch (ticket.state) {
    case 'queued':
      return decideQueued(ticket, now);
    case 'token_issued':
      return decideSubmission(ticket, run, status, now, settings);
    case 'submitted':
      return decideSubmitted(status, run, now, settings);
    case 'awaiting_user':
      return decideAwaiting(ticket, status, run, now, settings);
    case 'passed':
    case 'not_passed':
    case 'expired':
    case 'failed':
    case 'cancelled':
      return { kind: 'done', state: ticket.state };
  }
}

/**
 * A queued ticket takes its token, unless it waits for the person to open its start link
 * (financial `ID_PRO`: InitFaceVerify needs the MetaInfo their browser produces); a link that ran
 * out unopened expires the ticket.
 */
function decideQueued(ticket: DecidedTicket, now: number): Step {
  if (ticket.startBy === undefined || ticket.startedAt !== undefined) return { kind: 'get_token' };
  return now >= ticket.startBy
    ? { kind: 'expire' }
    : { kind: 'await_start', until: ticket.startBy };
}

function decideSubmission(
  ticket: DecidedTicket,
  run: RunMemory,
  status: LearntStatus | undefined,
  now: number,
  settings: DecideSettings,
): Step {
  if (status === undefined && ticket.submitStartedAt !== undefined) {
    return { kind: 'check_status', why: 'after_crash' };
  }
  if (status !== undefined) {
    const verdict = verdictOf(status.answer);
    if (verdict) return { kind: 'finish', verdict };
    // only the provider saying it has no submission allows one more
    if (status.from === 'SubmitMaterials' || status.answer.statusCode !== -1) {
      return { kind: 'record_submitted' };
    }
    // ... and only once no other run's call can still be on its way (this run's own has ended)
    const inFlightUntil = (ticket.submitStartedAt ?? 0) + (settings.submitInFlightMs ?? 0);
    const mine = run.endedMark !== undefined && run.endedMark === ticket.submitStartedAt;
    if (ticket.submitStartedAt !== undefined && !mine && now < inFlightUntil) {
      return { kind: 'wait_until', at: inFlightUntil };
    }
    // "not known" is no licence to pay again: a mark still standing is a call that may have been
    // judged (a call surely not acted on released its mark)
    if (
      status.answer.noLookup === true &&
      ticket.submitStartedAt !== undefined &&
      !mine &&
      settings.resubmitUnknown !== true
    ) {
      return { kind: 'outcome_unknown' };
    }
  }
  const reason =
    run.refusedToken !== undefined && run.refusedToken === ticket.lease?.verifyToken
      ? 'refused'
      : renewalReason(ticket.lease, now, settings.leaseMarginMs);
  if (reason === undefined) return { kind: 'upload_and_submit' };
  return run.renewals < settings.maxRenewalsPerRun
    ? { kind: 'renew', reason }
    : { kind: 'give_back', cause: 'renewals_exhausted' };
}

function decideSubmitted(
  status: LearntStatus | undefined,
  run: RunMemory,
  now: number,
  settings: DecideSettings,
): Step {
  if (status === undefined) return { kind: 'check_status', why: 'poll' };
  const verdict = verdictOf(status.answer);
  if (verdict) return { kind: 'finish', verdict };
  return { kind: 'wait_until', at: now + pollDelay(run.polls, settings) };
}

function decideAwaiting(
  ticket: DecidedTicket,
  status: LearntStatus | undefined,
  run: RunMemory,
  now: number,
  settings: DecideSettings,
): Step {
  if (status === undefined) return { kind: 'check_status', why: 'poll' };
  const verdict = verdictOf(status.answer);
  if (verdict) return { kind: 'finish', verdict };
  const left = (ticket.lease?.tokenExpiresAt ?? 0) - now;
  if (status.answer.statusCode === -1 && left <= 0) return { kind: 'expire' };
  const delay = pollDelay(run.polls, settings);
  // a re-check soon after the token's end, to expire the ticket on time
  return { kind: 'wait_until', at: now + (left > 0 ? Math.min(delay, left + 1000) : delay) };
}

/** The run's status answer, if it still holds for the ticket as read now. */
function statusFor(ticket: DecidedTicket, run: RunMemory): LearntStatus | undefined {
  const s = run.status;
  if (s === undefined) return undefined;
  return s.state === ticket.state && s.submitStartedAt === ticket.submitStartedAt ? s : undefined;
}

/**
 * Why `lease` must be replaced at `now`, or undefined when it will do. Each credential is
 * "expiring" when less than the margin is left, the margin being at most a quarter of that
 * credential's lifetime since the lease was issued: a lease just issued is never expiring.
 */
export function renewalReason(
  lease: Lease | undefined,
  now: number,
  marginMs: number,
): RenewReason | undefined {
  if (!lease) return 'absent';
  const expiring = (end: number) => end - now < Math.min(marginMs, (end - lease.issuedAt) / 4);
  if (expiring(lease.tokenExpiresAt)) return 'token_expiring';
  if (lease.sts !== undefined && expiring(lease.sts.expiresAt)) return 'sts_expiring';
  return undefined;
}

/** The delay before the next status re-check, after `polls` of them: grows, up to the maximum. */
export function pollDelay(polls: number, settings: DecideSettings): number {
  return Math.min(settings.pollMaxMs, settings.pollInitialMs * settings.pollFactor ** polls);
}

/** The verdict in a status answer (StatusCode 1 or 2), or undefined when there is none yet. */
export function verdictOf(s: StatusAnswer): Verdict | undefined {
  if (s.statusCode !== 1 && s.statusCode !== 2) return undefined;
  return {
    statusCode: s.statusCode,
    ...(s.trustedScore === undefined ? {} : { trustedScore: s.trustedScore }),
    ...(s.similarityScore === undefined ? {} : { similarityScore: s.similarityScore }),
    ...(s.authorityComparisonScore === undefined
      ? {}
      : { authorityComparisonScore: s.authorityComparisonScore }),
    ...(s.auditConclusions === undefined ? {} : { auditConclusions: s.auditConclusions }),
    ...(s.subCode === undefined ? {} : { subCode: s.subCode }),
    ...(s.certifyId === undefined ? {} : { certifyId: s.certifyId }),
  };
}
