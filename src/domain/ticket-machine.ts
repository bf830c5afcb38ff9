/**
 * The ticket state machine: one table of legal (state, event) pairs and a pure
 * {@link transition} that applies an event to a ticket. Anything missing from the table is
 * refused with {@link IllegalTransitionError}. Pure and synchronous; no I/O, no clock.
 */
import { IllegalTransitionError } from '../errors.js';
import {
  isTerminal,
  type HistoryEntry,
  type Ticket,
  type TicketEvent,
  type TicketEventType,
  type TicketState,
  type Verdict,
} from './ticket.js';

type EventOf<K extends TicketEventType> = Extract<TicketEvent, { type: K }>;

/** Picks the target state from the ticket or the event, where the table alone cannot. */
type Resolver<K extends TicketEventType> = (ticket: Ticket, event: EventOf<K>) => TicketState;

/** The events one state accepts, and the state each leads to. */
type TransitionRow = { readonly [K in TicketEventType]?: TicketState | Resolver<K> };

const byFlow: Resolver<'token_issued'> = (ticket) =>
  ticket.flow === 'server' ? 'token_issued' : 'awaiting_user';

const outcomeOf = (verdict: Verdict): TicketState =>
  verdict.statusCode === 1 ? 'passed' : 'not_passed';

const byVerdict: Resolver<'verdict'> = (_ticket, event) => outcomeOf(event.verdict);

/** Every legal (state, event type) pair and its target. Only `retried` leaves a final state. */
const TRANSITIONS: Readonly<Record<TicketState, TransitionRow>> = {
  queued: {
    token_issued: byFlow,
    // the financial pre-check (Id2MetaVerify) found the name and number do not match
    verdict: byVerdict,
    // the financial ID_PRO start link ran out unopened
    token_expired: 'expired',
    failed: 'failed',
    cancelled: 'cancelled',
  },
  token_issued: {
    token_renewed: 'token_issued',
    submitted: 'submitted',
    verdict: byVerdict,
    failed: 'failed',
    cancelled: 'cancelled',
  },
  submitted: {
    verdict: byVerdict,
    failed: 'failed',
    cancelled: 'cancelled',
  },
  awaiting_user: {
    verdict: byVerdict,
    token_expired: 'expired',
    failed: 'failed',
    cancelled: 'cancelled',
  },
  passed: {},
  not_passed: {},
  expired: { retried: 'queued' },
  failed: { retried: 'queued' },
  cancelled: {},
};

const EVENT_TYPES = Object.keys({
  token_issued: true,
  token_renewed: true,
  submitted: true,
  verdict: true,
  token_expired: true,
  failed: true,
  cancelled: true,
  retried: true,
} satisfies Record<TicketEventType, true>) as TicketEventType[];

/** What {@link transition} returns: the advanced ticket and the history line that records it. */
export interface TransitionResult {
  ticket: Ticket;
  history: HistoryEntry;
}

function targetOf(state: TicketState, type: TicketEventType): TransitionRow[TicketEventType] {
  if (!Object.hasOwn(TRANSITIONS, state)) return undefined;
  const row = TRANSITIONS[state];
  return Object.hasOwn(row, type) ? row[type] : undefined;
}

/** True when a ticket in `state` accepts an event of `type`. */
export function canApply(state: TicketState, type: TicketEventType): boolean {
  return targetOf(state, type) !== undefined;
}

/** The event types `state` accepts, in a fixed order (none for passed, not_passed, cancelled). */
export function legalEvents(state: TicketState): TicketEventType[] {
  return EVENT_TYPES.filter((type) => canApply(state, type));
}

/**
 * Applies `event` to `ticket` at `now` (ms since the epoch). Pure: returns a copy of the ticket
 * (every field it has, the domain's or not, that the event does not change or clear) with
 * `version` + 1 and `updatedAt = now`, and leaves the input untouched.
 *
 * Effects: `token_issued` / `token_renewed` set `lease`; `verdict` sets `verdict`; `failed` sets
 * `lastError`; entering a terminal state sets `finishedAt` and clears `lease`; `retried` clears `finishedAt`,
 * `lease` and `verdict` and resets `attempts` to 0, keeping `lastError`.
 *
 * @throws {IllegalTransitionError} when the ticket's state does not accept the event.
 */
export function transition(ticket: Ticket, event: TicketEvent, now: number): TransitionResult {
  const target = targetOf(ticket.state, event.type);
  if (target === undefined) throw new IllegalTransitionError(ticket.state, event.type);
  const to =
    typeof target === 'function'
      ? (target as (ticket: Ticket, event: TicketEvent) => TicketState)(ticket, event)
      : target;

  const next: Ticket = {
    ...withEffects(ticket, event),
    state: to,
    version: ticket.version + 1,
    updatedAt: now,
    ...(isTerminal(to) ? { finishedAt: now } : {}),
  };
  // a finished ticket has no use for its lease (a retry takes a new token): its VerifyToken and
  // STS secret are not kept for the retention period
  if (isTerminal(to)) delete next.lease;
  const cause = causeOf(event);
  const history: HistoryEntry = {
    from: ticket.state,
    to,
    event: event.type,
    ...(cause === undefined ? {} : { cause }),
    at: now,
    attempt: ticket.attempts,
  };
  return { ticket: next, history };
}

function withEffects(ticket: Ticket, event: TicketEvent): Ticket {
  switch (event.type) {
    case 'token_issued':
    case 'token_renewed':
      return { ...ticket, lease: event.lease };
    case 'verdict':
      return { ...ticket, verdict: event.verdict };
    case 'failed':
      return { ...ticket, lastError: event.error };
    case 'retried': {
      const reset: Ticket = { ...ticket, attempts: 0 };
      delete reset.lease;
      delete reset.verdict;
      delete reset.finishedAt;
      // a new start link: the person's browser hands in a new MetaInfo
      delete reset.startedAt;
      if (event.startBy !== undefined) reset.startBy = event.startBy;
      return reset;
    }
    case 'submitted':
    case 'token_expired':
    case 'cancelled':
      return ticket;
  }
}

function causeOf(event: TicketEvent): string | undefined {
  switch (event.type) {
    case 'failed':
      return event.error.code;
    case 'verdict': {
      const outcome = outcomeOf(event.verdict);
      const conclusions = event.verdict.auditConclusions;
      return conclusions ? `${outcome}: ${conclusions}` : outcome;
    }
    case 'token_issued':
    case 'token_renewed':
    case 'submitted':
    case 'token_expired':
    case 'cancelled':
    case 'retried':
      return undefined;
  }
}
