/**
 * The pure parts of the operations page's overview (`GET /v1/ops/overview`): the time windows the
 * charts cover, the provider actions the calls chart shows, and a batch's time left at the
 * configured QPS. No I/O; `overview-route.ts` reads Redis and the queue with them.
 */
import { flowOfBiz, type BizCatalogue, type BizProfile } from '../../domain/biz.js';
import type { TicketState } from '../../domain/ticket.js';
import { addCalls, callsPerTicket, estimateDuration } from '../../cli/plan.js';

/** Minutes the per-minute charts cover (finished tickets, retries and throttling). */
export const CHART_MINUTES = 60;

/** Seconds the provider calls chart covers. */
export const CHART_SECONDS = 300;

/** Batches the page lists, newest first. */
export const MAX_BATCHES = 20;

/** The windows of one overview: the last minute and second are the current, partial, ones. */
export interface OverviewWindows {
  /** First minute of the per-minute series, minutes since the epoch. */
  firstMinute: number;
  /** First second of the per-second series, seconds since the epoch. */
  firstSecond: number;
  /** Last second of the per-second series (the current one). */
  lastSecond: number;
}

/** The windows ending at `nowMs`. */
export function windowsAt(
  nowMs: number,
  minutes = CHART_MINUTES,
  seconds = CHART_SECONDS,
): OverviewWindows {
  const minute = Math.floor(nowMs / 60_000);
  const second = Math.floor(nowMs / 1000);
  return {
    firstMinute: minute - minutes + 1,
    firstSecond: second - seconds + 1,
    lastSecond: second,
  };
}

/**
 * The provider actions the tickets of `biz` call, in the order a ticket calls them, then any other
 * action `qps` names (`*` aside): the lines of the calls chart.
 */
export function chartActions(biz: BizCatalogue, qps: Readonly<Record<string, number>>): string[] {
  const actions = new Set<string>();
  const profiles = Object.values(biz);
  for (const profile of profiles) {
    for (const action of Object.keys(callsPerTicket(profile))) actions.add(action);
    // status polls: the legacy GetStatus, the ID_PRO DescribeFaceVerify (ID_MIN has none)
    if (typeof profile === 'string') actions.add('GetStatus');
    else if (profile.productCode === 'ID_PRO') actions.add('DescribeFaceVerify');
  }
  const named = Object.keys(qps)
    .filter((a) => a !== '*' && !actions.has(a))
    .sort();
  return [...actions, ...named];
}

/**
 * Provider calls under a QPS limit a ticket of `profile` still makes from `state` (polls not
 * counted, as in `plan.ts`): all of its calls while queued; a legacy server-flow ticket holding a
 * token still submits; the others wait for the provider or a person.
 */
export function remainingCalls(
  state: TicketState,
  profile: BizProfile,
): Readonly<Record<string, number>> {
  if (state === 'queued') return callsPerTicket(profile);
  if (state === 'token_issued' && typeof profile === 'string' && flowOfBiz(profile) === 'server') {
    return { SubmitMaterials: 1 };
  }
  return {};
}

/** A batch's time left, if the batch had the quota to itself. */
export interface BatchEta {
  /**
   * `limited`: `seconds` at the bottleneck `action`'s `qps`; `unlimited`: calls left, no limit
   * configured; `waiting`: unfinished tickets wait for the provider or a person, no call left
   * under a limit; `done`: every ticket finished.
   */
  kind: 'limited' | 'unlimited' | 'waiting' | 'done';
  seconds: number | null;
  action: string | null;
  qps: number | null;
}

/**
 * The time left of a batch with `unfinished` tickets (per Biz and state): the calls they still
 * make, per action, over each action's QPS with the limiter's headroom; the slowest action is the
 * bottleneck (`estimateDuration` of `plan.ts`). Tickets of a Biz no longer configured are left out.
 */
export function batchEta(
  unfinished: Readonly<Record<string, Partial<Record<TicketState, number>>>>,
  catalogue: BizCatalogue,
  qpsOf: (action: string) => number,
  headroom: number,
): BatchEta {
  const calls: Record<string, number> = {};
  let left = 0;
  for (const [biz, states] of Object.entries(unfinished)) {
    const profile = catalogue[biz];
    for (const [state, n] of Object.entries(states) as [TicketState, number][]) {
      left += n;
      if (profile !== undefined) addCalls(calls, remainingCalls(state, profile), n);
    }
  }
  if (left === 0) return { kind: 'done', seconds: 0, action: null, qps: null };
  const qps = Object.fromEntries(Object.keys(calls).map((a) => [a, qpsOf(a)]));
  const estimate = estimateDuration(calls, qps, headroom);
  switch (estimate.kind) {
    case 'limited':
      return {
        kind: 'limited',
        seconds: Math.ceil(estimate.seconds),
        action: estimate.action,
        qps: estimate.qps,
      };
    case 'unlimited':
      return { kind: 'unlimited', seconds: null, action: null, qps: null };
    case 'none':
    case 'unknown':
      return { kind: 'waiting', seconds: null, action: null, qps: null };
  }
}
