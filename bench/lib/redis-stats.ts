/**
 * What Redis says about a phase: commands by name from `INFO commandstats` (commands run inside
 * Lua scripts are counted there by their own names, besides the EVALSHA that ran them) and
 * `used_memory` from `INFO memory`. The run's Redis is private, so `CONFIG RESETSTAT` starts each
 * phase at zero.
 *
 * On a Cluster the counts are summed over its primaries (`primariesOf`), each asked on its own
 * connection: a keyless command sent through the Cluster client would reach one node chosen at
 * random. Replicas are not asked: they run every write again from the replication stream, which
 * the system under test sent once.
 */
import type { Redis } from 'ioredis';
import { primariesOf, type RedisClient } from '../../src/adapters/redis/connection.js';

/** Calls by command name (lowercase, `config|resetstat` style for subcommands). */
export type CommandCounts = Record<string, number>;

/** Parses the `cmdstat_<name>:calls=N,...` lines of `INFO commandstats`. */
export function parseCommandStats(info: string): CommandCounts {
  const out: CommandCounts = {};
  for (const line of info.split(/\r?\n/)) {
    const m = /^cmdstat_([^:]+):calls=(\d+)/.exec(line);
    if (m?.[1] !== undefined && m[2] !== undefined) out[m[1]] = Number(m[2]);
  }
  return out;
}

/** One numeric `field:value` line of an INFO section; NaN when absent. */
export function infoNumber(info: string, field: string): number {
  const m = new RegExp(`^${field}:(\\S+)`, 'm').exec(info);
  return m?.[1] === undefined ? Number.NaN : Number(m[1]);
}

/**
 * `counts` less the commands the benchmark itself sent (its INFO, RESETSTAT and progress polls),
 * so that what is left is what the system under test sent.
 */
export function withoutOwn(counts: CommandCounts, own: CommandCounts): CommandCounts {
  const out: CommandCounts = {};
  for (const [name, calls] of Object.entries(counts)) {
    const left = calls - (own[name] ?? 0);
    if (left > 0) out[name] = left;
  }
  return out;
}

/** Several nodes' counts added up by command. */
export function sumCounts(counts: readonly CommandCounts[]): CommandCounts {
  const out: CommandCounts = {};
  for (const one of counts) {
    for (const [name, calls] of Object.entries(one)) out[name] = (out[name] ?? 0) + calls;
  }
  return out;
}

/**
 * The commands a replica sends its primary (`REPLCONF ACK`: once a second, and in answer to the
 * `REPLCONF GETACK` a primary sends while a client waits in `WAIT`). They land in the primary's
 * commandstats, but no client of the system under test sent them.
 */
export const REPLICATION_COMMANDS: readonly string[] = ['replconf', 'psync', 'sync'];

/** `counts` split into the clients' commands and the replicas' ({@link REPLICATION_COMMANDS}). */
export function splitReplication(counts: CommandCounts): {
  clients: CommandCounts;
  replication: CommandCounts;
} {
  const clients: CommandCounts = {};
  const replication: CommandCounts = {};
  for (const [name, calls] of Object.entries(counts)) {
    if (REPLICATION_COMMANDS.includes(name)) replication[name] = calls;
    else clients[name] = calls;
  }
  return { clients, replication };
}

/**
 * Per unit, what `a` (over `aPer` units) calls more than `b` (over `bPer`), by command, rounded to
 * 0.1; commands whose difference rounds to 0 are left out. Largest difference first, either sign.
 */
export function perUnitDifference(
  a: CommandCounts,
  aPer: number,
  b: CommandCounts,
  bPer: number,
): Record<string, number> {
  const names = new Set([...Object.keys(a), ...Object.keys(b)]);
  return Object.fromEntries(
    [...names]
      .map((name): [string, number] => [
        name,
        Math.round(((a[name] ?? 0) / aPer - (b[name] ?? 0) / bPer) * 10) / 10,
      ])
      .filter(([, d]) => d !== 0)
      .sort(([, x], [, y]) => Math.abs(y) - Math.abs(x)),
  );
}

export function totalCalls(counts: CommandCounts): number {
  return Object.values(counts).reduce((a, b) => a + b, 0);
}

/** The `n` most called commands, as `{name: calls per unit}`, rounded to 0.1. */
export function topCommands(counts: CommandCounts, per: number, n = 12): Record<string, number> {
  return Object.fromEntries(
    Object.entries(counts)
      .sort(([, a], [, b]) => b - a)
      .slice(0, n)
      .map(([name, calls]) => [name, Math.round((calls / per) * 10) / 10]),
  );
}

/**
 * A phase's command counter on the private Redis (every primary of a Cluster): `reset()` zeroes
 * the servers' statistics, `read()` answers what others sent since, summed over the primaries,
 * less this counter's own INFOs and RESETSTATs and the polls recorded with
 * {@link CommandMeter.own}.
 */
export class CommandMeter {
  private ownCalls: CommandCounts = {};
  private lastByPrimary: CommandCounts[] = [];

  /** `redis` must be ready (a Cluster client knows its primaries only once it is). */
  constructor(private readonly redis: RedisClient) {}

  async reset(): Promise<void> {
    const primaries = primariesOf(this.redis);
    await Promise.all(primaries.map((node) => node.config('RESETSTAT')));
    this.ownCalls = { 'config|resetstat': primaries.length };
  }

  /** Records commands this process sent on purpose during the phase (progress polls). */
  own(command: string, calls = 1): void {
    this.ownCalls[command] = (this.ownCalls[command] ?? 0) + calls;
  }

  /** Commands since the reset (an INFO is counted after it answers: the next read removes it). */
  async read(): Promise<CommandCounts> {
    const primaries = primariesOf(this.redis);
    const infos = await Promise.all(primaries.map((node) => node.info('commandstats')));
    this.lastByPrimary = infos.map(parseCommandStats);
    const counts = withoutOwn(sumCounts(this.lastByPrimary), this.ownCalls);
    this.own('info', primaries.length);
    return counts;
  }

  /**
   * Each primary's total calls at the last {@link read}, in the order of `primariesOf` (the
   * benchmark's own commands included: they are not known per node).
   */
  lastTotalsByPrimary(): number[] {
    return this.lastByPrimary.map(totalCalls);
  }
}

/** `used_memory` of INFO memory, in bytes. */
export async function usedMemory(redis: Redis): Promise<number> {
  return infoNumber(await redis.info('memory'), 'used_memory');
}
