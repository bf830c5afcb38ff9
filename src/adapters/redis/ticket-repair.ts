/**
 * Repairs of the ticket store, whatever its indexes say: a walk over every ticket's hash (SCAN),
 * the restoration of what a found ticket lacks (its index entries; a finished ticket's expiry),
 * and the discarding of tickets whose creating call could not give them a job. Used by
 * {@link RedisTicketStore}; the key layout is described there.
 */
import { isCluster, multiSlotBatch, nodeKey, primariesOf, type RedisClient } from './connection.js';
import { TERMINAL_STATES, TicketState, isTerminal } from '../../domain/ticket.js';
import { scriptsLoaded, storePipeline, type StoreScripts } from './scripts.js';
import { refusingWhenFull } from './store-full.js';
import type { ticketStoreKeys } from './ticket-index.js';
import type { Pipeline } from './ticket-store-context.js';

/** One step of a walk over the tickets' hashes. */
export interface TicketScanPage {
  /** Where the walk goes on from; `'0'` when it has gone through the whole keyspace. */
  cursor: string;
  /** The tickets whose hashes this step found (a ticket may come up in more than one step). */
  ticketIds: string[];
}

/** A ticket the store looked at in a repair, and what it did. */
export interface RestoredTicket {
  ticketId: string;
  state: TicketState;
  /** ms since the epoch. */
  createdAt: number;
  /** Some of its index entries were missing; they were added. */
  reindexed: boolean;
  /** It was finished without an expiry; it got the rest of its retention. */
  expiryRestored: boolean;
}

/** A ticket to discard, as its creating call knows it. */
export interface Creation {
  ticketId: string;
  /** The creating call's token. */
  token: string;
  createdAt: number;
  batchId?: string;
}

/** What the repairs work with. */
export interface RepairContext {
  redis: RedisClient;
  prefix: string;
  keys: ReturnType<typeof ticketStoreKeys>;
  scripts: StoreScripts;
  /** How long a finished ticket is kept, in seconds. */
  retentionSeconds: number;
  /** ms since the epoch. */
  now: number;
}

/** `text` with Redis's glob characters escaped. */
function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
}

/**
 * One SCAN step over the keys `<prefix>:t:{<ticketId>}` of type hash (a ticket's history list,
 * `…}:h`, is neither matched nor of that type), examining about `count` keys.
 */
export async function scanTicketIds(
  redis: RedisClient,
  prefix: string,
  /** `0` to begin; then the cursor of the previous step (opaque). */
  cursor: string,
  count: number,
): Promise<TicketScanPage> {
  const head = `${prefix}:t:{`;
  // A Cluster's keys are spread over its primaries, each with a SCAN of its own: the walk visits
  // them one after the other (sorted by address), its cursor `<primary's address>@<its cursor>`.
  // When that primary is one no longer (a failover), the walk starts over from the first: a
  // cursor is never applied to another node, which would skip keys unnoticed.
  if (isCluster(redis) && primariesOf(redis).length === 0) await redis.ping(); // the slot map
  const primaries = primariesOf(redis);
  const at = cursor.lastIndexOf('@');
  const named = at < 0 ? undefined : cursor.slice(0, at);
  let index = named === undefined ? 0 : primaries.findIndex((p) => nodeKey(p) === named);
  let nodeCursor = at < 0 ? cursor : cursor.slice(at + 1);
  if (index < 0) [index, nodeCursor] = [0, '0'];
  const node = primaries[index];
  if (node === undefined) return { cursor: '0', ticketIds: [] };
  const [scanned, keys] = await node.scan(
    nodeCursor,
    'MATCH',
    `${escapeGlob(head)}*}`,
    'COUNT',
    count,
    'TYPE',
    'hash',
  );
  let next = scanned;
  if (isCluster(redis)) {
    const following = primaries[index + 1];
    if (scanned !== '0') next = `${nodeKey(node)}@${scanned}`;
    else if (following !== undefined) next = `${nodeKey(following)}@0`;
  }
  const ticketIds = keys
    .filter((k) => k.startsWith(head) && k.endsWith('}'))
    .map((k) => k.slice(head.length, -1));
  return { cursor: next, ticketIds };
}

const READ_FIELDS = ['state', 'createdAt', 'updatedAt', 'finishedAt', 'batchId'] as const;

interface Found {
  ticketId: string;
  state: TicketState;
  createdAt: number;
  updatedAt: number;
  finishedAt: number | undefined;
  batchId: string | undefined;
  ttl: number;
}

