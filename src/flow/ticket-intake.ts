/**
 * Accepting a ticket: the store creates it (a TicketId given twice is one ticket), then its job is
 * added (BullMQ ignores a job id it already holds). Adding the job again for a ticket that already
 * exists makes a crash between the two harmless: nothing accepted is lost.
 *
 * A ticket is accepted once its job is added. When the job cannot be added (Redis full or gone),
 * the tickets this call created that have no job are taken back before the error is thrown
 * (a `StoreFullError` when Redis is full, a `StoreUnavailableError` when it cannot be reached):
 * nothing refused stays. One that cannot be taken back (Redis gone) is found by the reconciler,
 * which gives it its job.
 *
 * Before any of that, the images given as bytes or local files are staged
 * (`material-staging.ts`): the ticket keeps references, never bytes. A staging store that fails
 * refuses the whole call (`StagingUnavailableError`, 503 over HTTP) before any ticket is created.
 * What it staged for the call's tickets before failing, like the objects of a ticket whose job
 * could not be added, is left to the staging sweep, which removes the objects of a TicketId that
 * has no ticket once they are `STAGING_ORPHAN_GRACE_SECONDS` old: deleting them here could delete
 * the objects of a concurrent intake of the same TicketId, whose ticket is about to be created.
 *
 * Traced (`src/ops/tracing.ts`): a call is a `ticket.intake` span, the root of its ticket's trace,
 * which BullMQ carries into the job. A batch's tickets each start a trace of their own (linked to
 * the call's span), so one large batch is not one huge trace.
 */
import type { Queue } from 'bullmq';
import { familyOf, flowOfBiz, type BizCatalogue } from '../domain/biz.js';
import type { TicketBinding } from '../domain/binding.js';
import { userDataProblem } from '../domain/user-data.js';
import { ValidationError } from '../errors.js';
import { ATTR, SpanKind, inSpan, ownTraceOf } from '../ops/tracing.js';
import { storeFullOf } from '../adapters/redis/store-full.js';
import { storeUnavailableOf } from '../adapters/redis/store-unavailable.js';
import type {
  CreateResult,
  NewTicket,
  StoredTicket,
  TicketStore,
} from '../adapters/redis/ticket-store.js';
import type { ImageLimits } from '../adapters/oss/image-header.js';
import type { MaterialStagingStore } from '../adapters/staging/staging-store.js';
import { StagingGate, needsStaging, stageAll } from './material-staging.js';
import {
  jobIdOf,
  ticketJobOptions,
  type TicketJobData,
  type TicketJobSettings,
} from '../adapters/bullmq/queues.js';

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
  ticket: StoredTicket;
}

export interface TicketIntakeDeps {
  store: TicketStore;
  queue: Queue<TicketJobData>;
  /** Biz → scheme, from config. */
  biz: BizCatalogue;
  jobs: TicketJobSettings;
  /**
   * A keyed fingerprint (HMAC) of a payload: a plain hash of a binding would let anyone holding
   * it test guesses of an ID number.
   */
  fingerprint: (text: string) => string;
  /** Where images given as bytes or files are staged for the workers. */
  staging: MaterialStagingStore;
  /** Pixel limits a staged file's header is checked against again (IMAGE_MAX_PIXELS, …). */
  imageLimits: ImageLimits;
  /** How long a financial ID_PRO ticket's start link lives (START_LINK_SECONDS), in ms. */
  startLinkMs?: number | undefined;
}

/** START_LINK_SECONDS's default, in ms. */
export const DEFAULT_START_LINK_MS = 7 * 86_400_000;

/** The longest TicketId accepted. */
export const TICKET_ID_MAX = 128;

/** Configured Biz names listed at most in a refusal; the rest are counted. */
const LISTED_BIZ_MAX = 10;

/**
 * The refusal of an unknown Biz: it names the configured ones (config, not input) and never
 * repeats the value given, which a shifted CSV column can make a name or an identity number.
 */
export function unknownBizMessage(biz: BizCatalogue): string {
  const names = Object.keys(biz);
  if (names.length === 0) return 'is not a configured Biz (none is configured)';
  const listed = names.slice(0, LISTED_BIZ_MAX).join(', ');
  const more = names.length > LISTED_BIZ_MAX ? `, … ${names.length} in all` : '';
  return `is not a configured Biz (configured: ${listed}${more})`;
}

export class TicketIntake {
  /** Every call of this intake stages within it. */
  readonly #stagingGate = new StagingGate();

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
  enqueueMany(inputs: readonly TicketInput[]): Promise<EnqueueResult[]> {
    const [one] = inputs;
    // the TicketId and Biz of a single ticket; a batch's are on each ticket's own trace
    const attributes =
      inputs.length === 1 && one
        ? { [ATTR.ticketCount]: 1, [ATTR.ticketId]: one.ticketId, [ATTR.biz]: one.biz }
        : { [ATTR.ticketCount]: inputs.length };
    return inSpan('ticket.intake', { kind: SpanKind.PRODUCER, attributes }, () =>
      this.#enqueueMany(inputs),
    );
  }

