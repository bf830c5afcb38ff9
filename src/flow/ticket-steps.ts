/**
 * The executor's steps: each carries out one {@link Step} of the decider (`src/domain/decide.ts`)
 * through the ports (Cloudauth, the uploader, the store, the lifecycle, the limiter, the clock),
 * persists what it changed and answers whether the run goes on or waits. What a step learns that
 * the store does not keep (a status answer, a refused lease) goes into the run's memory, which the
 * decider reads at the next step.
 *
 * A transition lost to another worker (compare-and-set conflict) is not an error: the run reads
 * the ticket again and decides from what the winner did.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Job } from 'bullmq';
import { storeUnavailableOf } from '../adapters/redis/store-unavailable.js';
import {
  IMAGE_FIELDS,
  fromStoredSource,
  type ImageField,
  type MaterialSource,
  type TicketBinding,
} from '../domain/binding.js';
import {
  verdictOf,
  type DecidedTicket,
  type RenewReason,
  type RunMemory,
  type Step,
} from '../domain/decide.js';
import type { Lease, Ticket, TicketEvent, Verdict } from '../domain/ticket.js';
import { mayHaveReachedProvider, OrchestratorError } from '../errors.js';
import { prepareMaterials, type PreparedMaterials } from '../adapters/oss/materials.js';
import type { TicketJobData } from '../adapters/bullmq/queues.js';
import { StagedObjectError } from '../adapters/staging/staging-errors.js';
import type { MaterialStagingStore } from '../adapters/staging/staging-store.js';
import type { ProviderOperation } from './provider.js';
import type { TicketProcessorDeps } from './ticket-processor.js';

/** One run of a ticket's job. */
export interface Run {
  job: Job<TicketJobData>;
  token: string | undefined;
  ticketId: string;
  memory: RunMemory;
  /** The images, loaded and checked once per run. */
  prepared?: PreparedMaterials;
  /** The applicant's binding and UserData, read and decrypted once per run (they never change). */
  applicant?: Applicant;
  /** The provider action in flight, for throttling. */
  action?: string;
  /** The provider's refusal of the held lease, answered by a renewal or given back to the backoff. */
  refusal?: OrchestratorError;
  /** The version whose event this run's own transition published (the lifecycle publishes it). */
  published?: number;
  /** The ticket can be woken (financial family): its waits read the store's wake flag. */
  wakeable?: boolean;
}

interface Applicant {
  binding: TicketBinding;
  userData: unknown;
  metaInfo?: string | undefined;
}

/** The ticket as the executor reads it: the domain's, with the store's marks and callback. */
export type StoredTicket = DecidedTicket & { callbackUrl?: string; precheckedAt?: number };

/**
 * What a step leaves the run to do: go on, or wait until `at` (ms since the epoch) in the delayed
 * set, a later run and not a failed attempt. `poll` counts the wait as a status re-check (the
 * interval grows); a wait for Redis memory is not one.
 *
 * Going on carries the ticket as the step left it when the step knows it (it wrote it, or wrote
 * nothing), so the next decision needs no read; without it (a write lost to another worker, a
 * refused lease) the executor reads the ticket again. Every write a step makes is conditional on
 * the version it decided from (the transitions, and the submit mark before the billable call), so
 * deciding from the ticket a step left never overwrites what another worker or an operator did,
 * nor submits for a ticket cancelled meanwhile.
 */
export type Outcome =
  { kind: 'continue'; ticket?: StoredTicket } | { kind: 'wait'; at: number; poll: boolean };

/** How long a worker keeps trying to save a verdict while Redis is unreachable. */
export const VERDICT_SAVE_PATIENCE_MS = 15_000;

/** Go on with `ticket` as a step left it. */
const goOn = (ticket: StoredTicket): Outcome => ({ kind: 'continue', ticket });

/** Go on, reading the ticket again first. */
export const CONTINUE: Outcome = { kind: 'continue' };

/** The steps the executor carries out itself; `done` is the processor's (it settles the job). */
export type ActiveStep = Exclude<Step, { kind: 'done' }>;

