/**
 * What the parts of `RedisTicketStore` work with (one connection, its scripts, the key names, the
 * cipher), and the index update every write ends with.
 */
import type { RedisClient } from './connection.js';
import type { Logger } from '../../logger.js';
import type { FieldCipher } from './crypto.js';
import type { StoreScripts } from './scripts.js';
import type { ticketStoreKeys } from './ticket-index.js';
import type { RepairContext } from './ticket-repair.js';

/** The key names of one prefix. */
export type TicketStoreKeys = ReturnType<typeof ticketStoreKeys>;

/** A pipeline of the store's connection. */
export type Pipeline = ReturnType<RedisClient['pipeline']>;

/** One store's connection and settings, shared by its parts. */
export interface StoreContext {
  redis: RedisClient;
  /** Key prefix (`REDIS_PREFIX`). */
  prefix: string;
  keys: TicketStoreKeys;
  scripts: StoreScripts;
  cipher: FieldCipher;
  /** How long a finished ticket is kept, in seconds. */
  retentionSeconds: number;
  /** ms since the epoch. */
  clock: () => number;
  /** Told when an index update fails after a ticket changed (the change itself stands). */
  logger: Pick<Logger, 'warn'> | undefined;
}

/** The context of the repairs, at the time of the call. */
export function repairContextOf(ctx: StoreContext): RepairContext {
  return {
    redis: ctx.redis,
    prefix: ctx.prefix,
    keys: ctx.keys,
    scripts: ctx.scripts,
    retentionSeconds: ctx.retentionSeconds,
    now: ctx.clock(),
  };
}

/** Runs an index update; answers its first error, or undefined when every command succeeded. */
export async function indexUpdateError(pipeline: Pipeline): Promise<Error | undefined> {
  try {
    const results = (await pipeline.exec()) ?? [];
    return results.find(([err]) => err !== null)?.[0] ?? undefined;
  } catch (err) {
    return err instanceof Error ? err : new Error(String(err));
  }
}

/**
 * Runs the index update that follows a ticket's change; a failure is logged, not thrown: the
 * change stands, and the reconciler heals the indexes.
 */
export async function execIndexUpdate(
  ctx: StoreContext,
  pipeline: Pipeline,
  ticketId: string,
): Promise<void> {
  const error = await indexUpdateError(pipeline);
  if (error) {
    ctx.logger?.warn(
      { ticketId, err: error },
      'ticket index update failed; the reconciler heals it',
    );
  }
}
