/**
 * Fault injection and call counters for the emulators. Faults are set per action (or `*` for
 * every action) at start-up and at run time; the counters record every call by action and outcome,
 * and the peaks the most calls admitted in any one-second window per action, for benchmarks and
 * reliability tests.
 */
import { z } from 'zod';

/** Faults of one action. Rates are probabilities in [0, 1]; times are milliseconds. */
export const actionFaultsSchema = z
  .object({
    /** Probability of answering `Error.InternalError` 500. */
    internalErrorRate: z.number().min(0).max(1),
    /** Probability of answering `Throttling.User` 400. */
    throttleRate: z.number().min(0).max(1),
    /** Added latency before answering. */
    latencyMs: z.number().int().min(0).max(600_000),
    /** Extra latency drawn uniformly from [0, jitterMs]. */
    jitterMs: z.number().int().min(0).max(600_000),
    /** Probability of holding the request for `hangMs` (past the client's timeout), then answering 500. */
    hangRate: z.number().min(0).max(1),
    /** How long a hang lasts. */
    hangMs: z.number().int().min(0).max(600_000),
    /**
     * Probability of carrying the call out (judged, billed, counted `ok`) and then cutting the
     * connection without an answer: the answer lost on its way back, which a client cannot tell
     * from a call never made. The Cloudauth gateway only (OSS answers as usual).
     */
    lostAnswerRate: z.number().min(0).max(1),
    /** Calls per second accepted (a one-second sliding window); above it, `Throttling` 400. 0 = no ceiling. */
    qps: z.number().min(0).max(1_000_000),
  })
  .partial()
  .strict();
export type ActionFaults = { [K in keyof z.output<typeof actionFaultsSchema>]-?: number };

/** No faults: what an action gets where the config says nothing. */
export const NO_FAULTS: ActionFaults = {
  internalErrorRate: 0,
  throttleRate: 0,
  latencyMs: 0,
  jitterMs: 0,
  hangRate: 0,
  hangMs: 30_000,
  lostAnswerRate: 0,
  qps: 0,
};

/** `{ "*": {...}, "GetStatus": {...} }`; the action's own entry is merged over `*`. */
export const faultConfigSchema = z.record(z.string(), actionFaultsSchema);
export type FaultConfig = z.output<typeof faultConfigSchema>;

/** What the emulator should do with one call, decided before the action runs. */
export type FaultDecision =
  | { kind: 'pass'; delayMs: number }
  | { kind: 'internal'; delayMs: number }
  | { kind: 'throttle-user'; delayMs: number }
  | { kind: 'throttle-qps'; delayMs: number }
  | { kind: 'hang'; delayMs: number }
  | { kind: 'lose-answer'; delayMs: number };

export interface FaultInjectorOptions {
  clock?: () => number;
  random?: () => number;
}

/** Keys {@link FaultInjector.time} keeps answer times for until the counters are reset. */
const MAX_TIMED_KEYS = 200_000;

/** Holds the fault config, decides each call's fate and counts outcomes. */
export class FaultInjector {
  private config: FaultConfig = {};
  private readonly windows = new Map<string, SlidingSecond>();
  private readonly counts = new Map<string, Map<string, number>>();
  private readonly peakCounts = new Map<string, number>();
  private readonly answerMs = new Map<string, number>();
  private readonly clock: () => number;
  private readonly random: () => number;

  constructor(options: FaultInjectorOptions = {}) {
    this.clock = options.clock ?? Date.now;
    this.random = options.random ?? Math.random;
  }

  /** Replaces the whole fault config (validated). */
  set(config: unknown): void {
    this.config = faultConfigSchema.parse(config);
    this.windows.clear();
  }

  get(): FaultConfig {
    return structuredClone(this.config);
  }

  /** The effective faults of an action: its own entry over `*` over the defaults. */
  effective(action: string): ActionFaults {
    const merged: Partial<Record<keyof ActionFaults, number | undefined>> = {
      ...this.config['*'],
      ...this.config[action],
    };
    const out = { ...NO_FAULTS };
    for (const k of Object.keys(out) as (keyof ActionFaults)[]) out[k] = merged[k] ?? out[k];
    return out;
  }

