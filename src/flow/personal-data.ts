/**
 * Data minimisation: a ticket keeps the applicant's personal data (its binding: name, ID number,
 * staged photos; and the business's UserData, sent with GetVerifyToken) only as long as it may
 * still need it.
 *
 * - `passed`, `not_passed`, `cancelled`: erased when the ticket gets there. The masked applicant,
 *   the verdict, scores and history stay for `TICKET_RETENTION_SECONDS`.
 * - `failed`, `expired`: kept `MATERIAL_RETENTION_SECONDS` (default 7 days) so that an operator can
 *   retry the ticket; then erased, and a retry is refused (`PERSONAL_DATA_ERASED`).
 * - On request (`cloudauth-orchestrator erase <TicketId>`), whatever the state: a ticket still
 *   running is cancelled first.
 *
 * Every erasure is recorded on the ticket (`erasedAt`, `erasure`: why). The order is Redis first
 * (the binding and UserData, in a compare-and-set that bumps the version of a failed or expired
 * ticket, which a retry may leave), then the staged
 * objects: a crash in between leaves objects of an erased ticket, which the sweep removes.
 *
 * Crash safety: the lifecycle schedules a ticket's erasure (`<p>:erase:due`, a sorted set) before
 * the transition that makes it due, so no crash after the transition loses it; the schedule is a
 * hint, checked against the ticket when due. The sweep ({@link PersonalDataEraser.sweep}) runs
 * in every worker process (one at a time, under a lock): it erases what is due, and removes the
 * staged objects of TicketIds that have no ticket (an intake that crashed or was refused between
 * staging and creating the ticket) or whose ticket was erased.
 */
import type { RedisClient } from '../adapters/redis/connection.js';
import { isTerminal, type Ticket, type TicketState } from '../domain/ticket.js';
import { IllegalTransitionError, TicketNotFoundError, type ErasureReason } from '../errors.js';
import type { Logger } from '../logger.js';
import type { MaterialStagingStore } from '../adapters/staging/staging-store.js';
import type { TicketStore } from '../adapters/redis/ticket-store.js';

/** What an erasure changed on a ticket. */
export interface ErasureRecord {
  version: number;
  erasedAt: number;
  erasure: ErasureReason;
}

/** States whose personal data goes as soon as the ticket gets there. */
const ERASED_ON_ARRIVAL: ReadonlySet<TicketState> = new Set(['passed', 'not_passed', 'cancelled']);

/** Due erasures taken per read of the schedule. */
const DUE_PAGE = 200;
/** When an erasure that failed is tried again, in ms. */
const RETRY_FAILED_ERASURE_MS = 15 * 60_000;

export interface PersonalDataEraserDeps {
  store: TicketStore;
  staging: MaterialStagingStore;
  logger: Logger;
  /** How long `failed` and `expired` tickets keep their personal data, in ms. */
  retentionMs: number;
  /** Staged objects of a TicketId with no ticket are removed once this old, in ms. */
  orphanGraceMs: number;
  clock?: () => number;
}

/** What one sweep did. */
export interface SweepReport {
  /** Tickets whose personal data it erased. */
  erased: number;
  /** Schedule entries it dropped or moved (a ticket retried, or not yet due). */
  rescheduled: number;
  /** Tickets whose leftover staged objects it removed. */
  orphans: number;
}

export class PersonalDataEraser {
  readonly #deps: PersonalDataEraserDeps;
  readonly #clock: () => number;
  /** Tickets this process is erasing on request: the cancellation it makes first erases them so. */
  readonly #requested = new Set<string>();

  constructor(deps: PersonalDataEraserDeps) {
    this.#deps = deps;
    this.#clock = deps.clock ?? Date.now;
  }

  /**
   * When a ticket becomes due if it reaches `state` now: now for the states erased on arrival,
   * after the retention for `failed` and `expired`; undefined for a state that is not finished.
   */
  dueAt(state: TicketState, now = this.#clock()): number | undefined {
    if (ERASED_ON_ARRIVAL.has(state)) return now;
    return isTerminal(state) ? now + this.#deps.retentionMs : undefined;
  }

