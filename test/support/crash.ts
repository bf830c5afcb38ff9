/**
 * Crashes between any two steps of the executor, as a process that dies would have them: the run
 * stops at a port call and never runs another line — no error reaches the processor, nothing is
 * recorded, the job's lock is no longer renewed — and another worker takes the job once the lock
 * has run out (BullMQ's stalled-job recovery), from whatever the store and the provider hold.
 *
 * {@link recordingPorts} wraps the executor's ports (the provider, the store, the lifecycle) so that
 * every call is logged in order; with a {@link CrashPlan}, the chosen call hangs forever, before the
 * real call (it never happens) or after it (its effect stands, its answer is lost), and `died`
 * resolves. The test then force-closes the dying worker, which holds the hung job without renewing
 * its lock, and starts a healthy one.
 */
import { pino } from 'pino';
import { startTicketWorker, type RunningWorker } from '../../src/adapters/bullmq/ticket-worker.js';
import type { TicketProcessorDeps } from '../../src/flow/ticket-processor.js';
import { testRedis } from './redis.js';

/** Where a run dies: at the first port call labelled `call` (see {@link labelOf}), before or after it. */
export interface CrashPlan {
  call: string;
  at: 'before' | 'after';
}

/** The ports the executor calls, and the methods of each the log records. */
const RECORDED = {
  provider: ['start', 'stage', 'submit', 'status'],
  store: ['get', 'getApplicant', 'markSubmitStarted', 'recordAttemptError', 'history'],
  lifecycle: ['advance', 'publish'],
} as const;

type Ports = Pick<TicketProcessorDeps, 'provider' | 'store' | 'lifecycle'>;

export interface RecordingPorts {
  ports: Ports;
  /** Every recorded call so far, e.g. `provider.submit`, `lifecycle.advance(verdict)`. */
  calls: string[];
  /** Resolves with the call's label once the plan's call hung (never without a plan). */
  died: Promise<string>;
}

/** `ports` whose calls are logged; with `plan`, the planned call hangs forever. */
export function recordingPorts(ports: Ports, plan?: CrashPlan): RecordingPorts {
  const calls: string[] = [];
  let dead = false;
  let resolveDied: (label: string) => void = () => undefined;
  const died = new Promise<string>((resolve) => {
    resolveDied = resolve;
  });
  const hang = (label: string): Promise<never> => {
    dead = true;
    resolveDied(label);
    return new Promise<never>(() => undefined);
  };
  const wrap = <T extends object>(name: keyof typeof RECORDED, target: T): T => {
    const methods: readonly string[] = RECORDED[name];
    return new Proxy(target, {
      get(t, prop, receiver) {
        const value: unknown = Reflect.get(t, prop, receiver);
        if (typeof value !== 'function') return value;
        const bound = (value as (...args: unknown[]) => unknown).bind(t);
        if (typeof prop !== 'string' || !methods.includes(prop)) return bound;
        return async (...args: unknown[]) => {
          // a dead run calls nothing more (its other jobs, if any, are not this test's)
          if (dead) return new Promise<never>(() => undefined);
          const label = labelOf(name, prop, args);
          const planned = plan?.call === label && !calls.includes(label);
          calls.push(label);
          if (planned && plan.at === 'before') return hang(label);
          const result: unknown = await bound(...args);
          if (planned) return hang(label);
          return result;
        };
      },
    });
  };
  return {
    ports: {
      provider: wrap('provider', ports.provider),
      store: wrap('store', ports.store),
      lifecycle: wrap('lifecycle', ports.lifecycle),
    },
    calls,
    died,
  };
}

function labelOf(port: string, method: string, args: unknown[]): string {
  if (port === 'lifecycle' && method === 'advance') {
    return `lifecycle.advance(${(args[1] as { type?: string } | undefined)?.type ?? '?'})`;
  }
  return `${port}.${method}`;
}

/**
 * A worker that can die: one job at a time, and a short lock (so the job is recovered soon after
 * the death). `kill()` closes it without waiting for the hung job
 * and drops its connection: from Redis's side, a process that is gone. `stop()` is a clean stop.
 */
export function mortalWorker(
  prefix: string,
  processor: Parameters<typeof startTicketWorker>[0]['processor'],
): { kill: () => Promise<void>; stop: () => Promise<void> } {
  const connection = testRedis('worker');
  const running: RunningWorker = startTicketWorker({
    connection,
    prefix,
    processor,
    concurrency: 1,
    lockDurationMs: 600,
    // BullMQ's stalled check runs at most once per interval across all workers (a key with the
    // interval as its TTL): a long one here would hold off the healthy worker's checks
    stalledIntervalMs: 200,
    backoff: { baseMs: 50, capMs: 400 },
    logger: pino({ level: 'silent' }),
  });
  return {
    kill: async () => {
      await running.worker.close(true);
      connection.disconnect();
    },
    /** A clean stop: waits for its job to finish. */
    stop: async () => {
      await running.close(5000);
      await connection.quit();
    },
  };
}
