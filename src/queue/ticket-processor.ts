/**
 * The ticket job: reads the ticket, takes the next step of its flow, persists the transition with
 * compare-and-set, and goes on until the ticket waits (a delayed status re-check) or ends.
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
 * on the next run by a GetStatus before submitting again.
 */
import { DelayedError, UnrecoverableError, type Job } from 'bullmq';
import type { CloudauthClient } from '../cloudauth/client.js';
import type { GetStatusResult, GetVerifyTokenResult } from '../cloudauth/types.js';
import {
  IMAGE_FIELDS,
  fromStoredSource,
  type ImageField,
  type MaterialSource,
  type TicketBinding,
} from '../domain/binding.js';
import {
  isTerminal,
  type Lease,
  type Ticket,
  type TicketError,
  type TicketEvent,
  type Verdict,
} from '../domain/ticket.js';
import { OrchestratorError, StoreFullError, ThrottledError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Telemetry } from '../ops/metrics.js';
import {
  needsNewToken,
  prepareMaterials,
  uploadMaterials,
  type PreparedMaterials,
} from '../oss/materials.js';
import type { ImageDecoding } from '../oss/decode-limit.js';
import type { MaterialUploader } from '../oss/uploader.js';
import type { TicketStore } from '../store/ticket-store.js';
import type { TicketJobData } from './queues.js';
import type { TicketLifecycle } from './ticket-lifecycle.js';
import type { ProviderRateLimiter } from './rate-limiter.js';

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

/** Steps one run may take before it yields; a ticket needs at most about six. */
const MAX_STEPS = 16;

/** Compare-and-set tries of one attempt error against a ticket that keeps changing. */
const RECORD_TRIES = 5;

/** `wait` moves the job to the delayed set: a later run, not a failed attempt. `poll` counts it as a
 * status re-check (the poll interval grows); a wait for Redis memory is not one. */
type Outcome = { kind: 'continue' } | { kind: 'wait'; ms: number; poll?: false };
const CONTINUE: Outcome = { kind: 'continue' };

interface Run {
  job: Job<TicketJobData>;
  token: string | undefined;
  ticketId: string;
  prepared?: PreparedMaterials;
  /** The applicant's binding, read and decrypted once per run (it never changes). */
  binding?: TicketBinding;
  renewals: number;
  /** The provider action in flight, for throttling. */
  action?: string;
}

