/**
 * Benchmark 1, orchestration overhead: server-flow tickets per second through our worker against a
 * bare BullMQ worker making the same HTTP calls (pop-core and ali-oss, the same image bytes) to the
 * same emulators with no state store; the emulators at zero latency and no QPS ceiling, ours with
 * CLOUDAUTH_QPS `*=0`, both at concurrency 50 on the same private Redis. From the same rounds, the
 * worker process's CPU time per finished ticket against the bare worker's, and Redis commands per
 * finished ticket, intake included.
 *
 * Each round runs its side in a fresh worker process, interleaved A B B A …: throughput swings
 * up to 2x between fresh processes here, so each round samples that swing on both sides alike and
 * the medians discount it; the workers run as in production (a process of their own), and the bench process's
 * intake and polling stay off the measured event loop. The queue is filled before the workers
 * start; a round's rate is its tickets over the window from the first job's start to the last
 * one's finish (the workers' own timestamps), so intake and start-up are outside it.
 */
import { BenchTickets } from './lib/bench-tickets.js';
import { failedCalls, okCalls } from './lib/bench-emulator.js';
import { interleave, medianOf, ratioOf } from './lib/interleave.js';
import { newRoundContext, runLoggedRound, type RoundResult } from './lib/drain-round.js';
import { topCommands, totalCalls } from './lib/redis-stats.js';
import {
  BARE_PREFIX,
  BARE_QUEUE,
  BARE_QUEUE_NAME,
  OUR_QUEUE,
  addBulk,
  bareJobOf,
  newSecrets,
  ourWorkerEnv,
  produceOurs,
  startBareWorker,
  startOurWorkers,
} from './lib/sides.js';
import { Redis } from 'ioredis';
import type { Benchmark, BenchRow } from './types.js';

const CONCURRENCY = 50;
/** Issue 14's goals: throughput ours/bare, worker CPU per ticket ours/bare, Redis commands. */
const THROUGHPUT_GOAL = 0.7;
const CPU_GOAL = 1.5;
const COMMANDS_GOAL = 50;

export const benchOrchestration: Benchmark = async (options) => {
  const sizes = options.quick ? { rounds: 1, tickets: 250 } : { rounds: 4, tickets: 1500 };
  const redis = new Redis(options.redisUrl, { maxRetriesPerRequest: 3 });
  try {
    const ctx = newRoundContext(redis, options);
    await ctx.emulator.setFaults({});
    const tickets = await BenchTickets.create();
    const secrets = newSecrets();
    const env = ourWorkerEnv(options, secrets, { WORKER_CONCURRENCY: String(CONCURRENCY) });
    const results = await interleave(sizes.rounds, {
      ours: (round) => {
        const requests = tickets.requests(`ov-o${round}`, sizes.tickets, round + 1);
        return runLoggedRound(
          ctx,
          {
            name: `ours #${round + 1}`,
            count: requests.length,
            keys: OUR_QUEUE,
            produce: () => produceOurs(redis, secrets, requests),
            startWorkers: () => startOurWorkers(options, env, 1, `overhead-ours-${round}`),
            timeoutMs: 600_000,
          },
          'tickets/s',
        );
      },
      baseline: (round) => {
        const requests = tickets.requests(`ov-b${round}`, sizes.tickets, round + 1);
        return runLoggedRound(
          ctx,
          {
            name: `bare BullMQ #${round + 1}`,
            count: requests.length,
            keys: BARE_QUEUE,
            produce: () => addBulk(redis, BARE_PREFIX, BARE_QUEUE_NAME, requests.map(bareJobOf)),
            startWorkers: () => [
              startBareWorker(options, `overhead-bare-${round}`, {
                mode: 'calls',
                concurrency: CONCURRENCY,
              }),
            ],
            timeoutMs: 600_000,
          },
          'tickets/s',
        );
      },
    });
    return [throughputRow(results, sizes), cpuRow(results), commandsRow(results)];
  } finally {
    redis.disconnect();
  }
};

function roundDetail(r: RoundResult) {
  return {
    round: r.name,
    ticketsPerSecond: Math.round(r.perSecond),
    tickets: r.completed,
    windowSeconds: round2(r.window.seconds),
    intakeSeconds: round2(r.intakeSeconds),
    workerCpuMsPerTicket: round2(r.workerCpuMsPerJob),
    emulatorCpuMsPerTicket: round2(r.emulatorCpuMsPerJob),
    cloudauthCallsPerTicket: perTicket(okCalls(r.calls), r.completed),
    ...(Object.keys(failedCalls(r.calls)).length > 0 ? { failedCalls: failedCalls(r.calls) } : {}),
  };
}

