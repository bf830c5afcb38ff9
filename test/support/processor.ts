/**
 * A ticket processor and worker that a test builds itself around a test orchestrator started
 * without workers (`startTestOrchestrator({ workers: false })`), so that it can replace any of the
 * processor's deps: a clock, or a port wrapped with a kill point ({@link killPoint}).
 */
import { pino } from 'pino';
import { CloudauthClient } from '../../src/adapters/cloudauth/client.js';
import { Cloudauth2018Provider } from '../../src/adapters/cloudauth/provider-2018.js';
import { makeTicketProcessor, type TicketProcessorDeps } from '../../src/flow/ticket-processor.js';
import { startTicketWorker } from '../../src/adapters/bullmq/ticket-worker.js';
import { TEST_KEY_ID, TEST_KEY_SECRET } from './emulator.js';
import type { TestOrchestrator } from './orchestrator.js';
import { testRedis } from './redis.js';

const logger = pino({ level: 'silent' });

/** Cleanups run by the test file's `afterEach`, last first. */
export type Cleanups = (() => Promise<unknown>)[];

/** The orchestrator's Cloudauth client for the emulator (it has none when it runs no workers). */
export function cloudauthOf(o: TestOrchestrator, cleanups: Cleanups): CloudauthClient {
  const cloudauth = new CloudauthClient({
    endpoint: o.emu.cloudauth.url,
    accessKeyId: TEST_KEY_ID,
    accessKeySecret: TEST_KEY_SECRET,
    timeoutMs: o.app.config.cloudauth.timeoutMs,
  });
  cleanups.push(() => Promise.resolve(cloudauth.close()));
  return cloudauth;
}

/** The 2018-09-16 provider over {@link cloudauthOf} and the orchestrator's uploader. */
export function providerOf(
  o: TestOrchestrator,
  cleanups: Cleanups,
  cloudauth: CloudauthClient = cloudauthOf(o, cleanups),
): Cloudauth2018Provider {
  return new Cloudauth2018Provider(cloudauth, o.app.uploader);
}

/** The processor as the app builds it, over the orchestrator's parts, with `overrides`. */
export function testProcessor(
  o: TestOrchestrator,
  cleanups: Cleanups,
  overrides: Partial<TicketProcessorDeps> = {},
): ReturnType<typeof makeTicketProcessor> {
  const q = o.app.config.queue;
  return makeTicketProcessor({
    store: o.app.store,
    lifecycle: o.app.lifecycle,
    provider: overrides.provider ?? providerOf(o, cleanups),
    staging: o.app.staging,
    limiter: o.app.limiter,
    logger,
    settings: {
      leaseMarginMs: q.leaseMarginMs,
      pollInitialMs: q.pollInitialMs,
      pollMaxMs: q.pollMaxMs,
      pollFactor: q.pollFactor,
      maxRenewalsPerRun: 3,
    },
    ...overrides,
  });
}

/**
 * A worker of the orchestrator's `tickets` queue running `processor`, closed by `cleanups`; with
 * `rerun`, it re-checks settled jobs as the app's worker does.
 */
export function testWorker(
  o: TestOrchestrator,
  cleanups: Cleanups,
  processor: ReturnType<typeof makeTicketProcessor>,
  rerun?: Parameters<typeof startTicketWorker>[0]['rerun'],
): void {
  const connection = testRedis('worker');
  const running = startTicketWorker({
    connection,
    prefix: o.prefix,
    processor,
    concurrency: 5,
    lockDurationMs: 30_000,
    stalledIntervalMs: 30_000,
    backoff: { baseMs: 50, capMs: 400 },
    logger,
    ...(rerun ? { rerun } : {}),
  });
  cleanups.push(async () => {
    await running.close(2000);
    await connection.quit();
  });
}

/**
 * Thrown at a kill point. The run ends there: what it did before stands (the store, the provider),
 * what it would have done after never happens. Unlike a process that died, the processor still
 * sees the error and records it as a failed attempt, and BullMQ runs the job again after the
 * backoff (not after the lock runs out); the next run starts from the same stored ticket.
 */
export class SimulatedCrash extends Error {
  constructor(where: string) {
    super(`simulated crash ${where}`);
    this.name = 'SimulatedCrash';
  }
}

/**
 * `target` with one method wrapped: the first call for which `when(args)` holds ends the run with
 * a {@link SimulatedCrash}, `before` the real call (it never happens) or `after` it (its effect
 * stands, its answer is lost). Every other call goes through. `fired()` tells whether it did.
 */
export function killPoint<T extends object, K extends keyof T & string>(
  target: T,
  method: K,
  at: 'before' | 'after',
  when: (args: unknown[]) => boolean = () => true,
): { port: T; fired: () => boolean } {
  let fired = false;
  const port = new Proxy(target, {
    get(t, prop, receiver) {
      const value: unknown = Reflect.get(t, prop, receiver);
      if (typeof value !== 'function') return value;
      const bound = (value as (...args: unknown[]) => unknown).bind(t);
      if (prop !== method) return bound;
      return async (...args: unknown[]) => {
        const armed = !fired && when(args);
        if (armed && at === 'before') {
          fired = true;
          throw new SimulatedCrash(`before ${method}`);
        }
        const result: unknown = await bound(...args);
        if (armed) {
          fired = true;
          throw new SimulatedCrash(`after ${method}`);
        }
        return result;
      };
    },
  });
  return { port, fired: () => fired };
}

/**
 * `target` whose `method` also runs `then(args, result)` after each call; what `then` returns, if
 * not undefined, replaces the result (a test moving time on after a step, or ageing what a read
 * returns).
 */
export function observe<T extends object>(
  target: T,
  method: keyof T & string,
  then: (args: unknown[], result: unknown) => unknown,
): T {
  return new Proxy(target, {
    get(t, prop, receiver) {
      const value: unknown = Reflect.get(t, prop, receiver);
      if (typeof value !== 'function') return value;
      const bound = (value as (...args: unknown[]) => unknown).bind(t);
      if (prop !== method) return bound;
      return async (...args: unknown[]) => {
        const result: unknown = await bound(...args);
        return (await then(args, result)) ?? result;
      };
    },
  });
}
