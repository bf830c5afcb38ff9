/**
 * Key names, and paging over the index sorted sets (newest first, ties broken by member bytes as
 * Redis orders them) with opaque cursors.
 */
import type { RedisClient } from './connection.js';
import type { TicketState } from '../../domain/ticket.js';
import { ValidationError } from '../../errors.js';

/** The Redis key names for `prefix`. */
export function ticketStoreKeys(prefix: string) {
  return {
    ticket: (ticketId: string) => `${prefix}:t:{${ticketId}}`,
    history: (ticketId: string) => `${prefix}:t:{${ticketId}}:h`,
    /** Set when the ticket's job should run now (a start page, a provider callback): see `wake`. */
    wake: (ticketId: string) => `${prefix}:t:{${ticketId}}:wake`,
    state: (state: TicketState) => `${prefix}:idx:state:${state}`,
    batch: (batchId: string) => `${prefix}:idx:batch:${batchId}`,
    all: `${prefix}:idx:all`,
    batches: `${prefix}:idx:batches`,
    /** Sorted set of ticket ids by when their personal data is due for erasure (ms). */
    eraseDue: `${prefix}:erase:due`,
    /** Sorted set of ticket ids by when intake last staged materials for them (ms). */
    stagingIntake: `${prefix}:staging:intake`,
  };
}

/** A member of an index sorted set with its score. */
export interface IndexEntry {
  member: string;
  score: number;
}

/** Up to `count` entries of `key` after `position`, newest first (ties: member descending). */
export async function entriesAfter(
  redis: RedisClient,
  key: string,
  position: IndexEntry | undefined,
  count: number,
): Promise<IndexEntry[]> {
  const out: IndexEntry[] = [];
  const top = position === undefined ? '+inf' : position.score;
  for (let offset = 0; out.length < count;) {
    const raw = await redis.zrange(
      key,
      top,
      '-inf',
      'BYSCORE',
      'REV',
      'LIMIT',
      offset,
      count,
      'WITHSCORES',
    );
    for (let i = 0; i + 1 < raw.length && out.length < count; i += 2) {
      const entry = { member: raw[i] as string, score: Number(raw[i + 1]) };
      if (position === undefined || isAfter(entry, position)) out.push(entry);
    }
    offset += raw.length / 2;
    if (raw.length / 2 < count) break;
  }
  return out;
}

/** True when `entry` comes after `position` in newest-first order (Redis orders ties by bytes). */
function isAfter(entry: IndexEntry, position: IndexEntry): boolean {
  if (entry.score !== position.score) return entry.score < position.score;
  return Buffer.compare(Buffer.from(entry.member), Buffer.from(position.member)) < 0;
}

/** The opaque cursor of a listing position. */
export function encodeCursor(position: IndexEntry): string {
  return Buffer.from(JSON.stringify([position.score, position.member])).toString('base64url');
}

/** The position of a cursor made by {@link encodeCursor}; else {@link ValidationError}. */
export function decodeCursor(cursor: string): IndexEntry {
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (
      Array.isArray(value) &&
      value.length === 2 &&
      typeof value[0] === 'number' &&
      Number.isFinite(value[0]) &&
      typeof value[1] === 'string'
    ) {
      return { score: value[0], member: value[1] };
    }
  } catch {
    // not JSON: refused below
  }
  throw new ValidationError('cursor', 'is not a cursor from this listing');
}
