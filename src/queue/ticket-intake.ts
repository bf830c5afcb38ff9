/**
 * Accepting a ticket: the store creates it (a TicketId given twice is one ticket), then its job is
 * added (BullMQ ignores a job id it already holds). Adding the job again for a ticket that already
 * exists makes a crash between the two harmless: nothing accepted is lost.
 */
import type { Queue } from 'bullmq';
import type { Scheme } from '../config.js';
import type { TicketBinding } from '../domain/binding.js';
import { flowOf, type Ticket } from '../domain/ticket.js';
import { ValidationError } from '../errors.js';
import type { NewTicket, TicketStore } from '../store/ticket-store.js';
import { ticketJobOptions, type TicketJobData, type TicketJobSettings } from './queues.js';

/** A ticket as a producer hands it over; the binding is already validated. */
export interface TicketInput {
  ticketId: string;
  biz: string;
  binding: TicketBinding;
  userData?: Record<string, unknown>;
  batchId?: string;
  callbackUrl?: string;
}

export interface EnqueueResult {
  /** False when the TicketId was known already. */
  created: boolean;
  /** False when it was known with a different payload. */
  samePayload: boolean;
  ticket: Ticket;
}

export interface TicketIntakeDeps {
  store: TicketStore;
  queue: Queue<TicketJobData>;
  /** Biz → scheme, from config. */
  biz: Readonly<Record<string, Scheme>>;
  jobs: TicketJobSettings;
  /**
   * A keyed fingerprint (HMAC) of a payload: a plain hash of a binding would let anyone holding
   * it test guesses of an ID number.
   */
  fingerprint: (text: string) => string;
}

/** The longest TicketId accepted. */
export const TICKET_ID_MAX = 128;

/**
 * An unknown Biz as a refusal may quote it: only when it reads as a Biz name. A shifted CSV column
 * puts a name or an identity number there, and a refusal never repeats personal data.
 */
export function quotedBiz(biz: string): string {
  return /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/.test(biz) && !/\d{5}/.test(biz)
    ? `"${biz}"`
    : 'the given Biz';
}

export class TicketIntake {
  constructor(private readonly deps: TicketIntakeDeps) {}

  /** Accepts one ticket. */
  async enqueue(input: TicketInput): Promise<EnqueueResult> {
    const [result] = await this.enqueueMany([input]);
    if (!result) throw new Error('enqueueMany answered nothing');
    return result;
  }

  /**
   * Accepts many tickets: each is created in the store (one script call each), then the jobs of
   * all that are new or repeated with the same payload are added in one bulk call.
   */
  async enqueueMany(inputs: readonly TicketInput[]): Promise<EnqueueResult[]> {
    const results = await this.createAll(inputs);
    const jobs = results
      .filter((r) => r.samePayload)
      .map((r) => ({
        name: 'ticket',
        data: { ticketId: r.ticket.ticketId },
        opts: ticketJobOptions(r.ticket.ticketId, this.deps.jobs),
      }));
    const [only] = jobs;
    if (jobs.length === 1 && only) await this.deps.queue.add(only.name, only.data, only.opts);
    else if (jobs.length > 1) await this.deps.queue.addBulk(jobs);
    return results;
  }

  /** Checks every input, then creates them in the store together. */
  private async createAll(inputs: readonly TicketInput[]): Promise<EnqueueResult[]> {
    const tickets = inputs.map((input) => this.newTicket(input));
    const created = await this.deps.store.createMany(tickets);
    return created.map(({ created, ticket, payloadHash }, i) => ({
      created,
      samePayload: payloadHash === tickets[i]?.payloadHash,
      ticket,
    }));
  }

  /** The store's form of an input; a {@link ValidationError} for a bad Biz or TicketId. */
  private newTicket(input: TicketInput): NewTicket {
    const scheme = this.deps.biz[input.biz];
    if (!scheme)
      throw new ValidationError('Biz', `${quotedBiz(input.biz)} is not a configured Biz`);
    if (!/^[\x21-\x7e]+$/.test(input.ticketId) || input.ticketId.length > TICKET_ID_MAX) {
      throw new ValidationError(
        'TicketId',
        `must be 1–${TICKET_ID_MAX} printable ASCII characters without spaces`,
      );
    }
    const { batchId, ...payload } = input;
    return {
      ticketId: input.ticketId,
      biz: input.biz,
      flow: flowOf(scheme),
      binding: input.binding,
      payloadHash: this.deps.fingerprint(canonicalJson(payload)),
      ...(input.userData === undefined ? {} : { userData: input.userData }),
      ...(batchId === undefined ? {} : { batchId }),
      ...(input.callbackUrl === undefined ? {} : { callbackUrl: input.callbackUrl }),
    };
  }
}

/** One text for one payload, whatever the order of its keys: what the fingerprint is taken of. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
