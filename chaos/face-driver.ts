/**
 * The people of the FaceH5 tickets (financial ID_PRO): lists the batch's queued tickets, reads each
 * FaceH5 one's `startUrl` from `GET /v1/tickets/:id`, and at the planned moment does what the
 * person's browser does with the start link (see `src/api/start-routes.ts`):
 *
 * 1. `GET <startUrl>` (the start page);
 * 2. `POST <startUrl>` `{"metaInfo": "<JSON object text>"}` → 202 (a worker then calls
 *    InitFaceVerify);
 * 3. `GET <startUrl>/state` until `{state: 'ready', certifyUrl}`;
 * 4. `POST <certifyUrl>` `outcome=complete|fail` (the emulator's page) → 303 to the return page; the
 *    emulator then calls the orchestrator back and the ticket finishes.
 *
 * Nobody leaves: a CertifyUrl lives 30 minutes, far past a run. Requests to the API are retried
 * through an outage (5xx, refused connections) like every chaos request.
 */
import {
  ChaosRequestError,
  request,
  requestWithRetry,
  type OrchestratorApi,
} from './api-client.js';
import type { FacePlan, PlannedTicket } from './chaos-tickets.js';
import { sleep } from '../testkit/waiting.js';

/** What happened to one FaceH5 person. */
export type FaceOutcome =
  /** The CertifyUrl page took "complete" (303 to the return page). */
  | 'completed'
  /** The CertifyUrl page took "fail". */
  | 'failed'
  /** The page's answer was lost, and asked again it said the link was used: taken. */
  | 'answer_lost'
  /** The start page or its POST refused the link (404, 410, 409). */
  | 'start_refused'
  /** `/state` said `ended` before a CertifyUrl was ready. */
  | 'ended_early'
  /** The run ended while `/state` still said `preparing` (no InitFaceVerify for this start). */
  | 'still_waiting'
  /** The CertifyUrl page answered 410 (used or expired) or 404. */
  | 'page_closed'
  /** Any other answer, or an outage that outlasted the retries. */
  | 'refused';

/** Outcomes after which the ticket must end as the plan says. */
export const FACE_OUTCOMES_TAKEN: ReadonlySet<FaceOutcome> = new Set([
  'completed',
  'failed',
  'answer_lost',
]);

/** The driver, running until {@link FaceDriver.stop}. */
export interface FaceDriver {
  /** TicketId → what happened. */
  readonly outcomes: ReadonlyMap<string, FaceOutcome>;
  /** FaceH5 tickets whose start link was seen. */
  readonly seen: ReadonlySet<string>;
  /** Per person, ms from the MetaInfo POST to the CertifyUrl being ready (InitFaceVerify). */
  readonly readyMs: readonly number[];
  stop(): Promise<void>;
}

interface ListedTicket {
  TicketId: string;
  state: string;
}

/** What a browser's `getMetaInfo()` answers (the emulator's stand-in's shape). */
const META_INFO = JSON.stringify({
  apdidToken: '',
  appName: 'cloudauth-emulator',
  appVersion: '1.0.0',
  bioMetaInfo: 'emulator:stand-in',
  deviceType: 'h5',
  ua: 'cloudauth-chaos-person',
});

