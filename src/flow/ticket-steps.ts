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
import type { Job } from 'bullmq';
import type { GetVerifyTokenResult } from '../adapters/cloudauth/types.js';
import {
  IMAGE_FIELDS,
  fromStoredSource,
  type ImageField,
  type MaterialSource,
  type TicketBinding,
} from '../domain/binding.js';
import type { RenewReason, RunMemory, Step } from '../domain/decide.js';
import type { Lease, Ticket, TicketEvent, Verdict } from '../domain/ticket.js';
import { OrchestratorError } from '../errors.js';
import {
  prepareMaterials,
  uploadMaterials,
  type PreparedMaterials,
} from '../adapters/oss/materials.js';
import type { TransitionExtras } from '../adapters/redis/ticket-store.js';
import type { TicketJobData } from '../adapters/bullmq/queues.js';
import type { TicketProcessorDeps } from './ticket-processor.js';

/** One run of a ticket's job. */
export interface Run {
  job: Job<TicketJobData>;
  token: string | undefined;
  ticketId: string;
  memory: RunMemory;
  /** The images, loaded and checked once per run. */
  prepared?: PreparedMaterials;
  /** The applicant's binding, read and decrypted once per run (it never changes). */
  binding?: TicketBinding;
  /** The provider action in flight, for throttling. */
  action?: string;
  /** The provider's refusal of the held lease, answered by a renewal or given back to the backoff. */
  refusal?: OrchestratorError;
}

/**
 * What a step leaves the run to do: go on (read the ticket and decide again), or wait until `at`
 * (ms since the epoch) in the delayed set, a later run and not a failed attempt. `poll` counts the
 * wait as a status re-check (the interval grows); a wait for Redis memory is not one.
 */
export type Outcome = { kind: 'continue' } | { kind: 'wait'; at: number; poll: boolean };

export const CONTINUE: Outcome = { kind: 'continue' };

/** The steps the executor carries out itself; `done` is the processor's (it settles the job). */
export type ActiveStep = Exclude<Step, { kind: 'done' }>;

type StoredTicket = Ticket & { submitStartedAt?: number };

/** Carries out the steps of a ticket's run; one instance serves every job of a processor. */
export class TicketSteps {
  constructor(
    private readonly deps: TicketProcessorDeps,
    private readonly clock: () => number,
  ) {}

