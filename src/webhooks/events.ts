/**
 * The events a business hears about by webhook. An event is a snapshot of one ticket version:
 * its id is `${ticketId}:${version}:${type}`, so publishing the same version twice is one event
 * (and one delivery). Events carry no personal data (no names, no ID numbers, no materials); the
 * `pageUrl` of `ticket.token_issued` is a bearer link and is never logged.
 */
import type { Ticket, TicketState } from '../domain/ticket.js';

/** Every event type, in the order a ticket can produce them. */
export const WEBHOOK_EVENT_TYPES = [
  'ticket.token_issued',
  'ticket.passed',
  'ticket.not_passed',
  'ticket.expired',
  'ticket.failed',
] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

/** The JSON body of a webhook delivery. */
export interface WebhookEvent {
  /** `${ticketId}:${version}:${type}`: the same for every delivery attempt and every re-publish. */
  id: string;
  type: WebhookEventType;
  ticketId: string;
  biz: string;
  batchId?: string;
  /** The ticket's state at `version`. */
  state: string;
  /** The ticket version the event describes. */
  version: number;
  /** When the ticket reached this version, ISO 8601 UTC. */
  occurredAt: string;
  /** Cloudauth's verdict and scores (`ticket.passed`, `ticket.not_passed`). */
  verdict?: {
    statusCode: 1 | 2;
    similarityScore?: number;
    trustedScore?: number;
    authorityComparisonScore?: number;
    auditConclusions?: string;
  };
  /**
   * `ticket.passed`, `ticket.not_passed`: present (true) when the verdict was reached in embedded
   * mode, on the Cloudauth emulator: no real check of the person was made. Absent for a real one.
   */
  emulated?: true;
  /** `ticket.token_issued` only: the H5 page the business sends its user to. A bearer link. */
  pageUrl?: string;
  /** `ticket.failed` only: the log-safe cause. */
  error?: { code: string; message: string };
}

/** The deterministic id of an event. */
export function webhookEventId(ticketId: string, version: number, type: WebhookEventType): string {
  return `${ticketId}:${version}:${type}`;
}

const TYPE_OF_STATE: Partial<Record<TicketState, WebhookEventType>> = {
  awaiting_user: 'ticket.token_issued',
  passed: 'ticket.passed',
  not_passed: 'ticket.not_passed',
  expired: 'ticket.expired',
  failed: 'ticket.failed',
};

/**
 * The event type a business hears for a state: `awaiting_user` (the page is out) is
 * `ticket.token_issued`; the terminal states except `cancelled` have their own; other states none.
 */
export function webhookEventTypeOf(state: TicketState): WebhookEventType | undefined {
  return TYPE_OF_STATE[state];
}

/**
 * The event of `ticket`'s current version, as `type` (default: {@link webhookEventTypeOf} its
 * state), or undefined when its state has none. Copies only log-safe fields; `occurredAt` is the
 * ticket's `updatedAt`, so building it again gives the same payload.
 */
export function webhookEventOf(ticket: Ticket, type?: WebhookEventType): WebhookEvent | undefined {
  const eventType = type ?? webhookEventTypeOf(ticket.state);
  if (eventType === undefined) return undefined;
  const event: WebhookEvent = {
    id: webhookEventId(ticket.ticketId, ticket.version, eventType),
    type: eventType,
    ticketId: ticket.ticketId,
    biz: ticket.biz,
    state: ticket.state,
    version: ticket.version,
    occurredAt: new Date(ticket.updatedAt).toISOString(),
  };
  if (ticket.batchId !== undefined) event.batchId = ticket.batchId;
  const v = ticket.verdict;
  if (v !== undefined && (eventType === 'ticket.passed' || eventType === 'ticket.not_passed')) {
    event.verdict = {
      statusCode: v.statusCode,
      ...(v.similarityScore === undefined ? {} : { similarityScore: v.similarityScore }),
      ...(v.trustedScore === undefined ? {} : { trustedScore: v.trustedScore }),
      ...(v.authorityComparisonScore === undefined
        ? {}
        : { authorityComparisonScore: v.authorityComparisonScore }),
      ...(v.auditConclusions === undefined ? {} : { auditConclusions: v.auditConclusions }),
    };
    if (v.emulated === true) event.emulated = true;
  }
  if (eventType === 'ticket.token_issued' && ticket.lease !== undefined) {
    event.pageUrl = ticket.lease.pageUrl;
  }
  if (eventType === 'ticket.failed' && ticket.lastError !== undefined) {
    event.error = { code: ticket.lastError.code, message: ticket.lastError.message };
  }
  return event;
}
