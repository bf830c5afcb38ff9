/**
 * The ticket job, an executor of the pure decider (`src/domain/decide.ts`): reads the ticket, asks
 * the decider for the next step, carries it out ({@link TicketSteps}, through the ports: the
 * verification provider, the store, the lifecycle, the limiter, the clock; transitions are
 * compare-and-sets), and goes on until the ticket waits (a delayed status re-check) or ends. A step
 * hands the next decision the ticket as it left it; one that lost a compare-and-set to another
 * worker is followed by a fresh read, and the run goes on from what the winner did. Failed steps
 * are answered by {@link StepFailures}.
 *
 * With Cloudauth 2018-09-16 behind the provider port:
 * - server flow: queued → (materials checked) GetVerifyToken → token_issued → upload to OSS →
 *   SubmitMaterials → submitted → GetStatus until 1/2 → passed / not_passed.
 * - interactive flow: queued → GetVerifyToken → awaiting_user → GetStatus until 1/2 (→ passed /
 *   not_passed), or the token's end → expired.
 * GetMaterials is never called: what Cloudauth recorded of the person is the business's to fetch
 * (see `finish` in `ticket-steps.ts`).
 *
 * A lease about to run out, an expired VerifyToken or refused STS credentials are answered with a
 * new GetVerifyToken (materials are uploaded again under the new Path). Retryable errors are
 * recorded and rethrown for BullMQ's backoff; permanent ones fail the ticket at once
 * (UnrecoverableError); the last attempt fails the ticket with its cause. A Throttling answer
 * blocks the action for every worker. A crash between SubmitMaterials and its transition is caught
 * on the next run by a GetStatus before submitting again (the submit mark).
 *
 * Each run is one `ticket.run` span (`src/ops/tracing.ts`), under BullMQ's `process` span of the
 * ticket's trace: the provider calls and uploads of its steps and the webhook events its
 * transitions publish are its children. It records the TicketId, the ticket's state as the run
 * last saw it and how the run ended; a failed run, its error code.
 */
import { DelayedError, UnrecoverableError, type Job } from 'bullmq';
import { decide, freshRun } from '../domain/decide.js';
import type { Ticket } from '../domain/ticket.js';
import { OrchestratorError } from '../errors.js';
import { ATTR, failSpan, inSpan } from '../ops/tracing.js';
import type { Logger } from '../logger.js';
import type { Telemetry } from '../ops/metrics.js';
import type { ImageDecoding } from '../adapters/oss/decode-limit.js';
import type { TicketStore } from '../adapters/redis/ticket-store.js';
import { runNext, type TicketJobData } from '../adapters/bullmq/queues.js';
import type { ProviderRateLimiter } from '../adapters/redis/rate-limiter.js';
import type { MaterialStagingStore } from '../adapters/staging/staging-store.js';
import type { VerificationProvider } from './provider.js';
import { StepFailures } from './step-failures.js';
import type { TicketLifecycle } from './ticket-lifecycle.js';
import { TicketSteps, type Outcome, type Run, type StoredTicket } from './ticket-steps.js';

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
  /** How long a submission can take (its client's timeout and a margin), in ms; see decide.ts. */
  submitInFlightMs?: number;
  /** Send again a submission that cannot be looked up and whose outcome was lost (`UNKNOWN_SUBMISSION=resubmit`); see decide.ts. */
  resubmitUnknown?: boolean;
}