/** Carries out the steps of a ticket's run; one instance serves every job of a processor. */
export class TicketSteps {
  constructor(
    private readonly deps: TicketProcessorDeps,
    private readonly clock: () => number,
  ) {}

  /** Carries out `step` for `t` as read (or left by the previous step) at the start of the step. */
  carryOut(run: Run, t: StoredTicket, step: ActiveStep): Promise<Outcome> {
    switch (step.kind) {
      case 'get_token':
        return this.issue(run, t);
      case 'await_start':
        // woken early by the start page (the store's wake flag and a promotion of the job)
        return Promise.resolve({ kind: 'wait', at: step.until, poll: false });
      case 'renew':
        return this.renew(run, t, step.reason);
      case 'upload_and_submit':
        return this.uploadAndSubmit(run, t);
      case 'check_status':
        return this.checkStatus(run, t, step.why);
      case 'record_submitted':
        return this.advance(run, t, { type: 'submitted' });
      case 'finish':
        return this.finish(run, t, step.verdict);
      case 'expire':
        return this.advance(run, t, { type: 'token_expired' });
      case 'wait_until':
        return Promise.resolve({ kind: 'wait', at: step.at, poll: true });
      case 'outcome_unknown':
        return Promise.reject(
          new OrchestratorError(
            'SUBMISSION_OUTCOME_UNKNOWN',
            `${this.deps.provider.actionOf(t, 'submit') ?? 'the submission'} was sent and its answer lost; not sent again (retry the ticket to send it, possibly billed twice)`,
          ),
        );
      case 'give_back':
        // the refusal the run could not answer, or the lease that stays expiring
        return Promise.reject(
          run.refusal ??
            new OrchestratorError(
              'INTERNAL_ERROR',
              `lease still expiring after ${this.deps.settings.maxRenewalsPerRun} renewals`,
            ),
        );
    }
  }

  /**
   * A provider call, under its action's QPS limit; the action is kept for throttling. An operation
   * that makes no call for this ticket (the provider names no action) runs unlimited.
   */
  private async call<T>(
    run: Run,
    t: Ticket,
    operation: ProviderOperation,
    f: () => Promise<T>,
  ): Promise<T> {
    const action = this.deps.provider.actionOf(t, operation);
    if (action === undefined) {
      delete run.action;
      return f();
    }
    run.action = action;
    return this.deps.limiter.run(action, f);
  }

  /**
   * A transition. Applied, the run goes on with the ticket it wrote; lost to another worker, it
   * is logged and the run reads the ticket again.
   */
  private async advance(run: Run, t: StoredTicket, event: TicketEvent): Promise<Outcome> {
    const { result, ticket } =
      event.type === 'verdict'
        ? await this.saveVerdict(() => this.deps.lifecycle.advance(t, event))
        : await this.deps.lifecycle.advance(t, event);
    if (result === 'applied') {
      run.published = ticket.version;
      return { kind: 'continue', ticket };
    }
    this.deps.logger.info(
      { ticketId: t.ticketId, event: event.type, result },
      'the ticket moved on meanwhile; reading it again',
    );
    return CONTINUE;
  }

  /**
   * A verdict is paid for: while Redis is unreachable (a failover, a restart), saving it is tried
   * again for up to {@link VERDICT_SAVE_PATIENCE_MS} rather than given up with the run, whose next
   * run would have to ask the provider again (ID_MIN: submit again, and be billed again). Within
   * the job's lock time, so no other worker takes the ticket meanwhile.
   */
  private async saveVerdict<T>(save: () => Promise<T>): Promise<T> {
    const until = this.clock() + VERDICT_SAVE_PATIENCE_MS;
    for (let wait = 250; ; wait = Math.min(wait * 2, 2000)) {
      try {
        return await save();
      } catch (err) {
        if (storeUnavailableOf(err) === undefined || this.clock() + wait > until) throw err;
        this.deps.logger.warn('Redis is unreachable; saving the verdict again shortly');
        await sleep(wait);
      }
    }
  }

  private async applicantOf(run: Run): Promise<Applicant> {
    return (run.applicant ??= await this.deps.store.getApplicant(run.ticketId));
  }