  decide(action: string): FaultDecision {
    const f = this.effective(action);
    const delayMs =
      f.latencyMs + (f.jitterMs > 0 ? Math.floor(this.random() * (f.jitterMs + 1)) : 0);
    if (!this.admit(action, f.qps)) return { kind: 'throttle-qps', delayMs };
    if (f.hangRate > 0 && this.random() < f.hangRate) return { kind: 'hang', delayMs: f.hangMs };
    if (f.internalErrorRate > 0 && this.random() < f.internalErrorRate) {
      return { kind: 'internal', delayMs };
    }
    if (f.throttleRate > 0 && this.random() < f.throttleRate) {
      return { kind: 'throttle-user', delayMs };
    }
    if (f.lostAnswerRate > 0 && this.random() < f.lostAnswerRate) {
      return { kind: 'lose-answer', delayMs };
    }
    return { kind: 'pass', delayMs };
  }

  /**
   * Sliding one-second window per action; the window is the real ceiling a benchmark checks. Every
   * admitted call is recorded, with or without a ceiling, for {@link FaultInjector.peaks}.
   */
  private admit(action: string, qps: number): boolean {
    const now = this.clock();
    let w = this.windows.get(action);
    if (!w) {
      w = new SlidingSecond();
      this.windows.set(action, w);
    }
    const inWindow = w.sizeAt(now);
    if (qps > 0 && inWindow >= qps) return false;
    w.push(now);
    this.peakCounts.set(action, Math.max(this.peakCounts.get(action) ?? 0, inWindow + 1));
    return true;
  }

  /** Records one call's outcome (`ok` or the error code answered). */
  count(action: string, outcome: string): void {
    let m = this.counts.get(action);
    if (!m) {
      m = new Map();
      this.counts.set(action, m);
    }
    m.set(outcome, (m.get(outcome) ?? 0) + 1);
  }

  counters(): Record<string, Record<string, number>> {
    const out: Record<string, Record<string, number>> = {};
    for (const [action, m] of this.counts) out[action] = Object.fromEntries(m);
    return out;
  }

  /**
   * Per action, the most calls admitted (not refused by the QPS ceiling) in any one-second sliding
   * window since the last {@link FaultInjector.resetCounters}.
   */
  peaks(): Record<string, number> {
    return Object.fromEntries(this.peakCounts);
  }

  /**
   * Adds `ms` to the time the emulator spent answering calls about `key` (a ticket, or what stands
   * for one), from a request's arrival to its answer, the injected latency included: what a client
   * waits on the provider for, less the network. Benchmarks subtract it to find the client's own
   * time.
   */
  time(key: string, ms: number): void {
    const known = this.answerMs.get(key);
    // bounded: a long-running emulator nobody reads the times of keeps at most this many keys
    if (known === undefined && this.answerMs.size >= MAX_TIMED_KEYS) return;
    this.answerMs.set(key, (known ?? 0) + ms);
  }

  /** The answer times recorded by {@link FaultInjector.time}, in ms, by key. */
  answerTimes(): Map<string, number> {
    return new Map(this.answerMs);
  }

  /** Clears the counters, the peaks and the answer times. */
  resetCounters(): void {
    this.counts.clear();
    this.peakCounts.clear();
    this.answerMs.clear();
  }
}

/** The times (ms) of the calls of the last second, oldest first, dropped from the front. */
class SlidingSecond {
  private times: number[] = [];
  private head = 0;

  /** Calls in (now - 1000, now]. */
  sizeAt(now: number): number {
    while (this.head < this.times.length && (this.times[this.head] ?? 0) <= now - 1000) this.head++;
    if (this.head > 1024 && this.head * 2 > this.times.length) {
      this.times = this.times.slice(this.head);
      this.head = 0;
    }
    return this.times.length - this.head;
  }

  push(now: number): void {
    this.times.push(now);
  }
}

/** Waits `ms` for an injected latency or hang; resolves at once when `signal` aborts (on close). */
export function injectedDelay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
