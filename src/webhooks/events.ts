/**
 * The events a business hears about by webhook. An event is a snapshot of one ticket version:
 * its id is `${ticketId}:${version}:${type}`, so publishing the same version twice is one event
 * (and one delivery); it travels as `webhook-id` (Standard Webhooks). Every payload names its
 * shape with `schemaVersion` ({@link WEBHOOK_SCHEMA_VERSION}): a change that could break a
 * receiver (a field removed, renamed or retyped) comes with a new version; fields and event types
 * are added within a version, so receivers ignore what they do not know. Events carry no personal
 * data (no names, no ID numbers, no materials); the `pageUrl` of `ticket.token_issued` is a bearer
 * link and is never logged.
 *
 * Both API families send the same events, with the family's own fields beside ours: `family`,
 * `outerOrderNo` (financial; null for legacy), and the verdict's `subCode` and `certifyId`. A
 * financial ID_PRO ticket is `queued` from its intake until its person opens the start link: its
 * first run sends `ticket.start_link_issued` with the start link as `pageUrl` (so an event-driven
 * business can send it without polling), and `ticket.token_issued` comes once the link was opened,
 * with the provider's CertifyUrl as `pageUrl`.
 */
import { outerOrderNoOf, type ApiFamily } from '../domain/biz.js';
import type { Ticket, TicketState } from '../domain/ticket.js';
import type { StartLinkMaker } from '../flow/start-links.js';

/** Every event type, in the order a ticket can produce them. */
export const WEBHOOK_EVENT_TYPES = [
  'ticket.start_link_issued',
  'ticket.token_issued',
  'ticket.passed',
  'ticket.not_passed',
  'ticket.expired',
  'ticket.failed',
  'ticket.cancelled',
] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

/** The version of the payload's shape that {@link WebhookEvent} describes. */
export const WEBHOOK_SCHEMA_VERSION = 1;

/** The JSON body of a webhook delivery. */
export interface WebhookEvent {
  /**
   * `${ticketId}:${version}:${type}`: the same for every delivery attempt and every re-publish;
   * also the `webhook-id` header.
   */
  id: string;
  type: WebhookEventType;
  /**
   * The payload's shape: 1 for this one ({@link WEBHOOK_SCHEMA_VERSION}). Fields and event types
   * may be added within a version; a breaking change gets a new one.
   */
  schemaVersion: number;
  ticketId: string;
  biz: string;
  /** The API family of the ticket's Biz: `legacy` (2018-09-16) or `financial` (2019-03-07). */
  family: ApiFamily;
  /** Financial family: the OuterOrderNo sent to the provider (in its console); legacy: null. */
  outerOrderNo: string | null;
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
    /** Financial family: the provider's reason code (`SubCode`: 200 passed, 204 no match, …). */
    subCode?: string;
    /** Financial family: the provider's CertifyId of the verification that reached the verdict. */
    certifyId?: string;
  };
  /**
   * `ticket.passed`, `ticket.not_passed`: present (true) when the verdict was reached in embedded
   * mode, on the Cloudauth emulator: no real check of the person was made. Absent for a real one.
   */
  emulated?: true;
  /**
   * `ticket.token_issued`: the page the person completes (legacy: the H5 page the business sends
   * its user to; financial ID_PRO: the provider's CertifyUrl, to which the start page has already
   * sent the person on). `ticket.start_link_issued`: the ticket's start link, the one link to send
   * the person. A bearer link.
   */
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
  cancelled: 'ticket.cancelled',
};

/**
 * The event type a business hears for a state: `awaiting_user` (the page is out) is
 * `ticket.token_issued`; each terminal state has its own (`cancelled`: an operator cancelled the
 * ticket, through the API or the CLI, or an erasure on request did); other states none.
 */
export function webhookEventTypeOf(state: TicketState): WebhookEventType | undefined {
  return TYPE_OF_STATE[state];
}

/**
 * The event of `ticket`'s current version, as `type` (default: {@link webhookEventTypeOf} its
 * state), or undefined when its state has none. Copies only log-safe fields; `occurredAt` is the
 * ticket's `updatedAt`, so building it again gives the same payload.
 */
export function webhookEventOf(
  ticket: Ticket,
  type?: WebhookEventType,
  links?: StartLinkMaker,
): WebhookEvent | undefined {
  const waitsForStart =
    ticket.state === 'queued' && ticket.startBy !== undefined && ticket.startedAt === undefined;
  const eventType =
    type ?? (waitsForStart ? 'ticket.start_link_issued' : webhookEventTypeOf(ticket.state));
  if (eventType === undefined) return undefined;
  const event: WebhookEvent = {
    id: webhookEventId(ticket.ticketId, ticket.version, eventType),
    type: eventType,
    schemaVersion: WEBHOOK_SCHEMA_VERSION,
    ticketId: ticket.ticketId,
    biz: ticket.biz,
    family: ticket.family ?? 'legacy',
    outerOrderNo: ticket.family === 'financial' ? outerOrderNoOf(ticket.ticketId) : null,
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
      ...(v.subCode === undefined ? {} : { subCode: v.subCode }),
      ...(v.certifyId === undefined ? {} : { certifyId: v.certifyId }),
    };
    if (v.emulated === true) event.emulated = true;
  }
  if (eventType === 'ticket.token_issued' && ticket.lease !== undefined) {
    event.pageUrl = ticket.lease.pageUrl;
  }
  if (eventType === 'ticket.start_link_issued') {
    const url = links?.startUrlOf(ticket);
    // without its link the event would tell the business nothing it can act on
    if (url === undefined) return undefined;
    event.pageUrl = url;
  }
  if (eventType === 'ticket.failed' && ticket.lastError !== undefined) {
    event.error = { code: ticket.lastError.code, message: ticket.lastError.message };
  }
  return event;
}
