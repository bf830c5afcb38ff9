/**
 * The people of the legacy interactive tickets (RPH5BioOnly; the FaceH5 ones: `face-driver.ts`):
 * lists the batch's tickets that await their person, reads each one's `pageUrl` from
 * `GET /v1/tickets/:id`, and at the planned moment after the page went out completes or fails it
 * through the emulator's H5 endpoint (`POST /h5/verify`). Tickets planned `leave` are never
 * touched and must expire; a completion the emulator refuses as expired (410) must expire too.
 */
import { request, type OrchestratorApi } from './api-client.js';
import type { H5Plan, PlannedTicket } from './chaos-tickets.js';
import { sleep } from '../testkit/waiting.js';

/** What happened on the page of one ticket. */
export type H5Outcome =
  | 'completed'
  | 'failed'
  /** The emulator answered 410: the token had expired. */
  | 'too_late'
  /** The emulator did not know the token (404), or another answer. */
  | 'refused';

interface ListedTicket {
  TicketId: string;
  state: string;
}

interface TicketView {
  state: string;
  pageUrl: string | null;
  history: { to: string; at: string }[];
}

/** The driver, running until {@link H5Driver.stop}. */
export interface H5Driver {
  /** TicketId → what the page answered. */
  readonly outcomes: ReadonlyMap<string, H5Outcome>;
  /** Interactive tickets whose page URL was seen. */
  readonly seen: ReadonlySet<string>;
  stop(): Promise<void>;
}

export function startH5Driver(options: {
  api: OrchestratorApi;
  batchId: string;
  tickets: readonly PlannedTicket[];
  /** Listing period, in ms. */
  everyMs?: number;
}): H5Driver {
  const plans = new Map<string, { plan: H5Plan; delayMs: number }>();
  for (const t of options.tickets) if (t.h5) plans.set(t.ticketId, t.h5);
  const outcomes = new Map<string, H5Outcome>();
  const seen = new Set<string>();
  const timers = new Set<NodeJS.Timeout>();
  const inFlight = new Set<Promise<void>>();
  let running = true;

  const complete = async (ticketId: string, pageUrl: string, plan: 'complete' | 'fail') => {
    const url = new URL(pageUrl);
    const token = url.searchParams.get('token') ?? '';
    const answer = await request<string>(`${url.origin}/h5/verify`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token, outcome: plan }).toString(),
      timeoutMs: 15_000,
    });
    outcomes.set(
      ticketId,
      answer.status === 200
        ? plan === 'complete'
          ? 'completed'
          : 'failed'
        : answer.status === 410
          ? 'too_late'
          : 'refused',
    );
  };

  const schedule = (ticketId: string, view: TicketView) => {
    const plan = plans.get(ticketId);
    if (!plan || view.pageUrl === null) return;
    seen.add(ticketId);
    if (plan.plan === 'leave') return;
    const issued = [...view.history].reverse().find((h) => h.to === 'awaiting_user');
    const issuedAt = issued ? Date.parse(issued.at) : Date.now();
    const wait = Math.max(0, issuedAt + plan.delayMs - Date.now());
    const pageUrl = view.pageUrl;
    const timer = setTimeout(() => {
      timers.delete(timer);
      const p = complete(ticketId, pageUrl, plan.plan === 'fail' ? 'fail' : 'complete').finally(
        () => inFlight.delete(p),
      );
      inFlight.add(p);
    }, wait);
    timers.add(timer);
  };

  const round = async () => {
    let cursor: string | undefined;
    do {
      const query = new URLSearchParams({
        state: 'awaiting_user',
        batch: options.batchId,
        limit: '500',
      });
      if (cursor !== undefined) query.set('cursor', cursor);
      const page = await options.api.get<{ tickets?: ListedTicket[]; nextCursor?: string }>(
        `/v1/tickets?${query.toString()}`,
      );
      if (page.status !== 200) return;
      for (const t of page.body.tickets ?? []) {
        if (!running || seen.has(t.TicketId) || !plans.has(t.TicketId)) continue;
        const view = await options.api.get<TicketView>(
          `/v1/tickets/${encodeURIComponent(t.TicketId)}`,
        );
        if (view.status === 200 && view.body.state === 'awaiting_user') {
          schedule(t.TicketId, view.body);
        }
      }
      cursor = page.body.nextCursor;
    } while (cursor !== undefined && running);
  };

  const loop = (async () => {
    while (running) {
      await round().catch(() => undefined);
      await sleep(options.everyMs ?? 1000);
    }
  })();

  return {
    outcomes,
    seen,
    async stop() {
      running = false;
      await loop;
      for (const timer of timers) clearTimeout(timer);
      await Promise.all(inFlight);
    },
  };
}