async function readTickets(ctx: RepairContext, ticketIds: readonly string[]): Promise<Found[]> {
  const read = multiSlotBatch<Pipeline>(ctx.redis);
  for (const id of ticketIds) {
    read.hmget(ctx.keys.ticket(id), ...READ_FIELDS);
    read.ttl(ctx.keys.ticket(id));
  }
  const rows = (await read.exec()) ?? [];
  const found: Found[] = [];
  ticketIds.forEach((ticketId, i) => {
    const [err, values] = rows[2 * i] ?? [null, null];
    const [ttlErr, ttl] = rows[2 * i + 1] ?? [null, -2];
    if (err) throw err;
    if (ttlErr) throw ttlErr;
    const [state, createdAt, updatedAt, finishedAt, batchId] = (values ?? []) as (string | null)[];
    if (!state || !createdAt || !updatedAt) return;
    found.push({
      ticketId,
      state: state as TicketState,
      createdAt: Number(createdAt),
      updatedAt: Number(updatedAt),
      finishedAt: finishedAt ? Number(finishedAt) : undefined,
      batchId: batchId ?? undefined,
      ttl: Number(ttl),
    });
  });
  return found;
}

/**
 * Gives each ticket the index entries it lacks, with the scores it was indexed with (the
 * creation time in `all` and its batch, the last transition's time in its state's index; an
 * entry present is left as it is), and a finished ticket without an expiry the rest of its
 * retention (counted from when it finished; at least a second), and each one's batch a place in
 * the batch registry. Absent tickets, and those created at or after `createdBefore` (ms since the
 * epoch), are left out.
 */
export async function restoreTickets(
  ctx: RepairContext,
  ticketIds: readonly string[],
  createdBefore = Number.POSITIVE_INFINITY,
): Promise<RestoredTicket[]> {
  if (ticketIds.length === 0) return [];
  const found = (await readTickets(ctx, ticketIds)).filter((t) => t.createdAt < createdBefore);
  if (found.length === 0) return [];
  await scriptsLoaded(ctx.redis);
  const write = multiSlotBatch<Pipeline>(ctx.redis);
  const plans = found.map((t) => {
    const start = write.length;
    write.zadd(ctx.keys.all, 'NX', t.createdAt, t.ticketId);
    write.zadd(ctx.keys.state(t.state), 'NX', t.updatedAt, t.ticketId);
    if (t.batchId !== undefined)
      write.zadd(ctx.keys.batch(t.batchId), 'NX', t.createdAt, t.ticketId);
    const zadds = write.length - start;
    const expire = isTerminal(t.state) && t.ttl === -1;
    if (expire) {
      const finished = t.finishedAt ?? t.updatedAt;
      const ttl = Math.max(1, ctx.retentionSeconds - Math.floor((ctx.now - finished) / 1000));
      storePipeline(write).ticketStoreExpireIfFinished(
        ctx.keys.ticket(t.ticketId),
        ctx.keys.history(t.ticketId),
        ttl,
        ...TERMINAL_STATES,
      );
    }
    return { t, start, zadds, expire };
  });
  // a batch indexed before the batch registry existed gets into it, for the index cleanup
  const newest = new Map<string, number>();
  for (const t of found) {
    if (t.batchId !== undefined) {
      newest.set(t.batchId, Math.max(newest.get(t.batchId) ?? 0, t.createdAt));
    }
  }
  for (const [batchId, createdAt] of newest) {
    write.zadd(ctx.keys.batches, 'GT', createdAt, batchId);
  }
  const replies = await refusingWhenFull(async () => {
    const results = (await write.exec()) ?? [];
    const failed = results.find(([err]) => err !== null)?.[0];
    if (failed) throw failed;
    return results;
  });
  return plans.map(({ t, start, zadds, expire }) => {
    const added = replies.slice(start, start + zadds).some(([, n]) => Number(n) > 0);
    const expired = expire && Number(replies[start + zadds]?.[1]) === 1;
    return {
      ticketId: t.ticketId,
      state: t.state,
      createdAt: t.createdAt,
      reindexed: added,
      expiryRestored: expired,
    };
  });
}

/**
 * Deletes each ticket still as its creating call left it (see the DISCARD_CREATED script), and
 * then its index entries (only those with the scores that call wrote). Works when Redis is full.
 * Returns the TicketIds deleted.
 */
export async function discardCreations(
  ctx: RepairContext,
  creations: readonly Creation[],
): Promise<string[]> {
  if (creations.length === 0) return [];
  await scriptsLoaded(ctx.redis);
  const discard = multiSlotBatch<Pipeline>(ctx.redis);
  for (const c of creations) {
    storePipeline(discard).ticketStoreDiscardCreated(
      ctx.keys.ticket(c.ticketId),
      ctx.keys.history(c.ticketId),
      c.token,
    );
  }
  const replies = (await discard.exec()) ?? [];
  const deleted: Creation[] = [];
  creations.forEach((c, i) => {
    const [err, n] = replies[i] ?? [new Error('no reply')];
    if (err) throw err;
    if (Number(n) === 1) deleted.push(c);
  });
  await Promise.all(
    deleted.flatMap((c) => {
      const entries: [string, number][] = [
        [ctx.keys.all, c.createdAt],
        [ctx.keys.state(TicketState.queued), c.createdAt],
      ];
      if (c.batchId !== undefined) entries.push([ctx.keys.batch(c.batchId), c.createdAt]);
      return entries.map(([key, score]) =>
        ctx.scripts.ticketStoreRemoveIfScore(key, c.ticketId, score),
      );
    }),
  );
  return deleted.map((c) => c.ticketId);
}
