/**
 * Benchmark 2, latency-bound efficiency: every Cloudauth call answered after 100 ms (emulator
 * faults `{"*":{"latencyMs":100}}`), our worker at concurrency 200: achieved tickets/s over the
 * ideal, concurrency ÷ (Cloudauth calls per ticket × 100 ms), the calls counted by the emulator.
 * The OSS upload is not in the sum: the OSS emulator has no latency injection, so it costs what a
 * loopback PUT costs. For context, plain BullMQ at the same concurrency with a processor that
 * sleeps 100 ms × the same number of calls, run interleaved with ours (A B B A …), each round in a
 * fresh process; the window is the first job's start to the last one's finish, as in benchmark 1.
 * Rounds are a whole number of waves (tickets a multiple of the concurrency), so the ideal
 * and that of a perfect worker running waves agree.
 */
import { Redis } from 'ioredis';
import { emulatorAdmin, failedCalls, okCalls } from './lib/bench-emulator.js';
import { BenchTickets } from './lib/bench-tickets.js';
import { newRoundContext, runLoggedRound, type RoundResult } from './lib/drain-round.js';
import { interleave, medianOf, ratioOf } from './lib/interleave.js';
import { totalCalls } from './lib/redis-stats.js';
import {
  BARE_PREFIX,
  BARE_QUEUE,
  BARE_QUEUE_NAME,
  OUR_QUEUE,
  addBulk,
  newSecrets,
  ourWorkerEnv,
  produceOurs,
  startBareWorker,
  startOurWorkers,
} from './lib/sides.js';
import type { Benchmark, BenchRow } from './types.js';

const CONCURRENCY = 200;
const LATENCY_MS = 100;
const GOAL = 0.9;

export const benchLatency: Benchmark = async (options) => {
  const sizes = options.quick
    ? { rounds: 1, tickets: 3 * CONCURRENCY }
    : { rounds: 3, tickets: 10 * CONCURRENCY };
  const redis = new Redis(options.redisUrl, { maxRetriesPerRequest: 3 });
  const emulator = emulatorAdmin(options.emulatorUrl);
  try {
    const ctx = newRoundContext(redis, options);
    await emulator.setFaults({ '*': { latencyMs: LATENCY_MS } });
    const tickets = await BenchTickets.create();
    const secrets = newSecrets();
    const env = ourWorkerEnv(options, secrets, { WORKER_CONCURRENCY: String(CONCURRENCY) });
    let callsPerTicket = 3;
    const results = await interleave(sizes.rounds, {
      ours: async (round) => {
        const requests = tickets.requests(`lat-o${round}`, sizes.tickets, round + 11);
        const r = await runLoggedRound(
          ctx,
          {
            name: `ours #${round + 1}`,
            count: requests.length,
            keys: OUR_QUEUE,
            produce: () => produceOurs(redis, secrets, requests),
            startWorkers: () => startOurWorkers(options, env, 1, `latency-ours-${round}`),
            timeoutMs: 600_000,
          },
          'tickets/s',
        );
        callsPerTicket = cloudauthCallsPerTicket(r);
        return r;
      },
      baseline: (round) =>
        runLoggedRound(
          ctx,
          {
            name: `BullMQ sleep ${sleepMsOf(callsPerTicket)} ms #${round + 1}`,
            count: sizes.tickets,
            keys: BARE_QUEUE,
            produce: () =>
              addBulk(
                redis,
                BARE_PREFIX,
                BARE_QUEUE_NAME,
                Array.from({ length: sizes.tickets }, (_, i) => ({ i })),
              ),
            startWorkers: () => [
              startBareWorker(options, `latency-bare-${round}`, {
                mode: 'sleep',
                concurrency: CONCURRENCY,
                sleepMs: sleepMsOf(callsPerTicket),
              }),
            ],
            timeoutMs: 600_000,
          },
          'jobs/s',
        ),
    });
    await emulator.setFaults({});
    return [oursRow(results.ours, sizes.tickets), bullmqRow(results.baseline, callsPerTicket)];
  } finally {
    redis.disconnect();
  }
};

function cloudauthCallsPerTicket(r: RoundResult): number {
  return totalCalls(okCalls(r.calls)) / r.completed;
}

function sleepMsOf(callsPerTicket: number): number {
  return Math.round(callsPerTicket) * LATENCY_MS;
}

function idealOf(callsPerTicket: number): number {
  return CONCURRENCY / ((callsPerTicket * LATENCY_MS) / 1000);
}

function oursRow(rounds: RoundResult[], tickets: number): BenchRow {
  const calls = medianOf(rounds, cloudauthCallsPerTicket);
  const ideal = idealOf(calls);
  const achieved = medianOf(rounds, (r) => r.perSecond);
  const ratio = ratioOf(achieved, ideal);
  return {
    id: 'latency.efficiency',
    label: `tickets/s at ${LATENCY_MS} ms per Cloudauth call, concurrency ${CONCURRENCY}, vs ideal`,
    value: Math.round(achieved),
    baseline: Math.round(ideal),
    unit: 'tickets/s',
    ratio,
    goal: `ratio >= ${GOAL}`,
    met: ratio !== null && ratio >= GOAL,
    detail: {
      rounds: rounds.map((r) => ({
        round: r.name,
        ticketsPerSecond: Math.round(r.perSecond),
        efficiency: ratioOf(r.perSecond, idealOf(cloudauthCallsPerTicket(r))),
        windowSeconds: Math.round(r.window.seconds * 100) / 100,
        workerCpuMsPerTicket: Math.round(r.workerCpuMsPerJob * 100) / 100,
        cpuBoundCeiling: Math.round(1000 / r.workerCpuMsPerJob),
        emulatorCpuMsPerTicket: Math.round(r.emulatorCpuMsPerJob * 100) / 100,
        cloudauthCalls: okCalls(r.calls),
        ...(Object.keys(failedCalls(r.calls)).length > 0
          ? { failedCalls: failedCalls(r.calls) }
          : {}),
      })),
      ticketsPerRound: tickets,
      medianCpuBoundCeiling: Math.round(medianOf(rounds, (r) => 1000 / r.workerCpuMsPerJob)),
      cloudauthCallsPerTicket: calls,
      ideal: `${CONCURRENCY} / (${calls} calls × ${LATENCY_MS} ms)`,
      oss: 'one PutObject per ticket, not in the ideal: the OSS emulator has no latency injection',
      cpuBoundCeiling:
        'tickets/s one worker process could reach if CPU were its only limit: 1000 / its CPU ms per ticket',
    },
  };
}

function bullmqRow(rounds: RoundResult[], callsPerTicket: number): BenchRow {
  const sleepMs = sleepMsOf(callsPerTicket);
  const ideal = CONCURRENCY / (sleepMs / 1000);
  const achieved = medianOf(rounds, (r) => r.perSecond);
  return {
    id: 'latency.bullmq',
    label: `plain BullMQ, ${sleepMs} ms sleep per job, concurrency ${CONCURRENCY}, vs ideal`,
    value: Math.round(achieved),
    baseline: Math.round(ideal),
    unit: 'jobs/s',
    ratio: ratioOf(achieved, ideal),
    goal: 'context (issue: 0.85)',
    met: null,
    detail: {
      rounds: rounds.map((r) => ({
        round: r.name,
        jobsPerSecond: Math.round(r.perSecond),
        windowSeconds: Math.round(r.window.seconds * 100) / 100,
      })),
    },
  };
}