  async #enqueueMany(inputs: readonly TicketInput[]): Promise<EnqueueResult[]> {
    // everything checked before anything is staged
    for (const input of inputs) this.check(input);
    const staging = inputs
      .filter((i) => Object.values(i.binding.materials).some(needsStaging))
      .map((i) => i.ticketId);
    // before any object: the orphan sweep then leaves this call's objects alone, even old ones
    try {
      await this.deps.store.noteStaging(staging, Date.now());
    } catch (err) {
      throw storeFullOf(err) ?? err;
    }
    const staged = await stageAll(
      this.deps.staging,
      inputs,
      this.deps.imageLimits,
      this.#stagingGate,
    );
    const tickets = staged.map((input) => this.newTicket(input));
    const created = await this.deps.store.createMany(tickets);
    const results = created.map(({ created, ticket, payloadHash }, i) => ({
      created,
      samePayload: payloadHash === tickets[i]?.payloadHash,
      ticket,
    }));
    const jobs = results
      .filter((r) => r.samePayload)
      .map((r) => ({
        name: 'ticket',
        data: { ticketId: r.ticket.ticketId },
        opts: {
          ...ticketJobOptions(r.ticket.ticketId, this.deps.jobs),
          // in a batch, a trace per ticket (nothing when tracing is off)
          ...(inputs.length > 1
            ? ownTraceOf('ticket.enqueue', {
                [ATTR.ticketId]: r.ticket.ticketId,
                [ATTR.biz]: r.ticket.biz,
              })
            : undefined),
        },
      }));
    try {
      const [only] = jobs;
      if (jobs.length === 1 && only) await this.deps.queue.add(only.name, only.data, only.opts);
      else if (jobs.length > 1) await this.deps.queue.addBulk(jobs);
    } catch (err) {
      await this.takeBack(created).catch(() => undefined);
      throw storeFullOf(err) ?? storeUnavailableOf(err) ?? err;
    }
    // Before the caller hears 202: replicas hold the tickets (REDIS_WAIT_REPLICAS), so a failover
    // right after the answer does not lose them. A job a failover loses is the reconciler's to
    // restore (it gives every queued ticket without a job its job). When the replicas do not
    // confirm in time the call fails with StoreUnavailableError (503): the tickets stand and are
    // worked; sending the same TicketIds again is safe and answers as for repeats.
    await this.deps.store.confirmDurable(results.map((r) => r.ticket.ticketId));
    return results;
  }

  /**
   * After a failed job add: takes back the tickets this call created that have no job (a bulk add
   * may have added some jobs before it failed; those tickets stand, as does every repeat).
   */
  private async takeBack(created: readonly CreateResult[]): Promise<void> {
    const mine = created.filter((r) => r.created);
    const jobStates = await Promise.all(
      mine.map((r) => this.deps.queue.getJobState(jobIdOf(r.ticket.ticketId))),
    );
    await this.deps.store.discardCreated(mine.filter((_, i) => jobStates[i] === 'unknown'));
  }

  /** Throws a {@link ValidationError} for a bad Biz, TicketId or UserData. */
  private check(input: TicketInput): void {
    if (!this.deps.biz[input.biz]) {
      throw new ValidationError('Biz', unknownBizMessage(this.deps.biz));
    }
    if (!/^[\x21-\x7e]+$/.test(input.ticketId) || input.ticketId.length > TICKET_ID_MAX) {
      throw new ValidationError(
        'TicketId',
        `must be 1–${TICKET_ID_MAX} printable ASCII characters without spaces`,
      );
    }
    const userDataIssue =
      input.userData === undefined ? undefined : userDataProblem(input.userData);
    if (userDataIssue !== undefined) throw new ValidationError('UserData', userDataIssue);
  }

  /**
   * The store's form of a checked, staged input. Its fingerprint covers the staged references,
   * which the same bytes of the same ticket always get: a repeat is recognised whether its image
   * came as a file or as base64.
   */
  private newTicket(input: TicketInput): NewTicket {
    const profile = this.deps.biz[input.biz];
    if (!profile) throw new ValidationError('Biz', unknownBizMessage(this.deps.biz));
    const { batchId, ...payload } = input;
    const family = familyOf(profile);
    const flow = flowOfBiz(profile);
    // a financial ID_PRO ticket waits for its start link to be opened, until the link's end
    const startBy =
      family === 'financial' && flow === 'interactive'
        ? Date.now() + (this.deps.startLinkMs ?? DEFAULT_START_LINK_MS)
        : undefined;
    return {
      ticketId: input.ticketId,
      biz: input.biz,
      flow,
      family,
      ...(startBy === undefined ? {} : { startBy }),
      binding: input.binding,
      payloadHash: this.deps.fingerprint(canonicalJson(payload)),
      ...(input.userData === undefined ? {} : { userData: input.userData }),
      ...(batchId === undefined ? {} : { batchId }),
      ...(input.callbackUrl === undefined ? {} : { callbackUrl: input.callbackUrl }),
    };
  }
}

/**
 * Deepest nesting {@link canonicalJson} follows: a payload is a few levels plus a `UserData` of at
 * most `USERDATA_MAX_DEPTH` levels, so this is only reached by a value that skipped those checks.
 */
export const CANONICAL_MAX_DEPTH = 32;

/**
 * One text for one payload, whatever the order of its keys: what the fingerprint is taken of.
 * Throws a RangeError past {@link CANONICAL_MAX_DEPTH} levels rather than overflow the stack.
 */
export function canonicalJson(value: unknown, depth = 0): string {
  if (depth > CANONICAL_MAX_DEPTH) {
    throw new RangeError(`canonicalJson: nested more than ${CANONICAL_MAX_DEPTH} levels`);
  }
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v, depth + 1)).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v, depth + 1)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
