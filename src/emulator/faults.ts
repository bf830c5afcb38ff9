/**
 * Fault injection and call counters for the emulators. Faults are set per action (or `*` for
 * every action) at start-up and at run time; the counters record every call by action and outcome,
 * for benchmarks and reliability tests.
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
  | { kind: 'hang'; delayMs: number };

export interface FaultInjectorOptions {
  clock?: () => number;
  random?: () => number;
}

/** Holds the fault config, decides each call's fate and counts outcomes. */
export class FaultInjector {
  private config: FaultConfig = {};
  private readonly windows = new Map<string, number[]>();
  private readonly counts = new Map<string, Map<string, number>>();
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
    if (f.qps > 0 && !this.admit(action, f.qps)) return { kind: 'throttle-qps', delayMs };
    if (f.hangRate > 0 && this.random() < f.hangRate) return { kind: 'hang', delayMs: f.hangMs };
    if (f.internalErrorRate > 0 && this.random() < f.internalErrorRate) {
      return { kind: 'internal', delayMs };
    }
    if (f.throttleRate > 0 && this.random() < f.throttleRate) {
      return { kind: 'throttle-user', delayMs };
    }
    return { kind: 'pass', delayMs };
  }

  /** Sliding one-second window per action; the window is the real ceiling a benchmark checks. */
  private admit(action: string, qps: number): boolean {
    const now = this.clock();
    let w = this.windows.get(action);
    if (!w) {
      w = [];
      this.windows.set(action, w);
    }
    let drop = 0;
    while (drop < w.length && (w[drop] ?? 0) <= now - 1000) drop++;
    if (drop > 0) w.splice(0, drop);
    if (w.length >= qps) return false;
    w.push(now);
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

  resetCounters(): void {
    this.counts.clear();
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
