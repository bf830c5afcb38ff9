/**
 * Tickets as the API shows them: Cloudauth's names for the keys the producer sent (`TicketId`,
 * `Biz`), ISO timestamps, the applicant masked, `emulated` beside the verdict, and nothing of the
 * lease but the page URL of an interactive ticket that waits for its person.
 */
import type { TicketBinding } from '../domain/binding.js';
import { outerOrderNoOf } from '../domain/biz.js';
import type { StartLinkMaker } from '../flow/start-links.js';
import { PersonalDataErasedError } from '../errors.js';

export type { StartLinkMaker };
import { maskIdNumber, maskName } from '../domain/mask.js';
import type { HistoryEntry, Ticket, TicketError, Verdict } from '../domain/ticket.js';
import type { ListedTicket, StoredTicket, TicketStore } from '../adapters/redis/ticket-store.js';
import type { TicketSummaryView, TicketView } from './schemas.js';

/** What the views read from the store. */
export type TicketViewStore = Pick<TicketStore, 'get' | 'getBinding' | 'history'>;

/** What a listed ticket may add to the domain's: its erasure record. */
type ListedTicketExtras = Partial<Pick<ListedTicket, 'erasedAt' | 'erasure'>>;

const iso = (ms: number): string => new Date(ms).toISOString();

function verdictView(v: Verdict): NonNullable<TicketSummaryView['verdict']> {
  return {
    statusCode: v.statusCode,
    ...(v.trustedScore === undefined ? {} : { trustedScore: v.trustedScore }),
    ...(v.similarityScore === undefined ? {} : { similarityScore: v.similarityScore }),
    ...(v.authorityComparisonScore === undefined
      ? {}
      : { authorityComparisonScore: v.authorityComparisonScore }),
    ...(v.auditConclusions === undefined ? {} : { auditConclusions: v.auditConclusions }),
    ...(v.subCode === undefined ? {} : { subCode: v.subCode }),
    ...(v.certifyId === undefined ? {} : { certifyId: v.certifyId }),
  };
}

function errorView(e: TicketError): NonNullable<TicketSummaryView['lastError']> {
  return {
    code: e.code,
    message: e.message,
    retryable: e.retryable,
    ...(e.providerCode === undefined ? {} : { providerCode: e.providerCode }),
    ...(e.requestId === undefined ? {} : { requestId: e.requestId }),
    at: iso(e.at),
  };
}

function historyView(h: HistoryEntry): TicketView['history'][number] {
  return {
    from: h.from,
    to: h.to,
    event: h.event,
    ...(h.cause === undefined ? {} : { cause: h.cause }),
    at: iso(h.at),
    attempt: h.attempt,
  };
}

/** A ticket as listed: no applicant, no history, no page URL. */
export function ticketSummaryView(
  t: Omit<Ticket, 'lease'> & ListedTicketExtras,
): TicketSummaryView {
  return {
    TicketId: t.ticketId,
    Biz: t.biz,
    flow: t.flow,
    family: t.family ?? 'legacy',
    outerOrderNo: t.family === 'financial' ? outerOrderNoOf(t.ticketId) : null,
    state: t.state,
    version: t.version,
    attempts: t.attempts,
    batchId: t.batchId ?? null,
    createdAt: iso(t.createdAt),
    updatedAt: iso(t.updatedAt),
    finishedAt: t.finishedAt === undefined ? null : iso(t.finishedAt),
    verdict: t.verdict === undefined ? null : verdictView(t.verdict),
    emulated: t.verdict?.emulated === true,
    lastError: t.lastError === undefined ? null : errorView(t.lastError),
    personalDataErasedAt: t.erasedAt === undefined ? null : iso(t.erasedAt),
    erasure: t.erasure ?? null,
  };
}

function applicantOf(binding: unknown): TicketView['applicant'] {
  const b = (typeof binding === 'object' && binding !== null ? binding : {}) as Partial<
    Record<keyof TicketBinding | 'masked', unknown>
  >;
  // already masked (an erased ticket's record)
  if (b.masked === true) {
    return {
      name: typeof b.name === 'string' ? b.name : null,
      idNumber: typeof b.idNumber === 'string' ? b.idNumber : null,
    };
  }
  return {
    name: typeof b.name === 'string' ? maskName(b.name) : null,
    idNumber: typeof b.idNumber === 'string' ? maskIdNumber(b.idNumber) : null,
  };
}

/** One ticket with its masked applicant and its history, read from the store. */
export async function ticketView(
  store: TicketViewStore,
  t: StoredTicket,
  links?: StartLinkMaker,
): Promise<TicketView> {
  try {
    const [binding, history] = await Promise.all([
      // an erased ticket kept its applicant masked, and has no binding to mask
      t.erasedAt === undefined ? store.getBinding(t.ticketId) : t.maskedApplicant,
      store.history(t.ticketId),
    ]);
    return ticketViewOf(t, binding, history, links);
  } catch (err) {
    // erased between the two reads (a ticket that has just passed drops its binding): the ticket
    // read again holds its masked applicant and says when it was erased
    if (!(err instanceof PersonalDataErasedError) || t.erasedAt !== undefined) throw err;
    const fresh = await store.get(t.ticketId);
    if (fresh?.erasedAt === undefined) throw err;
    return ticketView(store, fresh, links);
  }
}

/**
 * The view of a ticket from its parts. A ticket just created needs no read: its binding is the
 * one accepted and its history is empty.
 */
export function ticketViewOf(
  t: Ticket & ListedTicketExtras,
  binding: unknown,
  history: readonly HistoryEntry[],
  links?: StartLinkMaker,
): TicketView {
  const pageUrl =
    t.flow === 'interactive' && t.state === 'awaiting_user' ? (t.lease?.pageUrl ?? null) : null;
  // the link the business sends the person, while it can still be used
  const startUrl =
    t.state === 'queued' || t.state === 'awaiting_user' ? (links?.startUrlOf(t) ?? null) : null;
  return {
    ...ticketSummaryView(t),
    pageUrl,
    startUrl,
    applicant: applicantOf(binding),
    history: history.map(historyView),
  };
}
