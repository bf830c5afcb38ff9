/**
 * What Redis says about a phase: commands by name from `INFO commandstats` (commands run inside
 * Lua scripts are counted there by their own names, besides the EVALSHA that ran them) and
 * `used_memory` from `INFO memory`. The run's Redis is private, so `CONFIG RESETSTAT` starts each
 * phase at zero.
 */
import type { Redis } from 'ioredis';

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
 * A phase's command counter on the private Redis: `reset()` zeroes the server's statistics,
 * `read()` answers what others sent since, less this counter's own INFO and RESETSTAT and the
 * polls recorded with {@link CommandMeter.own}.
 */
export class CommandMeter {
  private ownCalls: CommandCounts = {};

  constructor(private readonly redis: Redis) {}

  async reset(): Promise<void> {
    await this.redis.config('RESETSTAT');
    this.ownCalls = { 'config|resetstat': 1 };
  }

  /** Records commands this process sent on purpose during the phase (progress polls). */
  own(command: string, calls = 1): void {
    this.ownCalls[command] = (this.ownCalls[command] ?? 0) + calls;
  }

  /** Commands since the reset (an INFO is counted after it answers: the next read removes it). */
  async read(): Promise<CommandCounts> {
    const counts = withoutOwn(
      parseCommandStats(await this.redis.info('commandstats')),
      this.ownCalls,
    );
    this.own('info');
    return counts;
  }
}

/** `used_memory` of INFO memory, in bytes. */
export async function usedMemory(redis: Redis): Promise<number> {
  return infoNumber(await redis.info('memory'), 'used_memory');
}