  private async prepared(run: Run): Promise<PreparedMaterials> {
    if (run.prepared !== undefined) return run.prepared;
    const { binding } = await this.applicantOf(run);
    const sources = await sourcesOf(this.deps.staging, run.ticketId, binding);
    return (run.prepared = await prepareMaterials(sources, this.deps.images));
  }

  private async providerApplicant(run: Run, t: Ticket) {
    const { binding, userData, metaInfo } = await this.applicantOf(run);
    return {
      ticket: t,
      binding,
      ...(userData === undefined ? {} : { userData: userData as Record<string, unknown> }),
      ...(metaInfo === undefined ? {} : { metaInfo }),
    };
  }

  private async getToken(run: Run, t: Ticket): Promise<Lease> {
    const applicant = await this.providerApplicant(run, t);
    return this.call(run, t, 'start', () => this.deps.provider.start(applicant, this.clock()));
  }

  private async issue(run: Run, t: StoredTicket): Promise<Outcome> {
    // the server flow checks every image before it takes a token (all problems at once)
    if (t.flow === 'server') await this.prepared(run);
    if (t.precheckedAt === undefined && this.deps.provider.actionOf(t, 'precheck') !== undefined) {
      const applicant = await this.providerApplicant(run, t);
      // marked before the call, like a submission, as it is billed and cannot be asked about
      // afterwards: a later run (after a failed token, or a call whose answer was lost) does not
      // pay for it again; the face verification judges the name and number as well
      const at = this.clock();
      const answer = await this.call(run, t, 'precheck', async () => {
        if ((await this.deps.store.markPrechecked(t.ticketId, at, t.version)) === 'conflict') {
          return undefined;
        }
        return this.releasingOnRefusal(t.ticketId, 'precheckedAt', at, () =>
          this.deps.provider.precheck(applicant),
        );
      });
      // cancelled, or moved on by another worker, since this run read it
      if (answer === undefined) return CONTINUE;
      t = { ...t, precheckedAt: at };
      const verdict = verdictOf(answer);
      if (verdict !== undefined) return this.finish(run, t, verdict);
    }
    return this.advance(run, t, { type: 'token_issued', lease: await this.getToken(run, t) });
  }

  private async renew(run: Run, t: StoredTicket, reason: RenewReason): Promise<Outcome> {
    run.memory.renewals++;
    this.deps.logger.info({ ticketId: t.ticketId, reason }, 'asking for a new token');
    const lease = await this.getToken(run, t);
    this.deps.telemetry?.tokenRenewals.inc();
    delete run.refusal;
    delete run.memory.refusedToken;
    return this.advance(run, t, { type: 'token_renewed', lease });
  }

  /**
   * Stages the materials, persists the submit mark, then submits: a run that dies after the mark
   * is followed by one that asks the status before it submits again (the decider's rule). The mark
   * is set inside the rate limiter's slot, right before the request: a run that dies while it
   * waits for its slot leaves no mark, and the window in which a submission's outcome can be lost
   * is the request itself (it matters where the provider cannot be asked afterwards: ID_MIN).
   */
  private async uploadAndSubmit(run: Run, t: StoredTicket): Promise<Outcome> {
    const lease = t.lease;
    if (!lease) throw new OrchestratorError('INTERNAL_ERROR', 'submission without a lease');
    const { binding } = await this.applicantOf(run);
    const staged = await this.deps.provider.stage(t, lease, await this.prepared(run));
    const mark = this.clock();
    const answer = await this.call(run, t, 'submit', async () => {
      const marked = await this.deps.store.markSubmitStarted(
        t.ticketId,
        mark,
        t.version,
        t.submitStartedAt,
      );
      if (marked === 'conflict') return undefined;
      try {
        const submit = () => this.deps.provider.submit(t, lease, binding, staged);
        // a submission the provider cannot be asked about keeps its mark unless surely not acted on
        return this.deps.provider.actionOf(t, 'status') === undefined
          ? await this.releasingOnRefusal(t.ticketId, 'submitStartedAt', mark, submit)
          : await submit();
      } finally {
        // this run's own call has ended, answered or refused: no other call of its mark is on its
        // way (a failure that ends the run takes this memory with it)
        run.memory.endedMark = mark;
      }
    });
    if (answer === undefined) {
      // cancelled or moved on by another worker since this run read it: nothing is submitted
      this.deps.logger.info(
        { ticketId: t.ticketId },
        'the ticket moved on before its submission; reading it again',
      );
      return CONTINUE;
    }
    run.memory.status = { answer, from: 'SubmitMaterials', state: t.state, submitStartedAt: mark };
    return goOn({ ...t, submitStartedAt: mark });
  }