export function startFaceDriver(options: {
  api: OrchestratorApi;
  batchId: string;
  tickets: readonly PlannedTicket[];
  /** Listing period, in ms. */
  everyMs?: number;
  /** `/state` polling period, in ms. */
  pollMs?: number;
  /** Told of a person who waited longer than `slowMs` for the CertifyUrl (TicketIds only). */
  log?: (line: string) => void;
  /** Default 15 s. */
  slowMs?: number;
}): FaceDriver {
  const plans = new Map<string, NonNullable<PlannedTicket['face']>>();
  for (const t of options.tickets) if (t.face) plans.set(t.ticketId, t.face);
  const outcomes = new Map<string, FaceOutcome>();
  const seen = new Set<string>();
  const readyMs: number[] = [];
  const inFlight = new Set<Promise<void>>();
  const pollMs = options.pollMs ?? 500;
  let running = true;

  /** Sleeps `ms`, cut short by stop(). */
  const pause = async (ms: number) => {
    const until = Date.now() + ms;
    while (running && Date.now() < until) await sleep(Math.min(200, until - Date.now()));
  };

  const person = async (
    ticketId: string,
    startUrl: string,
    plan: { plan: FacePlan; openDelayMs: number; thinkMs: number },
  ): Promise<FaceOutcome | undefined> => {
    await pause(plan.openDelayMs);
    if (!running) return undefined;
    const opened = await requestWithRetry<string>(startUrl, { timeoutMs: 15_000 });
    if (opened.status !== 200) return 'start_refused';
    const posted = Date.now();
    const started = await requestWithRetry(startUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ metaInfo: META_INFO }),
      timeoutMs: 15_000,
    });
    if (started.status !== 202) return 'start_refused';
    let certifyUrl: string | undefined;
    while (running && certifyUrl === undefined) {
      const s = await requestWithRetry<{ state?: string; certifyUrl?: string }>(
        `${startUrl}/state`,
        { timeoutMs: 15_000 },
      );
      if (s.status !== 200 || s.body.state === 'ended') return 'ended_early';
      if (s.body.state === 'ready' && typeof s.body.certifyUrl === 'string') {
        certifyUrl = s.body.certifyUrl;
      } else {
        await pause(pollMs);
      }
    }
    if (certifyUrl === undefined) return 'still_waiting';
    const waited = Date.now() - posted;
    readyMs.push(waited);
    if (waited > (options.slowMs ?? 15_000)) {
      options.log?.(`FaceH5 ${ticketId}: CertifyUrl ready ${waited} ms after its MetaInfo`);
    }
    await pause(plan.thinkMs);
    if (!running) return undefined;
    const form = {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ outcome: plan.plan }).toString(),
      redirect: 'manual',
      timeoutMs: 30_000,
    } as const;
    let answer = await request(certifyUrl, form);
    let lost = false;
    for (let tries = 0; answer.status === 0 && tries < 3; tries++) {
      lost = true;
      await sleep(500);
      answer = await request(certifyUrl, form);
    }
    if (answer.status === 303 || answer.status === 200) {
      return plan.plan === 'complete' ? 'completed' : 'failed';
    }
    if (answer.status === 410 && lost) return 'answer_lost';
    return answer.status === 410 || answer.status === 404 ? 'page_closed' : 'refused';
  };

  const schedule = (ticketId: string, startUrl: string) => {
    const plan = plans.get(ticketId);
    if (!plan) return;
    seen.add(ticketId);
    const p = person(ticketId, startUrl, plan)
      .catch((err: unknown) => {
        if (err instanceof ChaosRequestError) return 'refused' as const;
        throw err;
      })
      .then((outcome) => {
        if (outcome !== undefined) outcomes.set(ticketId, outcome);
      })
      .finally(() => inFlight.delete(p));
    inFlight.add(p);
  };

  const round = async () => {
    let cursor: string | undefined;
    do {
      const query = new URLSearchParams({ state: 'queued', batch: options.batchId, limit: '500' });
      if (cursor !== undefined) query.set('cursor', cursor);
      const page = await options.api.get<{ tickets?: ListedTicket[]; nextCursor?: string }>(
        `/v1/tickets?${query.toString()}`,
      );
      if (page.status !== 200) return;
      for (const t of page.body.tickets ?? []) {
        if (!running || seen.has(t.TicketId) || !plans.has(t.TicketId)) continue;
        const view = await options.api.get<{ state: string; startUrl?: string | null }>(
          `/v1/tickets/${encodeURIComponent(t.TicketId)}`,
        );
        if (view.status === 200 && view.body.state === 'queued' && view.body.startUrl) {
          schedule(t.TicketId, view.body.startUrl);
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
    readyMs,
    async stop() {
      running = false;
      await loop;
      await Promise.all(inFlight);
    },
  };
}
