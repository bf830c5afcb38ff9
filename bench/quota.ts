/**
 * Benchmark 3, quota fidelity: the Cloudauth emulator refuses more than 50 calls per action in any
 * one-second sliding window (`{"*":{"qps":50}}`, answering `Throttling`); our workers, out of
 * process, run with CLOUDAUTH_QPS `*=50` and the default 3% headroom. A batch drains in the window
 * from the first job's start to the last one's finish; the quota-ideal time is the busiest
 * action's calls ÷ 50 s. The emulator reports, per action, the most calls it admitted in any
 * one-second window (`GET /__admin/peaks`) and every Throttling answer.
 *
 * Then the financial-grade actions (API 2019-03-07), each at its own QPS: quota-financial.ts.
 */
import { Redis } from 'ioredis';
import { emulatorAdmin } from './lib/bench-emulator.js';
import { BenchTickets } from './lib/bench-tickets.js';
import { newRoundContext, runRound, type RoundResult } from './lib/drain-round.js';
import { ratioOf } from './lib/interleave.js';
import { OUR_QUEUE, newSecrets, ourWorkerEnv, produceOurs, startOurWorkers } from './lib/sides.js';
import { answeredByAction, benchQuotaFinancial, throttledByAction } from './quota-financial.js';
import type { Benchmark, BenchRow } from './types.js';

const QPS = 50;
const WORKERS = 2;
const CONCURRENCY = 50;
const GOAL = 1.05;

export const benchQuota: Benchmark = async (options) => {
  const count = options.quick ? 300 : 5000;
  const redis = new Redis(options.redisUrl, { maxRetriesPerRequest: 3 });
  const emulator = emulatorAdmin(options.emulatorUrl);
  try {
    await emulator.setFaults({ '*': { qps: QPS } });
    const tickets = await BenchTickets.create();
    const secrets = newSecrets();
    const env = ourWorkerEnv(options, secrets, {
      CLOUDAUTH_QPS: `*=${QPS}`,
      WORKER_CONCURRENCY: String(CONCURRENCY),
    });
    const requests = tickets.requests('quota', count, 21);
    const ctx = newRoundContext(redis, options);
    options.log(`  ${count} tickets, ideal about ${Math.round(count / QPS)} s`);
    const r = await runRound(ctx, {
      name: 'quota',
      count,
      keys: OUR_QUEUE,
      produce: () => produceOurs(redis, secrets, requests),
      startWorkers: () => startOurWorkers(options, env, WORKERS, 'quota'),
      timeoutMs: 30 * 60_000,
    });
    const peaks = await emulator.peaks();
    await emulator.setFaults({});
    options.log(
      `  drained ${r.completed} (${r.failed} failed) in ${r.window.seconds.toFixed(1)} s`,
    );
    const financial = await benchQuotaFinancial(options, redis, {
      count,
      workers: WORKERS,
      concurrency: CONCURRENCY,
      fallbackQps: QPS,
    });
    return [drainRow(r), windowRow(r, peaks), ...financial];
  } finally {
    redis.disconnect();
  }
};

function drainRow(r: RoundResult): BenchRow {
  const calls = answeredByAction(r.calls);
  const busiest = Math.max(0, ...Object.values(calls));
  const ideal = busiest / QPS;
  const ratio = ratioOf(r.window.seconds, ideal);
  return {
    id: 'quota.drain',
    label: `${r.count}-ticket batch drain time at ${QPS} calls/s per action vs quota-ideal (one run)`,
    value: Math.round(r.window.seconds * 10) / 10,
    baseline: Math.round(ideal * 10) / 10,
    unit: 's',
    ratio,
    goal: `ratio <= ${GOAL}`,
    met: ratio !== null && ratio <= GOAL && r.failed === 0,
    detail: {
      tickets: r.count,
      completed: r.completed,
      failed: r.failed,
      callsByAction: calls,
      ideal: `busiest action's answered calls / ${QPS} per second`,
      workers: `${WORKERS} processes (workers/ticket.worker.ts) x concurrency ${CONCURRENCY}`,
      limiter: `CLOUDAUTH_QPS *=${QPS}, CLOUDAUTH_QPS_HEADROOM 0.03 (default): slots ${((1000 / QPS) * 1.03).toFixed(1)} ms apart, so at best ${(1.03).toFixed(2)} x ideal`,
    },
  };
}

function windowRow(r: RoundResult, peaks: Record<string, number>): BenchRow {
  const peak = Math.max(0, ...Object.values(peaks));
  const throttled = throttledByAction(r.calls);
  const throttles = Object.values(throttled).reduce((a, b) => a + b, 0);
  return {
    id: 'quota.window',
    label:
      'most calls the emulator admitted in any 1-s window (any action); Throttling answers (one run)',
    value: peak,
    baseline: QPS,
    unit: 'calls/s',
    ratio: ratioOf(peak, QPS),
    goal: `<= ${QPS}, 0 Throttling`,
    met: peak <= QPS && throttles === 0,
    detail: {
      peaksByAction: peaks,
      throttlingAnswers: throttles,
      throttledByAction: throttled,
      note: 'the emulator refuses the call that would make qps + 1 in a sliding second, so the admitted peak cannot pass the ceiling: each Throttling answer is a call our limiter let through too close to others',
    },
  };
}