  /**
   * Makes a marked call that cannot be looked up afterwards; when it fails in a way that proves the
   * provider did not act on it (a refusal with a code, a connection never made), releases the mark
   * so that a later run may make it. Any other failure leaves the mark: the outcome is unknown.
   * A release that does not reach Redis leaves the mark too (the safe side: not paid twice).
   */
  private async releasingOnRefusal<T>(
    ticketId: string,
    mark: 'submitStartedAt' | 'precheckedAt',
    at: number,
    call: () => Promise<T>,
  ): Promise<T> {
    try {
      return await call();
    } catch (err) {
      if (!mayHaveReachedProvider(err)) {
        await this.deps.store.releaseMark(ticketId, mark, at).catch((releaseErr: unknown) => {
          this.deps.logger.warn(
            { ticketId, mark, err: { message: (releaseErr as Error).message } },
            'could not release the mark of a call the provider refused; it is not made again',
          );
        });
      }
      throw err;
    }
  }

  private async checkStatus(
    run: Run,
    t: StoredTicket,
    why: 'after_crash' | 'poll',
  ): Promise<Outcome> {
    const answer = await this.call(run, t, 'status', () => this.deps.provider.status(t));
    if (why === 'after_crash' && answer.statusCode !== -1) {
      this.deps.logger.info(
        { ticketId: t.ticketId },
        'found an earlier submission; not submitting again',
      );
    }
    run.memory.status = {
      answer,
      from: 'GetStatus',
      state: t.state,
      submitStartedAt: t.submitStartedAt,
    };
    return { kind: 'continue', ticket: t };
  }

  /**
   * Saves the verdict, and nothing of the person as the provider recorded them: no GetMaterials.
   * Its answer (name, ID number, image URLs) is left to the business, which may call GetMaterials
   * itself with its own credentials, within the hour its image URLs are readable (spec
   * `cloudauth.md` §1.7). Kept here it would be personal data held for `TICKET_RETENTION_SECONDS`
   * (30 days by default) and useless after that hour; not fetching it also saves one QPS-limited
   * provider call per ticket, and data minimisation asks no more of us.
   */
  private finish(run: Run, t: StoredTicket, found: Verdict): Promise<Outcome> {
    const verdict: Verdict = this.deps.emulated === true ? { ...found, emulated: true } : found;
    return this.advance(run, t, { type: 'verdict', verdict });
  }
}

/**
 * The binding's materials as sources to load: a staged image is read from the staging store
 * (decrypted and checked against its digest). An object that is gone or unreadable fails the
 * ticket with its typed error naming the field (`STAGED_OBJECT_MISSING`, `_UNREADABLE`: not
 * retried, as reading again answers the same; an operator may retry once it is restored); the
 * store being unreachable is retried as any outage is.
 */
async function sourcesOf(
  staging: MaterialStagingStore,
  ticketId: string,
  binding: TicketBinding,
): Promise<Partial<Record<ImageField, MaterialSource>>> {
  const out: Partial<Record<ImageField, MaterialSource>> = {};
  for (const field of IMAGE_FIELDS) {
    const s = binding.materials[field];
    if (s === undefined) continue;
    if (s.kind !== 'staged') {
      out[field] = fromStoredSource(s);
      continue;
    }
    try {
      out[field] = { kind: 'bytes', data: await staging.get(ticketId, s) };
    } catch (err) {
      throw err instanceof StagedObjectError ? err.withField(`Binding.${field}`) : err;
    }
  }
  return out;
}