export interface TicketProcessorDeps {
  store: TicketStore;
  lifecycle: TicketLifecycle;
  /** The verification API (today Cloudauth 2018-09-16, `Cloudauth2018Provider`). */
  provider: VerificationProvider;
  /** Where intake staged the ticket's images (`STAGING_BACKEND`). */
  staging: MaterialStagingStore;
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

/**
 * Builds the BullMQ processor of the `tickets` queue: an executor that asks the decider for the
 * next step, carries it out ({@link TicketSteps}) and asks again with the ticket the step left
 * (read again only after a write lost to another worker), until a step waits or the ticket has
 * ended.
 */
export function makeTicketProcessor(deps: TicketProcessorDeps) {
  const { store, settings } = deps;
  const clock = deps.clock ?? Date.now;
  const beforeSettle = deps.beforeSettle ?? (() => Promise.resolve());
  const steps = new TicketSteps(deps, clock);
  const failures = new StepFailures(deps, clock);

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
    // a wake (the start page handed in MetaInfo, the provider's callback came) set while this run
    // went on could not promote the job then: it was active. Taken now, once the job is delayed,
    // it is never lost: one set after this read finds the job delayed and promotes it itself.
    if (run.wakeable === true && (await store.consumeWake(run.ticketId).catch(() => false))) {
      await runNext(job);
    }
    throw new DelayedError();
  };

  /** What a run leaves for its span: the state it last saw, the error its last failed step threw. */
  interface RunTrace {
    state?: Ticket['state'];
    stepError?: unknown;
  }

  const runTicket = async (
    job: Job<TicketJobData>,
    token: string | undefined,
    seen: RunTrace,
  ): Promise<TicketJobResult> => {
    const run: Run = { job, token, ticketId: job.data.ticketId, memory: freshRun(job.data.polls) };
    // the ticket a step left, when it knows it; read from the store otherwise
    let known: StoredTicket | undefined;
    for (let i = 0; i < MAX_STEPS; i++) {
      const t = known ?? (await store.get(run.ticketId));
      if (!t) return 'missing';
      seen.state = t.state;
      if (i === 0 && t.state === 'awaiting_user') {
        await deps.lifecycle.publish({ ...t, version: await enteredVersion(t) });
      }
      if (i === 0 && t.family === 'financial') {
        run.wakeable = true;
        // a wake taken here is answered by this run: from a fresh read, since it may have come
        // after the read above (a start page's MetaInfo the ticket just read does not show yet)
        if (await store.consumeWake(run.ticketId)) continue;
      }
      const step = decide(t, run.memory, clock(), settings);
      // the start link is out: the business hears it (once per version: the event's id)
      if (step.kind === 'await_start') await deps.lifecycle.publish(t);
      if (step.kind === 'done') {
        // an event lost to a crash between the store and the queue is sent again; one this run's
        // own transition just published is not
        if (run.published !== t.version) await deps.lifecycle.publish(t);
        await beforeSettle(t.ticketId, 'completed');
        return t.state;
      }
      let outcome: Outcome;
      try {
        outcome = await steps.carryOut(run, t, step);
      } catch (err) {
        seen.stepError = err;
        outcome = await failures.answer(run, t, step, err);
      }
      if (outcome.kind === 'wait') return wait(run, outcome);
      known = outcome.ticket;
      if (known) seen.state = known.state;
    }
    throw new OrchestratorError('INTERNAL_ERROR', `ticket did not settle in ${MAX_STEPS} steps`);
  };

  return function processTicket(job: Job<TicketJobData>, token?: string): Promise<TicketJobResult> {
    const seen: RunTrace = {};
    return inSpan(
      'ticket.run',
      { attributes: { [ATTR.ticketId]: job.data.ticketId }, expected: () => true },
      async (span) => {
        try {
          const result = await runTicket(job, token, seen);
          span.setAttribute(ATTR.runOutcome, result === 'missing' ? 'missing' : 'settled');
          if (seen.state) span.setAttribute(ATTR.state, seen.state);
          return result;
        } catch (err) {
          if (seen.state) span.setAttribute(ATTR.state, seen.state);
          if (err instanceof DelayedError) {
            span.setAttribute(ATTR.runOutcome, 'waiting');
          } else {
            // the UnrecoverableError of a permanent failure carries a message only: the failed
            // step's error has the code
            const cause = err instanceof UnrecoverableError ? (seen.stepError ?? err) : err;
            const again =
              err instanceof OrchestratorError &&
              err.retryable &&
              job.attemptsMade + 1 < (job.opts.attempts ?? 1);
            span.setAttribute(ATTR.runOutcome, again ? 'retry' : 'failed');
            failSpan(span, cause);
          }
          throw err;
        }
      },
    );
  };
}
