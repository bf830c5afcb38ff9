/**
 * The reconciler's walk over every ticket's hash (SCAN), for the tickets its sweep of the indexes
 * cannot see: a ticket written without its index entries (a crash, or a Redis that ran out of
 * memory between the two writes) gets them back and, when unfinished, its job; a finished ticket
 * without an expiry gets the rest of its retention.
 *
 * Paced: a round examines about `keysPerRound` keys (SCAN with COUNT {@link SCAN_COUNT}) and
 * leaves its cursor in Redis (`<prefix>:reconcile:scan-cursor`), so the next round, in whichever
 * process takes the lock, goes on from there; after the last key the walk starts over. SCAN
 * returns every key present for the whole walk at least once (some twice: harmless).
 */
import type { RedisClient } from '../adapters/redis/connection.js';
import { isTerminal } from '../domain/ticket.js';
import type { Logger } from '../logger.js';
import type { TicketStore } from '../adapters/redis/ticket-store.js';

/** Keys one SCAN call examines (its COUNT). */
export const SCAN_COUNT = 1000;

/**
 * Tickets younger than this are left to the call creating them, which may still add their job or
 * take them back, in ms.
 */
export const SCAN_MIN_AGE_MS = 60_000;

/** What a round of the walk did. */
export interface ScanReport {
  /** Ticket hashes found (old enough to look at). */
  tickets: number;
  /** Tickets that lacked index entries, now restored. */
  reindexed: number;
  /** Unfinished tickets found outside the indexes whose job was added again. */
  readded: number;
  /** Finished tickets that had no expiry and got the rest of their retention. */
  expiring: number;
  /** The round reached the end of the keyspace: the next one starts over. */
  passComplete: boolean;
}

/** What a round needs. */
export interface TicketScanDeps {
  store: Pick<TicketStore, 'scanTickets' | 'restore'>;
  /** Keeps the cursor between rounds. */
  redis: RedisClient;
  prefix: string;
  /** Keys examined per round, about (`RECONCILE_SCAN_KEYS`). */
  keysPerRound: number;
  /** Makes an unfinished ticket's job agree with it; `'readded'` when it added the job. */
  reconcile: (ticketId: string) => Promise<string>;
  logger: Logger;
  /** ms since the epoch; default `Date.now`. */
  clock?: () => number;
}

/** The Redis key holding the walk's cursor. */
export function scanCursorKey(prefix: string): string {
  return `${prefix}:reconcile:scan-cursor`;
}

/** One round of the walk (see the module comment). */
export async function scanRound(deps: TicketScanDeps): Promise<ScanReport> {
  const { store, redis, logger } = deps;
  const report: ScanReport = {
    tickets: 0,
    reindexed: 0,
    readded: 0,
    expiring: 0,
    passComplete: false,
  };
  const cursorKey = scanCursorKey(deps.prefix);
  let cursor = (await redis.get(cursorKey)) ?? '0';
  const createdBefore = (deps.clock ?? Date.now)() - SCAN_MIN_AGE_MS;
  for (let examined = 0; examined < deps.keysPerRound;) {
    const count = Math.min(SCAN_COUNT, deps.keysPerRound - examined);
    examined += count;
    const page = await store.scanTickets(cursor, count);
    const restored = await store.restore(page.ticketIds, { createdBefore });
    const lost = restored.filter((t) => t.reindexed && !isTerminal(t.state));
    const outcomes = await Promise.all(lost.map((t) => deps.reconcile(t.ticketId)));
    report.tickets += restored.length;
    report.reindexed += restored.filter((t) => t.reindexed).length;
    report.expiring += restored.filter((t) => t.expiryRestored).length;
    report.readded += outcomes.filter((o) => o === 'readded').length;
    cursor = page.cursor;
    await redis.set(cursorKey, cursor);
    if (cursor === '0') {
      report.passComplete = true;
      break;
    }
  }
  const repaired = report.reindexed + report.readded + report.expiring > 0;
  (repaired ? logger.warn.bind(logger) : logger.debug.bind(logger))(
    { ...report },
    'scanned the tickets for ones missing from the indexes',
  );
  return report;
}
