/**
 * One measured round of a throughput benchmark, the same for every side: a clean Redis and fresh
 * emulator counters, the intake (its commands counted apart), then fresh worker processes drain the
 * queue; the round's rate is the jobs over the window from the first job's start to the last one's
 * finish, so neither the intake nor the workers' start-up is in it.
 */
import type { RedisClient } from '../../src/adapters/redis/connection.js';
import type { ManagedProcess } from '../../testkit/processes.js';
import type { BenchOptions } from '../types.js';
import { emulatorAdmin, type EmulatorAdmin, type EmulatorCounters } from './bench-emulator.js';
import {
  completedWindow,
  waitForFinished,
  type JobWindow,
  type QueueKeys,
} from './queue-progress.js';
import { flushAll } from './bench-topology.js';
import { readProcCpuMs } from './proc-status.js';
import { CommandMeter, type CommandCounts } from './redis-stats.js';

/** What a round runs against. */
export interface RoundContext {
  /** A ready connection to a private Redis (one node, or a Cluster the benchmark started). */
  redis: RedisClient;
  meter: CommandMeter;
  emulator: EmulatorAdmin;
  /** The emulator process, for its CPU time per job. */
  emulatorPid: number | undefined;
  /**
   * Other processes (by a name of the caller's: `redis primaries`, …) whose CPU time per job to
   * measure over the same span as the workers'; none unless given.
   */
  watchedPids?: Readonly<Record<string, readonly number[]>>;
  log: (line: string) => void;
}

/** What a round does. */
export interface RoundPlan {
  name: string;
  /** Jobs the intake makes. */
  count: number;
  keys: QueueKeys;
  produce: () => Promise<void>;
  startWorkers: () => ManagedProcess[];
  timeoutMs: number;
}

/** What a round measured. */
export interface RoundResult {
  name: string;
  count: number;
  completed: number;
  failed: number;
  intakeSeconds: number;
  window: JobWindow;
  /** Completed jobs per second of the window. */
  perSecond: number;
  intakeCommands: CommandCounts;
  /** From the workers' start until the last job finished. */
  processCommands: CommandCounts;
  /** Cloudauth emulator calls by action and outcome during the round. */
  calls: EmulatorCounters;
  /**
   * CPU time (user + system) of the worker processes per job, in ms: from the first poll that saw
   * a job completed to the end (start-up excluded), over the jobs completed in between.
   */
  workerCpuMsPerJob: number;
  /** The emulator process's CPU time per job over the same span, in ms (NaN when unknown). */
  emulatorCpuMsPerJob: number;
  /** The CPU time per job of each of the context's `watchedPids` groups, over the same span. */
  watchedCpuMsPerJob: Record<string, number>;
}

export function newRoundContext(redis: RedisClient, options: BenchOptions): RoundContext {
  return {
    redis,
    meter: new CommandMeter(redis),
    emulator: emulatorAdmin(options.emulatorUrl),
    emulatorPid: options.emulatorPid,
    log: options.log,
  };
}

export async function runRound(ctx: RoundContext, plan: RoundPlan): Promise<RoundResult> {
  await flushAll(ctx.redis);
  await ctx.emulator.resetCounters();
  await ctx.meter.reset();
  const intakeStarted = performance.now();
  await plan.produce();
  const intakeSeconds = (performance.now() - intakeStarted) / 1000;
  const intakeCommands = await ctx.meter.read();
  await ctx.meter.reset();
  const workers = plan.startWorkers();
  let finished: { completed: number; failed: number };
  let processCommands: CommandCounts;
  let workerCpuMsPerJob: number;
  let emulatorCpuMsPerJob: number;
  const watchedCpuMsPerJob: Record<string, number> = {};
  try {
    const cpu = new CpuMark(pidsOf(workers));
    const emulatorCpu = new CpuMark(ctx.emulatorPid === undefined ? [] : [ctx.emulatorPid]);
    const watched = Object.entries(ctx.watchedPids ?? {}).map(
      ([name, pids]) => [name, new CpuMark(pids)] as const,
    );
    finished = await waitForFinished(ctx.redis, plan.keys, {
      count: plan.count,
      timeoutMs: plan.timeoutMs,
      meter: ctx.meter,
      children: workers,
      log: ctx.log,
      onPoll: async (completed) => {
        await cpu.first(completed);
        await emulatorCpu.first(completed);
        for (const [, mark] of watched) await mark.first(completed);
      },
    });
    processCommands = await ctx.meter.read();
    workerCpuMsPerJob = await cpu.perJobSinceFirst(finished.completed);
    emulatorCpuMsPerJob = await emulatorCpu.perJobSinceFirst(finished.completed);
    for (const [name, mark] of watched) {
      watchedCpuMsPerJob[name] = await mark.perJobSinceFirst(finished.completed);
    }
  } finally {
    await Promise.all(workers.map((w) => w.stop('SIGTERM', 10_000)));
  }
  const window = await completedWindow(ctx.redis, plan.keys);
  const calls = await ctx.emulator.counters();
  return {
    name: plan.name,
    count: plan.count,
    ...finished,
    intakeSeconds,
    window,
    perSecond: finished.completed / window.seconds,
    intakeCommands,
    processCommands,
    calls,
    workerCpuMsPerJob,
    emulatorCpuMsPerJob,
    watchedCpuMsPerJob,
  };
}

function pidsOf(children: readonly ManagedProcess[]): number[] {
  return children.flatMap((c) => (c.pid === undefined ? [] : [c.pid]));
}

/** Processes' CPU time from the first completed job on. */
class CpuMark {
  private mark: { ms: number; completed: number } | undefined;

  constructor(private readonly pids: readonly number[]) {}

  async first(completed: number): Promise<void> {
    if (this.mark === undefined && completed > 0) this.mark = { ms: await this.now(), completed };
  }

  async perJobSinceFirst(completed: number): Promise<number> {
    const mark = this.mark ?? { ms: 0, completed: 0 };
    const jobs = completed - mark.completed;
    return jobs > 0 && this.pids.length > 0 ? ((await this.now()) - mark.ms) / jobs : Number.NaN;
  }

  private async now(): Promise<number> {
    let ms = 0;
    for (const pid of this.pids) ms += await readProcCpuMs(pid);
    return ms;
  }
}

/** Runs a round, logs its rate, and refuses a round where any job failed. */
export async function runLoggedRound(
  ctx: RoundContext,
  plan: RoundPlan,
  unit: string,
): Promise<RoundResult> {
  const r = await runRound(ctx, plan);
  ctx.log(
    `  ${r.name}: ${r.perSecond.toFixed(0)} ${unit} (${r.completed} in ${r.window.seconds.toFixed(2)} s, ${r.failed} failed)`,
  );
  if (r.failed > 0) throw new Error(`${r.name}: ${r.failed} jobs failed`);
  return r;
}