  /**
   * Before a transition to `state` at `now` (the transition's own time, default the clock's):
   * schedules the erasure it will make due. Harmless when the transition does not happen (the
   * sweep checks the ticket).
   */
  async beforeTransition(ticketId: string, state: TicketState, now?: number): Promise<void> {
    const at = this.dueAt(state, now);
    if (at !== undefined) await this.#deps.store.scheduleErasure(ticketId, at);
  }

  /**
   * After a transition: erases at once a ticket that got to a state erased on arrival. A failure
   * is logged and left to the sweep (the erasure is scheduled).
   */
  async afterTransition(t: Ticket): Promise<ErasureRecord | undefined> {
    if (!ERASED_ON_ARRIVAL.has(t.state)) return undefined;
    const reason = this.#requested.has(t.ticketId) ? 'request' : 'finished';
    try {
      return await this.erase(t.ticketId, reason, t.version);
    } catch (err) {
      this.#deps.logger.warn(
        { ticketId: t.ticketId, err: { message: (err as Error).message } },
        'could not erase personal data yet; the sweep will',
      );
      return undefined;
    }
  }

  /**
   * Erases the ticket's personal data and staged objects and records why; with `expectedVersion`,
   * only if the ticket is still at it. Answers what changed on the ticket, or undefined when it
   * was not erased (changed meanwhile, or absent: its staged objects are removed all the same).
   */
  async erase(
    ticketId: string,
    reason: ErasureReason,
    expectedVersion?: number,
  ): Promise<ErasureRecord | undefined> {
    const { store, staging, logger } = this.#deps;
    const at = this.#clock();
    const outcome = await store.eraseApplicant(ticketId, at, reason, expectedVersion);
    if (outcome.result === 'conflict') return undefined;
    const objects = await staging.deleteTicket(ticketId);
    await store.unscheduleErasure(ticketId);
    if (outcome.result === 'missing') return undefined;
    logger.info({ ticketId, reason, objects }, 'personal data erased');
    return { version: outcome.version, erasedAt: outcome.erasedAt, erasure: outcome.erasure };
  }

  /**
   * An operator's erasure of one applicant's data, whatever the ticket's state: a ticket still
   * running is cancelled first (through `cancel`), so that no worker sends it on.
   * @throws TicketNotFoundError
   */
  async eraseOnRequest(
    ticketId: string,
    cancel: (ticketId: string) => Promise<unknown>,
  ): Promise<void> {
    this.#requested.add(ticketId);
    try {
      for (;;) {
        const t = await this.#deps.store.get(ticketId);
        if (t === undefined) throw new TicketNotFoundError(ticketId);
        if (!isTerminal(t.state)) {
          await cancel(ticketId).catch((err: unknown) => {
            // finished meanwhile: erase it as it is now
            if (!(err instanceof IllegalTransitionError)) throw err;
          });
          continue;
        }
        if ((await this.erase(ticketId, 'request', t.version)) !== undefined) return;
      }
    } finally {
      this.#requested.delete(ticketId);
    }
  }

  /** One sweep: what is due, then leftover staged objects. */
  async sweep(): Promise<SweepReport> {
    const report: SweepReport = { erased: 0, rescheduled: 0, orphans: 0 };
    await this.#eraseDue(report);
    await this.#removeOrphans(report);
    return report;
  }

  async #eraseDue(report: SweepReport): Promise<void> {
    const { store } = this.#deps;
    const now = this.#clock();
    const seen = new Set<string>();
    for (;;) {
      const due = (await store.dueErasures(now, DUE_PAGE)).filter((id) => !seen.has(id));
      if (due.length === 0) return;
      for (const ticketId of due) {
        seen.add(ticketId);
        // one ticket that cannot be erased now (a binding that no longer decrypts, a medium that
        // refuses) must not hold up the others: it is tried again later
        try {
          await this.#eraseIfDue(ticketId, now, report);
        } catch (err) {
          this.#failed(ticketId, err, 'could not erase a ticket due for erasure; trying later');
          await store.scheduleErasure(ticketId, now + RETRY_FAILED_ERASURE_MS);
        }
      }
    }
  }

  async #eraseIfDue(ticketId: string, now: number, report: SweepReport): Promise<void> {
    const { store } = this.#deps;
    const t = await store.get(ticketId);
    if (t === undefined) {
      // expired or taken back: its staged objects, if any, are the orphan sweep's (with its grace)
      await store.unscheduleErasure(ticketId);
      report.rescheduled++;
      return;
    }
    // due only from when it got to its state (a hint written before a transition that lost)
    const at = t.erasedAt === undefined ? this.dueAt(t.state, t.updatedAt) : undefined;
    if (at === undefined || at > now) {
      if (at === undefined) await store.unscheduleErasure(ticketId);
      else await store.scheduleErasure(ticketId, at);
      report.rescheduled++;
      return;
    }
    const reason = ERASED_ON_ARRIVAL.has(t.state) ? 'finished' : 'retention';
    if ((await this.erase(ticketId, reason, t.version)) !== undefined) report.erased++;
  }

  async #removeOrphans(report: SweepReport): Promise<void> {
    const { store, staging, logger } = this.#deps;
    const before = this.#clock() - this.#deps.orphanGraceMs;
    await store.forgetStagingBefore(before);
    for await (const info of staging.tickets()) {
      try {
        if (!(await this.#isOrphan(info.ticketId, info.newestAt, before))) continue;
        const objects = await staging.deleteTicket(info.ticketId);
        logger.info({ ticketId: info.ticketId, objects }, 'removed staged objects no ticket needs');
        report.orphans++;
      } catch (err) {
        this.#failed(
          info.ticketId,
          err,
          'could not look at or remove staged objects; trying later',
        );
      }
    }
  }

  /**
   * Whether a ticket's staged objects are no ticket's: it was erased, or it does not exist and
   * neither its objects nor an intake that staged for it are younger than the grace (an intake
   * under way, whose ticket comes next, may have found its objects staged already, long ago).
   */
  async #isOrphan(ticketId: string, newestAt: number, before: number): Promise<boolean> {
    const { store } = this.#deps;
    const t = await store.get(ticketId);
    if (t !== undefined) return t.erasedAt !== undefined;
    if (newestAt > before) return false;
    const staged = await store.stagingSince(ticketId);
    return staged === undefined || staged <= before;
  }

  #failed(ticketId: string, err: unknown, message: string): void {
    const e = err as { code?: unknown; name?: unknown };
    this.#deps.logger.warn(
      { ticketId, err: { name: e?.name, code: typeof e?.code === 'string' ? e.code : undefined } },
      message,
    );
  }

  /**
   * Sweeps now and then every `intervalMs`, in the process that takes the round's lock (the others
   * skip it). Errors are logged; the next round tries again. Answers a stop function that waits
   * for the round in progress.
   */
  start(redis: RedisClient, prefix: string, intervalMs: number): () => Promise<void> {
    let stopped = false;
    let timer: NodeJS.Timeout | undefined;
    let running: Promise<void> = Promise.resolve();
    const round = async () => {
      try {
        const lock = Math.max(1000, Math.floor(intervalMs * 0.9));
        const took = await redis.set(`${prefix}:erase:lock`, String(process.pid), 'PX', lock, 'NX');
        if (took === 'OK') {
          const report = await this.sweep();
          if (report.erased + report.orphans > 0) {
            this.#deps.logger.info(report, 'personal data sweep');
          }
        }
      } catch (err) {
        this.#deps.logger.warn(
          { err: { message: (err as Error).message } },
          'personal data sweep failed; next round will retry',
        );
      }
      if (!stopped) {
        timer = setTimeout(() => {
          running = round();
        }, intervalMs);
        timer.unref();
      }
    };
    running = round();
    return async () => {
      stopped = true;
      clearTimeout(timer);
      await running;
    };
  }
}
