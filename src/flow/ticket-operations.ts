/**
 * Operator commands on tickets, shared by the HTTP API and the CLI: cancel a ticket that has not
 * ended, retry a failed or expired one (its job is run again from `queued`, see `ticket-rerun.ts`),
 * retry every failed ticket of a batch, erase one applicant's personal data. An unknown TicketId is a `TicketNotFoundError`; an
 * unreachable Redis, from the store or the queue, a `StoreUnavailableError`.
 */
import type { Queue } from 'bullmq';
import { canApply } from '../domain/ticket-machine.js';
import type { TicketEvent } from '../domain/ticket.js';
import { IllegalTransitionError, PersonalDataErasedError, TicketNotFoundError } from '../errors.js';
import { unavailableWhenDown } from '../adapters/redis/store-unavailable.js';
import type { StoredTicket, TicketStore } from '../adapters/redis/ticket-store.js';
import { jobIdOf, type TicketJobData, type TicketJobSettings } from '../adapters/bullmq/queues.js';
import type { TicketLifecycle } from './ticket-lifecycle.js';
import type { PersonalDataEraser } from './personal-data.js';
import { runJobAgain } from './ticket-rerun.js';
import { DEFAULT_START_LINK_MS } from './ticket-intake.js';

export interface TicketOperationsDeps {
  store: TicketStore;
  queue: Queue<TicketJobData>;
  lifecycle: TicketLifecycle;
  jobs: TicketJobSettings;
  /** Erases personal data on request (`erase`). */
  personalData: PersonalDataEraser;
  /** A retried financial ID_PRO ticket's new start link lives this long (START_LINK_SECONDS). */
  startLinkMs?: number | undefined;
  clock?: () => number;
}

const CAS_TRIES = 5;

export class TicketOperations {
  constructor(private readonly deps: TicketOperationsDeps) {}

  /** Cancels a ticket that has not ended. Throws IllegalTransitionError for one that has. */
  async cancel(ticketId: string): Promise<StoredTicket> {
    const ticket = await this.apply(ticketId, { type: 'cancelled' });
    await unavailableWhenDown(async () => {
      const job = await this.deps.queue.getJob(jobIdOf(ticketId));
      if (job && ((await job.isDelayed()) || (await job.isWaiting()))) {
        await job.remove().catch(() => undefined);
      }
    });
    return ticket;
  }

  /**
   * Sends a failed or expired ticket back to `queued` and runs its job again. A job still active
   * (its processor settled the ticket and has not yet failed or completed the job) is re-run by
   * the worker that holds it when it settles, or by the reconciler if that worker dies first.
   */
  async retry(ticketId: string): Promise<StoredTicket> {
    const ticket = await this.apply(ticketId, { type: 'retried' });
    await unavailableWhenDown(() => runJobAgain(this.deps.queue, ticketId, this.deps.jobs));
    return ticket;
  }

  /**
   * Erases one applicant's personal data on request, whatever the ticket's state (a running one is
   * cancelled first), and records it on the ticket. Answers the ticket as it is then.
   */
  async erase(ticketId: string): Promise<StoredTicket> {
    await this.deps.personalData.eraseOnRequest(ticketId, (id) => this.cancel(id));
    const t = await this.deps.store.get(ticketId);
    if (!t) throw new TicketNotFoundError(ticketId);
    return t;
  }

  /** Retries every failed ticket (of one batch). Answers how many. */
  async retryFailed(filter: { batchId?: string } = {}): Promise<number> {
    let cursor: string | undefined;
    let count = 0;
    do {
      const page = await this.deps.store.list({
        state: 'failed',
        limit: 500,
        ...(filter.batchId === undefined ? {} : { batchId: filter.batchId }),
        ...(cursor === undefined ? {} : { cursor }),
      });
      for (const t of page.tickets) {
        try {
          await this.retry(t.ticketId);
          count++;
        } catch (err) {
          if (!(err instanceof IllegalTransitionError)) throw err;
        }
      }
      cursor = page.nextCursor;
    } while (cursor !== undefined);
    return count;
  }

  private async apply(ticketId: string, event: TicketEvent): Promise<StoredTicket> {
    for (let i = 0; i < CAS_TRIES; i++) {
      const t = await this.deps.store.get(ticketId);
      if (!t) throw new TicketNotFoundError(ticketId);
      if (!canApply(t.state, event.type)) throw new IllegalTransitionError(t.state, event.type);
      // a run needs the applicant's data: an erased ticket cannot run again
      if (event.type === 'retried' && t.erasedAt !== undefined) {
        throw new PersonalDataErasedError(ticketId, t.erasure);
      }
      // a retried ID_PRO ticket gets a new start link (the person's browser starts it again)
      const applied =
        event.type === 'retried' && t.startBy !== undefined
          ? {
              ...event,
              startBy:
                (this.deps.clock ?? Date.now)() + (this.deps.startLinkMs ?? DEFAULT_START_LINK_MS),
            }
          : event;
      const { result, ticket } = await this.deps.lifecycle.advance(t, applied);
      if (result === 'applied') return ticket;
    }
    throw new Error(`ticket kept changing while ${event.type} was applied`);
  }
}
