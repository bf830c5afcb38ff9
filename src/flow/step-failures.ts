/**
 * The executor's answer to a failed step (`ticket-processor.ts`), by kind of failure:
 * - a refused lease (STS or VerifyToken invalid) in a submission goes back to the decider, which
 *   renews it or gives the job back;
 * - a throttled action is blocked for every worker, then handled as the retryable error it is;
 * - a full Redis makes the ticket wait (recording the error would be refused too);
 * - a permanent error fails the ticket at once;
 * - a retryable one is recorded and rethrown for BullMQ's backoff, and the last attempt fails the
 *   ticket with its cause.
 */
import { UnrecoverableError } from 'bullmq';
import { isTerminal, type Ticket, type TicketError } from '../domain/ticket.js';
import { OrchestratorError, StoreFullError, ThrottledError } from '../errors.js';
import { needsNewToken } from '../adapters/oss/materials.js';
import type { TicketProcessorDeps } from './ticket-processor.js';
import {
  CONTINUE,
  type ActiveStep,
  type Outcome,
  type Run,
  type StoredTicket,
} from './ticket-steps.js';

/** Compare-and-set tries of one attempt error against a ticket that keeps changing. */
const RECORD_TRIES = 5;

/** How long a ticket waits for Redis memory when the error gives no hint, in ms. */
const STORE_FULL_WAIT_MS = 10_000;

export class StepFailures {
  readonly #deps: TicketProcessorDeps;
  readonly #clock: () => number;
  readonly #beforeSettle: NonNullable<TicketProcessorDeps['beforeSettle']>;

  constructor(deps: TicketProcessorDeps, clock: () => number) {
    this.#deps = deps;
    this.#clock = clock;
    this.#beforeSettle = deps.beforeSettle ?? (() => Promise.resolve());
  }

  /** What the run does after `step` failed with `err`: go on, wait, or end (the promise rejects). */
  async answer(run: Run, t: StoredTicket, step: ActiveStep, err: unknown): Promise<Outcome> {
    const e =
      err instanceof OrchestratorError
        ? err
        : new OrchestratorError('INTERNAL_ERROR', errorText(err), { cause: err });
    if (needsNewToken(e) && t.flow === 'server' && step.kind === 'upload_and_submit') {
      return this.#leaseRefused(run, t, e);
    }
    if (e instanceof ThrottledError && run.action) await this.#block(run.action, e);
    if (e instanceof StoreFullError) return this.#storeFull(t, e);
    if (!e.retryable) {
      await this.#settleFailed(t, e, 'permanent error: ticket failed');
      throw new UnrecoverableError(e.message);
    }
    return this.#retry(run, t, e);
  }

  /**
   * The decider renews the refused lease or gives the job back. The run reads the ticket again: a
   * refused submission may have left a new submit mark, which the next decision must see (it asks
   * the status before submitting again).
   */
  #leaseRefused(run: Run, t: StoredTicket, e: OrchestratorError): Outcome {
    this.#deps.logger.info({ ticketId: t.ticketId, code: e.code }, 'lease refused');
    run.refusal = e;
    run.memory.refusedToken = t.lease?.verifyToken ?? '';
    return CONTINUE;
  }

  async #block(action: string, e: ThrottledError): Promise<void> {
    this.#deps.telemetry?.throttled.inc({ action });
    await this.#deps.limiter.block(action, e.retryAfterMs ?? 1000);
  }

  /**
   * Redis refuses writes (maxmemory): an attempt spent on Redis's memory would fail tickets that
   * did nothing wrong. The ticket waits as a status re-check does; if even the move to the delayed
   * set is refused, BullMQ counts the attempt and retries with the backoff.
   */
  #storeFull(t: StoredTicket, e: StoreFullError): Outcome {
    this.#deps.logger.warn(
      { ticketId: t.ticketId, err: e.toJSON() },
      'Redis is full; ticket waits',
    );
    return {
      kind: 'wait',
      at: this.#clock() + (e.retryAfterMs ?? STORE_FULL_WAIT_MS),
      poll: false,
    };
  }

  /** Records the attempt and rethrows for the backoff; the last attempt fails the ticket. */
  async #retry(run: Run, t: StoredTicket, e: OrchestratorError): Promise<never> {
    await this.#recordError(t, ticketErrorOf(e, this.#clock()));
    if (run.job.attemptsMade + 1 >= (run.job.opts.attempts ?? 1)) {
      await this.#settleFailed(t, e, 'retries exhausted: ticket failed');
    } else {
      this.#deps.telemetry?.retries.inc({ code: e.code });
      // for the operations page's retries per minute (best effort, never throws)
      await this.#deps.limiter.countRetry();
      this.#deps.logger.info(
        { ticketId: t.ticketId, err: e.toJSON() },
        'retryable error; will retry',
      );
    }
    throw e;
  }

  /**
   * Records a failed attempt on the version the step was computed from. When the ticket moved on
   * meanwhile (another worker or an operator), re-reads it: the error is recorded on the fresh
   * version if the ticket is still unfinished in the same state, and dropped otherwise (it belongs
   * to a step of a state the ticket has left).
   */
  async #recordError(t: Ticket, error: TicketError): Promise<void> {
    const { store } = this.#deps;
    let current: Ticket | undefined = t;
    for (let i = 0; i < RECORD_TRIES && current; i++) {
      const recorded = await store.recordAttemptError(current.ticketId, current.version, error);
      if (recorded.result === 'applied') return;
      const fresh: Ticket | undefined = await store.get(t.ticketId);
      current = fresh && !isTerminal(fresh.state) && fresh.state === t.state ? fresh : undefined;
    }
    this.#deps.logger.debug(
      { ticketId: t.ticketId, code: error.code },
      'attempt error not recorded: ticket moved on',
    );
  }

  async #settleFailed(t: Ticket, e: OrchestratorError, why: string): Promise<void> {
    this.#deps.logger.warn({ ticketId: t.ticketId, err: e.toJSON() }, why);
    const fresh = (await this.#deps.store.get(t.ticketId)) ?? t;
    if (!isTerminal(fresh.state)) {
      await this.#deps.lifecycle.advance(fresh, {
        type: 'failed',
        error: ticketErrorOf(e, this.#clock()),
      });
    }
    await this.#beforeSettle(t.ticketId, 'failed');
  }
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