function throughputRow(
  results: { ours: RoundResult[]; baseline: RoundResult[] },
  sizes: { rounds: number; tickets: number },
): BenchRow {
  const ours = medianOf(results.ours, (r) => r.perSecond);
  const baseline = medianOf(results.baseline, (r) => r.perSecond);
  const ratio = ratioOf(ours, baseline);
  return {
    id: 'overhead.throughput',
    label: 'server-flow tickets/s vs bare BullMQ + same HTTP calls (0 ms emulator)',
    value: Math.round(ours),
    baseline: Math.round(baseline),
    unit: 'tickets/s',
    ratio,
    goal: `ratio >= ${THROUGHPUT_GOAL}`,
    met: ratio !== null && ratio >= THROUGHPUT_GOAL,
    detail: {
      rounds: [...results.ours, ...results.baseline].map(roundDetail),
      ticketsPerRound: sizes.tickets,
      concurrency: CONCURRENCY,
      workerProcesses: 1,
      window: "first job's processedOn to last job's finishedOn; queue filled before workers start",
      calls:
        'per ticket: GetVerifyToken, PutObject (OSS, 1 image), SubmitMaterials (verdict at once, so no GetStatus)',
    },
  };
}

function cpuRow(results: { ours: RoundResult[]; baseline: RoundResult[] }): BenchRow {
  const ours = medianOf(results.ours, (r) => r.workerCpuMsPerJob);
  const bare = medianOf(results.baseline, (r) => r.workerCpuMsPerJob);
  const ratio = ratioOf(ours, bare);
  return {
    id: 'overhead.cpu',
    label: 'worker CPU ms per finished server ticket vs bare BullMQ + same HTTP calls',
    value: round2(ours),
    baseline: round2(bare),
    unit: 'ms',
    ratio,
    goal: `ratio <= ${CPU_GOAL}`,
    met: ratio !== null && ratio <= CPU_GOAL,
    detail: {
      ours: results.ours.map((r) => round2(r.workerCpuMsPerJob)),
      bare: results.baseline.map((r) => round2(r.workerCpuMsPerJob)),
      measured:
        "median over the rounds of the worker process's CPU time (user + system, /proc) per ticket, from the first poll that saw a ticket completed to the round's end (start-up left out); the same rounds as overhead.throughput, and steadier than it on a shared machine",
    },
  };
}

function commandsRow(results: { ours: RoundResult[]; baseline: RoundResult[] }): BenchRow {
  const perTicketOf = (r: RoundResult) =>
    (totalCalls(r.intakeCommands) + totalCalls(r.processCommands)) / r.completed;
  const value = medianOf(results.ours, perTicketOf);
  const bare = medianOf(results.baseline, perTicketOf);
  const last = results.ours.at(-1);
  return {
    id: 'overhead.redis-commands',
    label: 'Redis commands per finished server ticket, intake included (Lua inner calls count)',
    value: round1(value),
    baseline: null,
    unit: 'commands',
    ratio: round1(value),
    goal: `<= ${COMMANDS_GOAL}`,
    met: value <= COMMANDS_GOAL,
    detail: {
      perRound: results.ours.map((r) => round1(perTicketOf(r))),
      intakePerTicket: last ? round1(totalCalls(last.intakeCommands) / last.completed) : null,
      processingPerTicket: last ? round1(totalCalls(last.processCommands) / last.completed) : null,
      topIntake: last ? topCommands(last.intakeCommands, last.completed) : null,
      topProcessing: last ? topCommands(last.processCommands, last.completed) : null,
      bareBullmqPerJob: round1(bare),
      bareTopProcessing: results.baseline.at(-1)
        ? topCommands(results.baseline.at(-1)!.processCommands, results.baseline.at(-1)!.completed)
        : null,
      counted:
        "INFO commandstats on the private Redis, reset before the intake and before the workers start; the bench process's own INFO and progress ZCARDs removed",
    },
  };
}

function perTicket(counts: Record<string, number>, n: number): Record<string, number> {
  return Object.fromEntries(Object.entries(counts).map(([k, v]) => [k, round2(v / n)]));
}

const round1 = (n: number) => Math.round(n * 10) / 10;
const round2 = (n: number) => Math.round(n * 100) / 100;