  /** Carries out `step` for `t` as read at the start of the step. */
  carryOut(run: Run, t: StoredTicket, step: ActiveStep): Promise<Outcome> {
    switch (step.kind) {
      case 'get_token':
        return this.issue(run, t);
      case 'renew':
        return this.renew(run, t, step.reason);
      case 'upload_and_submit':
        return this.uploadAndSubmit(run, t);
      case 'check_status':
        return this.checkStatus(run, t, step.why);
      case 'record_submitted':
        return this.advance(t, { type: 'submitted' });
      case 'finish':
        return this.finish(run, t, step.verdict);
      case 'expire':
        return this.advance(t, { type: 'token_expired' });
      case 'wait_until':
        return Promise.resolve({ kind: 'wait', at: step.at, poll: true });
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

  private async call<T>(run: Run, action: string, f: () => Promise<T>): Promise<T> {
    run.action = action;
    return this.deps.limiter.run(action, f);
  }

  /** A transition; one lost to another worker is logged, and the run reads the ticket again. */
  private async advance(
    t: Ticket,
    event: TicketEvent,
    extras?: TransitionExtras,
  ): Promise<Outcome> {
    const result = await this.deps.lifecycle.advance(t, event, extras);
    if (result !== 'applied') {
      this.deps.logger.info(
        { ticketId: t.ticketId, event: event.type, result },
        'the ticket moved on meanwhile; reading it again',
      );
    }
    return CONTINUE;
  }

  private async bindingOf(run: Run): Promise<TicketBinding> {
    return (run.binding ??= await this.deps.store.getBinding(run.ticketId));
  }

  private async prepared(run: Run): Promise<PreparedMaterials> {
    return (run.prepared ??= await prepareMaterials(
      sourcesOf(await this.bindingOf(run)),
      this.deps.images,
    ));
  }

  private async getToken(run: Run, t: Ticket): Promise<Lease> {
    const [binding, userData] = await Promise.all([
      this.bindingOf(run),
      this.deps.store.getUserData(t.ticketId),
    ]);
    const r = await this.call(run, 'GetVerifyToken', () =>
      this.deps.cloudauth.getVerifyToken({
        biz: t.biz,
        ticketId: t.ticketId,
        binding: cloudauthBindingOf(t, binding),
        ...(userData === undefined ? {} : { userData: userData as Record<string, unknown> }),
      }),
    );
    return leaseOf(r, this.clock());
  }

  private async issue(run: Run, t: Ticket): Promise<Outcome> {
    // the server flow checks every image before it takes a token (all problems at once)
    if (t.flow === 'server') await this.prepared(run);
    return this.advance(t, { type: 'token_issued', lease: await this.getToken(run, t) });
  }

  private async renew(run: Run, t: Ticket, reason: RenewReason): Promise<Outcome> {
    run.memory.renewals++;
    this.deps.logger.info({ ticketId: t.ticketId, reason }, 'asking for a new token');
    const lease = await this.getToken(run, t);
    this.deps.telemetry?.tokenRenewals.inc();
    delete run.refusal;
    delete run.memory.refusedToken;
    return this.advance(t, { type: 'token_renewed', lease });
  }

  private async uploadAndSubmit(run: Run, t: StoredTicket): Promise<Outcome> {
    const lease = t.lease;
    if (!lease) throw new OrchestratorError('INTERNAL_ERROR', 'submission without a lease');
    const binding = await this.bindingOf(run);
    const entries = await uploadMaterials(this.deps.uploader, lease.sts, await this.prepared(run));
    const mark = this.clock();
    await this.deps.store.markSubmitStarted(t.ticketId, mark);
    const materials = [
      ...(binding.name ? [{ type: 'Name', value: binding.name }] : []),
      ...(binding.idNumber ? [{ type: 'IdentificationNumber', value: binding.idNumber }] : []),
      ...entries,
    ];
    const answer = await this.call(run, 'SubmitMaterials', () =>
      this.deps.cloudauth.submitMaterials({ verifyToken: lease.verifyToken, materials }),
    );
    run.memory.status = { answer, from: 'SubmitMaterials', state: t.state, submitStartedAt: mark };
    return CONTINUE;
  }

  private async checkStatus(
    run: Run,
    t: StoredTicket,
    why: 'after_crash' | 'poll',
  ): Promise<Outcome> {
    const answer = await this.call(run, 'GetStatus', () =>
      this.deps.cloudauth.getStatus({ biz: t.biz, ticketId: t.ticketId }),
    );
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
    return CONTINUE;
  }

  private async finish(run: Run, t: Ticket, found: Verdict): Promise<Outcome> {
    const verdict: Verdict = this.deps.emulated === true ? { ...found, emulated: true } : found;
    const providerMaterials = await this.call(run, 'GetMaterials', () =>
      this.deps.cloudauth.getMaterials({ biz: t.biz, ticketId: t.ticketId }),
    );
    // saved with the verdict, atomically: a worker that lost the race writes nothing
    return this.advance(t, { type: 'verdict', verdict }, { providerMaterials });
  }
}

function sourcesOf(binding: TicketBinding): Partial<Record<ImageField, MaterialSource>> {
  const out: Partial<Record<ImageField, MaterialSource>> = {};
  for (const field of IMAGE_FIELDS) {
    const s = binding.materials[field];
    if (s) out[field] = fromStoredSource(s);
  }
  return out;
}

/** The binding GetVerifyToken sends: name and number; the interactive flow's materials too. */
function cloudauthBindingOf(t: Ticket, binding: TicketBinding): Record<string, string> {
  const out: Record<string, string> = {};
  if (binding.name) out.Name = binding.name;
  if (binding.idNumber) out.IdentificationNumber = binding.idNumber;
  if (t.flow === 'interactive') {
    for (const [field, s] of Object.entries(binding.materials)) {
      if (s.kind === 'url') out[field] = s.url;
      else if (s.kind === 'oss') out[field] = s.ref;
    }
  }
  return out;
}

/** The lease of a GetVerifyToken answer; an unparseable STS Expiration counts as the token's. */
export function leaseOf(r: GetVerifyTokenResult, now: number): Lease {
  const tokenExpiresAt = now + r.verifyToken.durationSeconds * 1000;
  const stsExpiresAt = Date.parse(r.stsToken.expiration);
  return {
    verifyToken: r.verifyToken.token,
    tokenExpiresAt,
    sts: {
      accessKeyId: r.stsToken.accessKeyId,
      accessKeySecret: r.stsToken.accessKeySecret,
      securityToken: r.stsToken.token,
      endPoint: r.stsToken.endPoint,
      bucketName: r.stsToken.bucketName,
      path: r.stsToken.path,
      expiresAt: Number.isNaN(stsExpiresAt) ? tokenExpiresAt : stsExpiresAt,
    },
    pageUrl: r.cloudauthPageUrl,
    issuedAt: now,
  };
}
