/**
 * The ticket job, an executor of the pure decider (`src/domain/decide.ts`): reads the ticket, asks
 * the decider for the next step, carries it out ({@link TicketSteps}, persisting transitions
 * with compare-and-set), and goes on until the ticket waits (a delayed status re-check) or ends.
 * A step that lost a compare-and-set to another worker is followed by a fresh read: the run goes
 * on from what the winner did.
 *
 * - server flow: queued → (materials checked) GetVerifyToken → token_issued → upload to OSS →
 *   SubmitMaterials → submitted → GetStatus until 1/2 → GetMaterials → passed / not_passed.
 * - interactive flow: queued → GetVerifyToken → awaiting_user → GetStatus until 1/2 (→ GetMaterials
 *   → passed / not_passed), or the token's end → expired.
 *
 * A lease about to run out, an expired VerifyToken or refused STS credentials are answered with a
 * new GetVerifyToken (materials are uploaded again under the new Path). Retryable errors are
 * recorded and rethrown for BullMQ's backoff; permanent ones fail the ticket at once
 * (UnrecoverableError); the last attempt fails the ticket with its cause. A Throttling answer
 * blocks the action for every worker. A crash between SubmitMaterials and its transition is caught
 * on the next run by a GetStatus before submitting again (the submit mark).
 */
import { DelayedError, UnrecoverableError, type Job } from 'bullmq';
import type { CloudauthClient } from '../adapters/cloudauth/client.js';
import { decide, freshRun } from '../domain/decide.js';
import { isTerminal, type Ticket, type TicketError } from '../domain/ticket.js';
import { OrchestratorError, StoreFullError, ThrottledError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Telemetry } from '../ops/metrics.js';
import { needsNewToken } from '../adapters/oss/materials.js';
import type { ImageDecoding } from '../adapters/oss/decode-limit.js';
import type { MaterialUploader } from '../adapters/oss/uploader.js';
import type { TicketStore } from '../adapters/redis/ticket-store.js';
import type { TicketJobData } from '../adapters/bullmq/queues.js';
import type { TicketLifecycle } from './ticket-lifecycle.js';
import type { ProviderRateLimiter } from '../adapters/redis/rate-limiter.js';
import { CONTINUE, TicketSteps, type ActiveStep, type Outcome, type Run } from './ticket-steps.js';

export { leaseOf } from './ticket-steps.js';

export interface TicketProcessorSettings {
  /** Renew a lease that runs out within this margin (at most a quarter of its lifetime), in ms. */
  leaseMarginMs: number;
  /** First status re-check delay, in ms. */
  pollInitialMs: number;
  /** Longest status re-check delay, in ms. */
  pollMaxMs: number;
  /** Growth of the re-check delay per re-check. */
  pollFactor: number;
  /** New tokens one run may take before it gives the job back to the backoff. */
  maxRenewalsPerRun: number;
}

export interface TicketProcessorDeps {
  store: TicketStore;
  lifecycle: TicketLifecycle;
  cloudauth: CloudauthClient;
  uploader: MaterialUploader;
  limiter: ProviderRateLimiter;
  logger: Logger;
  settings: TicketProcessorSettings;
  clock?: () => number;
  /** Counts retries, throttling and token renewals. */
  telemetry?: Telemetry | undefined;
  /**
   * This worker runs in embedded mode (on the Cloudauth emulator): every verdict it saves is marked
   * `emulated`. Default false.
   */
  emulated?: boolean | undefined;
  /**
   * The process's image limits and decode gate (IMAGE_MAX_PIXELS, IMAGE_DECODE_BUDGET_PIXELS), shared
   * by every job of the process. Default the process-wide defaults.
   */
  images?: ImageDecoding | undefined;
  /**
   * A pause point for tests: awaited after the ticket is settled and before the job is (after the
   * processor marked the ticket failed and before it throws; after it found the ticket finished and
   * before it returns). Default none.
   */
  beforeSettle?: ((ticketId: string, outcome: 'failed' | 'completed') => Promise<void>) | undefined;
}

/** What a ticket job answers when it completes. */
export type TicketJobResult = Ticket['state'] | 'missing';

/** Steps one run may take before it yields; a ticket needs at most about eight. */
const MAX_STEPS = 16;

/** Compare-and-set tries of one attempt error against a ticket that keeps changing. */
const RECORD_TRIES = 5;

/**
 * Builds the BullMQ processor of the `tickets` queue: an executor that asks the decider for the
 * next step, carries it out ({@link TicketSteps}) and reads the ticket again, until a step
 * waits or the ticket has ended.
 */