/** Builds the BullMQ processor of the `tickets` queue. */
export function makeTicketProcessor(deps: TicketProcessorDeps) {
  const { store, cloudauth, limiter, logger, settings } = deps;
  const clock = deps.clock ?? Date.now;
  const beforeSettle = deps.beforeSettle ?? (() => Promise.resolve());

  const call = async <T>(run: Run, action: string, f: () => Promise<T>): Promise<T> => {
    run.action = action;
    return limiter.run(action, f);
  };

  /** Persists a transition; false when another worker advanced the ticket first. */
  const advance = async (t: Ticket, event: TicketEvent): Promise<boolean> =>
    (await deps.lifecycle.advance(t, event)) === 'applied';

  const bindingOf = async (run: Run): Promise<TicketBinding> =>
    (run.binding ??= await store.getBinding(run.ticketId));

  const sourcesOf = (binding: TicketBinding): Partial<Record<ImageField, MaterialSource>> => {
    const out: Partial<Record<ImageField, MaterialSource>> = {};
    for (const field of IMAGE_FIELDS) {
      const s = binding.materials[field];
      if (s) out[field] = fromStoredSource(s);
    }
    return out;
  };

  const getToken = async (run: Run, t: Ticket): Promise<Lease> => {
    const [binding, userData] = await Promise.all([bindingOf(run), store.getUserData(t.ticketId)]);
    const cloudauthBinding: Record<string, string> = {};
    if (binding.name) cloudauthBinding.Name = binding.name;
    if (binding.idNumber) cloudauthBinding.IdentificationNumber = binding.idNumber;
    if (t.flow === 'interactive') {
      for (const [field, s] of Object.entries(binding.materials)) {
        if (s.kind === 'url') cloudauthBinding[field] = s.url;
        else if (s.kind === 'oss') cloudauthBinding[field] = s.ref;
      }
    }
    const r = await call(run, 'GetVerifyToken', () =>
      cloudauth.getVerifyToken({
        biz: t.biz,
        ticketId: t.ticketId,
        binding: cloudauthBinding,
        ...(userData === undefined ? {} : { userData: userData as Record<string, unknown> }),
      }),
    );
    return leaseOf(r, clock());
  };

  const needsRenewal = (lease: Lease | undefined): boolean => {
    if (!lease) return true;
    const now = clock();
    const margin = Math.min(settings.leaseMarginMs, (lease.tokenExpiresAt - lease.issuedAt) / 4);
    return Math.min(lease.tokenExpiresAt, lease.sts.expiresAt) - now < margin;
  };

  const renew = async (run: Run, t: Ticket): Promise<Outcome> => {
    run.renewals++;
    const lease = await getToken(run, t);
    deps.telemetry?.tokenRenewals.inc();
    await advance(t, { type: 'token_renewed', lease });
    return CONTINUE;
  };

  const finish = async (run: Run, t: Ticket, status: GetStatusResult): Promise<Outcome> => {
    const found = verdictOf(status);
    if (!found) return CONTINUE;
    const verdict: Verdict = deps.emulated === true ? { ...found, emulated: true } : found;
    const materials = await call(run, 'GetMaterials', () =>
      cloudauth.getMaterials({ biz: t.biz, ticketId: t.ticketId }),
    );
    await store.saveProviderMaterials(t.ticketId, materials);
    await advance(t, { type: 'verdict', verdict });
    return CONTINUE;
  };

  const getStatus = (run: Run, t: Ticket) =>
    call(run, 'GetStatus', () => cloudauth.getStatus({ biz: t.biz, ticketId: t.ticketId }));

  const pollDelay = (run: Run): number => {
    const polls = run.job.data.polls ?? 0;
    return Math.min(settings.pollMaxMs, settings.pollInitialMs * settings.pollFactor ** polls);
  };

  const submit = async (run: Run, t: Ticket & { submitStartedAt?: number }): Promise<Outcome> => {
    const lease = t.lease;
    if (!lease || needsRenewal(lease)) return renew(run, t);
    const binding = await bindingOf(run);
    run.prepared ??= await prepareMaterials(sourcesOf(binding), deps.images);
    const entries = await uploadMaterials(deps.uploader, lease.sts, run.prepared);
    if (t.submitStartedAt !== undefined) {
      const status = await getStatus(run, t);
      if (status.statusCode !== -1) {
        logger.info({ ticketId: t.ticketId }, 'found an earlier submission; not submitting again');
        return status.statusCode === 0
          ? advanceTo(t, { type: 'submitted' })
          : finish(run, t, status);
      }
    }
    await store.markSubmitStarted(t.ticketId, clock());
    const materials = [
      ...(binding.name ? [{ type: 'Name', value: binding.name }] : []),
      ...(binding.idNumber ? [{ type: 'IdentificationNumber', value: binding.idNumber }] : []),
      ...entries,
    ];
    const result = await call(run, 'SubmitMaterials', () =>
      cloudauth.submitMaterials({ verifyToken: lease.verifyToken, materials }),
    );
    if (result.statusCode === 1 || result.statusCode === 2) {
      return finish(run, t, { ...result, statusCode: result.statusCode });
    }
    return advanceTo(t, { type: 'submitted' });
  };

  const advanceTo = async (t: Ticket, event: TicketEvent): Promise<Outcome> => {
    await advance(t, event);
    return CONTINUE;
  };

  const step = async (run: Run, t: Ticket & { submitStartedAt?: number }): Promise<Outcome> => {
    switch (t.state) {
      case 'queued': {
        if (t.flow === 'server') {
          run.prepared ??= await prepareMaterials(sourcesOf(await bindingOf(run)), deps.images);
        }
        return advanceTo(t, { type: 'token_issued', lease: await getToken(run, t) });
      }
      case 'token_issued':
        return submit(run, t);
      case 'submitted': {
        const status = await getStatus(run, t);
        if (status.statusCode === 1 || status.statusCode === 2) return finish(run, t, status);
        return { kind: 'wait', ms: pollDelay(run) };
      }
      case 'awaiting_user': {
        const status = await getStatus(run, t);
        if (status.statusCode === 1 || status.statusCode === 2) return finish(run, t, status);
        const left = (t.lease?.tokenExpiresAt ?? 0) - clock();
        if (status.statusCode === -1 && left <= 0) return advanceTo(t, { type: 'token_expired' });
        return {
          kind: 'wait',
          ms: left > 0 ? Math.min(pollDelay(run), left + 1000) : pollDelay(run),
        };
      }
      case 'passed':
      case 'not_passed':
      case 'expired':
      case 'failed':
      case 'cancelled':
        return CONTINUE;
    }
  };

  const fail = async (t: Ticket, error: OrchestratorError): Promise<void> => {
    const fresh = (await store.get(t.ticketId)) ?? t;
    if (isTerminal(fresh.state)) return;
    await advance(fresh, { type: 'failed', error: ticketErrorOf(error, clock()) });
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

  const onError = async (run: Run, t: Ticket, err: unknown): Promise<Outcome> => {
    const e =
      err instanceof OrchestratorError
        ? err
        : new OrchestratorError('INTERNAL_ERROR', errorText(err), { cause: err });
    if (needsNewToken(e) && t.flow === 'server' && run.renewals < settings.maxRenewalsPerRun) {
      logger.info({ ticketId: t.ticketId, code: e.code }, 'lease refused; asking for a new token');
      return renew(run, t);
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
      return { kind: 'wait', ms: e.retryAfterMs ?? 10_000, poll: false };
    }
    if (!e.retryable) {
      logger.warn({ ticketId: t.ticketId, err: e.toJSON() }, 'permanent error: ticket failed');
      await fail(t, e);
      await beforeSettle(t.ticketId, 'failed');
      throw new UnrecoverableError(e.message);
    }
    await recordError(t, ticketErrorOf(e, clock()));
    const last = run.job.attemptsMade + 1 >= (run.job.opts.attempts ?? 1);
    if (last) {
      logger.warn({ ticketId: t.ticketId, err: e.toJSON() }, 'retries exhausted: ticket failed');
      await fail(t, e);
      await beforeSettle(t.ticketId, 'failed');
    } else {
      deps.telemetry?.retries.inc({ code: e.code });
      logger.info({ ticketId: t.ticketId, err: e.toJSON() }, 'retryable error; will retry');
    }
    throw e;
  };

  return async function processTicket(
    job: Job<TicketJobData>,
    token?: string,
  ): Promise<TicketJobResult> {
    const run: Run = { job, token, ticketId: job.data.ticketId, renewals: 0 };
    for (let i = 0; i < MAX_STEPS; i++) {
      const t = await store.get(run.ticketId);
      if (!t) return 'missing';
      if (isTerminal(t.state)) {
        await deps.lifecycle.publish(t);
        await beforeSettle(t.ticketId, 'completed');
        return t.state;
      }
      if (i === 0 && t.state === 'awaiting_user') {
        await deps.lifecycle.publish({ ...t, version: await enteredVersion(t) });
      }
      let outcome: Outcome;
      try {
        outcome = await step(run, t);
      } catch (err) {
        outcome = await onError(run, t, err);
      }
      if (outcome.kind === 'wait') {
        if (outcome.poll !== false) {
          await job.updateData({ ...job.data, polls: (job.data.polls ?? 0) + 1 });
        }
        await job.moveToDelayed(Date.now() + outcome.ms, token);
        throw new DelayedError();
      }
    }
    throw new OrchestratorError('INTERNAL_ERROR', `ticket did not settle in ${MAX_STEPS} steps`);
  };
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

function verdictOf(s: GetStatusResult): Verdict | undefined {
  if (s.statusCode !== 1 && s.statusCode !== 2) return undefined;
  return {
    statusCode: s.statusCode,
    ...(s.trustedScore === undefined ? {} : { trustedScore: s.trustedScore }),
    ...(s.similarityScore === undefined ? {} : { similarityScore: s.similarityScore }),
    ...(s.authorityComparisonScore === undefined
      ? {}
      : { authorityComparisonScore: s.authorityComparisonScore }),
    ...(s.auditConclusions === undefined ? {} : { auditConclusions: s.auditConclusions }),
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
