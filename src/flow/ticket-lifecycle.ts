/**
 * The one way a ticket advances: the pure transition, the compare-and-set in the store, a log
 * line, and the ticket's outward event (a webhook) for states a business hears about. Publishing is
 * idempotent per (ticket, version, event), and a worker that finds a ticket in such a state
 * publishes again: an event lost to a crash between the store and the queue is sent on the next run.
 */
import { transition } from '../domain/ticket-machine.js';
import type { Ticket, TicketEvent } from '../domain/ticket.js';
import type { Logger } from '../logger.js';
import type { Telemetry } from '../ops/metrics.js';
import type { PersonalDataEraser } from './personal-data.js';
import type { ApplyOutcome, TicketStore } from '../adapters/redis/ticket-store.js';

/** What {@link TicketLifecycle.advance} answers. */
export interface Advanced<T extends Ticket> {
  result: ApplyOutcome;
  /** The ticket as written when applied, as given otherwise. */
  ticket: T;
}

/** Sends a ticket's outward event for its current state, if it has one. */
export type TicketPublisher = (ticket: Ticket & { callbackUrl?: string }) => Promise<void>;

export interface TicketLifecycleDeps {
  store: TicketStore;
  logger: Logger;
  publish?: TicketPublisher;
  clock?: () => number;
  /** Counts applied transitions (`transitions_total`). */
  telemetry?: Telemetry | undefined;
  /**
   * Data minimisation (`personal-data.ts`): told before a transition to a finished state (it
   * schedules the erasure) and after one (it erases at once where the state says so).
   */
  personalData?: Pick<PersonalDataEraser, 'beforeTransition' | 'afterTransition'> | undefined;
}

export class TicketLifecycle {
  private readonly clock: () => number;

  constructor(private readonly deps: TicketLifecycleDeps) {
    this.clock = deps.clock ?? Date.now;
  }

  /**
   * Applies `event` to `t` if `t` is still the stored version; publishes the new state. Answers
   * the outcome and, when applied, the ticket as written (`t` otherwise). `conflict`: another
   * worker (or an operator) changed it first.
   */
  async advance<T extends Ticket & { callbackUrl?: string }>(
    t: T,
    event: TicketEvent,
  ): Promise<Advanced<T>> {
    const { ticket, history } = transition(t, event, this.clock());
    const { personalData } = this.deps;
    if (personalData !== undefined && ticket.state !== t.state) {
      await personalData.beforeTransition(t.ticketId, ticket.state, ticket.updatedAt);
    }
    const result = await this.deps.store.apply(t.ticketId, t.version, ticket, history);
    if (result !== 'applied') {
      this.deps.logger.debug({ ticketId: t.ticketId, result, event: event.type }, 'not applied');
      return { result, ticket: t };
    }
    this.deps.telemetry?.transitions.inc({ from: history.from, to: history.to });
    this.deps.logger.info(
      { ticketId: t.ticketId, from: history.from, to: history.to, event: event.type },
      'ticket advanced',
    );
    // the transition copies every field it does not change or clear, the store's own beside the
    // domain's (callback, submit mark, payload digest): the ticket as the store now holds it
    let written = ticket as T;
    await this.publish(written);
    if (personalData !== undefined && written.state !== t.state) {
      // an erasure records itself (and bumps the version of a ticket a retry may leave): the
      // ticket as the store now holds it
      const erased = await personalData.afterTransition(written);
      if (erased !== undefined) written = { ...written, ...erased };
    }
    return { result, ticket: written };
  }

  /** Publishes the ticket's event for its state (again); harmless when already sent. */
  async publish(t: Ticket & { callbackUrl?: string }): Promise<void> {
    await this.deps.publish?.(t);
  }
}