export function makeTicketProcessor(deps: TicketProcessorDeps) {
  const { store, settings } = deps;
  const clock = deps.clock ?? Date.now;
  const beforeSettle = deps.beforeSettle ?? (() => Promise.resolve());
  const steps = new TicketSteps(deps, clock);
  const onError = makeErrorHandler(deps, clock, beforeSettle);

  /**
   * The version at which `t` entered its state: recorded attempt errors bump the version without a
   * transition, one attempt each, and a transition into `awaiting_user` keeps the attempts (its
   * history entry has them). Its event is published under that version, so a re-publish after
   * recorded errors is the same event, not a second one.
   */
  const enteredVersion = async (t: Ticket): Promise<number> => {
    if (t.attempts === 0) return t.version;
    const last = (await store.history(t.ticketId)).at(-1);
    return last === undefined ? t.version : t.version - (t.attempts - last.attempt);
  };

  /** Moves the job to the delayed set until `outcome.at`; ends the run. */
  const wait = async (run: Run, outcome: Extract<Outcome, { kind: 'wait' }>): Promise<never> => {
    const { job } = run;
    if (outcome.poll) await job.updateData({ ...job.data, polls: (job.data.polls ?? 0) + 1 });
    await job.moveToDelayed(outcome.at, run.token);
    throw new DelayedError();
  };

  return async function processTicket(
    job: Job<TicketJobData>,
    token?: string,
  ): Promise<TicketJobResult> {
    const run: Run = { job, token, ticketId: job.data.ticketId, memory: freshRun(job.data.polls) };
    for (let i = 0; i < MAX_STEPS; i++) {
      const t = await store.get(run.ticketId);
      if (!t) return 'missing';
      if (i === 0 && t.state === 'awaiting_user') {
        await deps.lifecycle.publish({ ...t, version: await enteredVersion(t) });
      }
      const step = decide(t, run.memory, clock(), settings);
      if (step.kind === 'done') {
        await deps.lifecycle.publish(t);
        await beforeSettle(t.ticketId, 'completed');
        return t.state;
      }
      let outcome: Outcome;
      try {
        outcome = await steps.carryOut(run, t, step);
      } catch (err) {
        outcome = await onError(run, t, step, err);
      }
      if (outcome.kind === 'wait') return wait(run, outcome);
    }
    throw new OrchestratorError('INTERNAL_ERROR', `ticket did not settle in ${MAX_STEPS} steps`);
  };
}

/**
 * The executor's answer to a failed step. A refused lease (STS or VerifyToken invalid) in an
 * upload or submission goes back to the decider, which renews it or gives the job back; a
 * throttled action is blocked for every worker; a full Redis makes the ticket wait; a permanent
 * error fails the ticket at once; a retryable one is recorded and rethrown for the backoff, and the
 * last attempt fails the ticket with its cause.
 */
function makeErrorHandler(
  deps: TicketProcessorDeps,
  clock: () => number,
  beforeSettle: NonNullable<TicketProcessorDeps['beforeSettle']>,
) {
  const { store, limiter, logger } = deps;

  const fail = async (t: Ticket, error: OrchestratorError): Promise<void> => {
    const fresh = (await store.get(t.ticketId)) ?? t;
    if (isTerminal(fresh.state)) return;
    await deps.lifecycle.advance(fresh, { type: 'failed', error: ticketErrorOf(error, clock()) });
  };

  /**
   * Records a failed attempt on the version the step was computed from. When the ticket moved on
   * meanwhile (another worker or an operator), re-reads it: the error is recorded on the fresh
   * version if the ticket is still unfinished in the same state, and dropped otherwise (it belongs
   * to a step of a state the ticket has left).
   */
  const recordError = async (t: Ticket, error: TicketError): Promise<void> => {
    let current: Ticket | undefined = t;
    for (let i = 0; i < RECORD_TRIES && current; i++) {
      const recorded = await store.recordAttemptError(current.ticketId, current.version, error);
      if (recorded.result === 'applied') return;
      const fresh: Ticket | undefined = await store.get(t.ticketId);
      current = fresh && !isTerminal(fresh.state) && fresh.state === t.state ? fresh : undefined;
    }
    logger.debug(
      { ticketId: t.ticketId, code: error.code },
      'attempt error not recorded: ticket moved on',
    );
  };

  const settleFailed = async (t: Ticket, e: OrchestratorError, why: string): Promise<void> => {
    logger.warn({ ticketId: t.ticketId, err: e.toJSON() }, why);
    await fail(t, e);
    await beforeSettle(t.ticketId, 'failed');
  };

  return async function onError(
    run: Run,
    t: Ticket,
    step: ActiveStep,
    err: unknown,
  ): Promise<Outcome> {
    const e =
      err instanceof OrchestratorError
        ? err
        : new OrchestratorError('INTERNAL_ERROR', errorText(err), { cause: err });
    if (needsNewToken(e) && t.flow === 'server' && step.kind === 'upload_and_submit') {
      logger.info({ ticketId: t.ticketId, code: e.code }, 'lease refused');
      run.refusal = e;
      run.memory.refusedToken = t.lease?.verifyToken ?? '';
      return CONTINUE;
    }
    if (e instanceof ThrottledError && run.action) {
      deps.telemetry?.throttled.inc({ action: run.action });
      await limiter.block(run.action, e.retryAfterMs ?? 1000);
    }
    if (e instanceof StoreFullError) {
      // Redis refuses writes (maxmemory): recording the error would be refused too, and an
      // attempt spent on Redis's memory would fail tickets that did nothing wrong. The ticket waits
      // as a status re-check does; if even the move to the delayed set is refused, BullMQ counts
      // the attempt and retries with the backoff.
      logger.warn({ ticketId: t.ticketId, err: e.toJSON() }, 'Redis is full; ticket waits');
      return { kind: 'wait', at: clock() + (e.retryAfterMs ?? 10_000), poll: false };
    }
    if (!e.retryable) {
      await settleFailed(t, e, 'permanent error: ticket failed');
      throw new UnrecoverableError(e.message);
    }
    await recordError(t, ticketErrorOf(e, clock()));
    if (run.job.attemptsMade + 1 >= (run.job.opts.attempts ?? 1)) {
      await settleFailed(t, e, 'retries exhausted: ticket failed');
    } else {
      deps.telemetry?.retries.inc({ code: e.code });
      logger.info({ ticketId: t.ticketId, err: e.toJSON() }, 'retryable error; will retry');
    }
    throw e;
  };
}

function ticketErrorOf(e: OrchestratorError, at: number): TicketError {
  return {
    code: e.code,
    message: e.message,
    retryable: e.retryable,
    ...(e.providerCode === undefined ? {} : { providerCode: e.providerCode }),
    ...(e.requestId === undefined ? {} : { requestId: e.requestId }),
    at,
  };
}

function errorText(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}`.slice(0, 300) : 'unknown failure';
}
