/**
 * Benchmark 6, memory.
 *
 * Redis bytes per finished ticket: `used_memory` after every ticket has finished less before the
 * intake, over the tickets, so the ticket's hash, its history, the indexes and the retained
 * completed job (JOB_KEEP_COMPLETED_SECONDS) all count; against a raw BullMQ job whose payload is
 * the same ticket request (its image included), added with `addBulk` and completed by a no-op
 * worker, as many of them, on the same private Redis. Bytes per item are steady, so one run each.
 *
 * Worker RSS: one worker process (`workers/ticket.worker.ts`, concurrency 50) takes every ticket,
 * at zero emulator latency (the fastest honest configuration); its VmRSS is read from /proc at every
 * poll of the queue, and the peak over the tickets just after the early mark (10,000 to 40,000) is
 * compared with the peak over the last ones (70,000 to 100,000). A single reading at each mark, as
 * this benchmark took before, lands anywhere on the sawtooth of V8's heap (see `rss-trace.ts`).
 * Tickets are enqueued while it works, at most a few thousand ahead.
 */
import type { ManagedProcess } from '../testkit/processes.js';
import { Redis } from 'ioredis';
import { BenchTickets } from './lib/bench-tickets.js';
import { emulatorAdmin } from './lib/bench-emulator.js';
import { ratioOf } from './lib/interleave.js';
import { MB, readProcMemory, type ProcMemory } from './lib/proc-status.js';
import { RssTrace, type RssWindow } from './lib/rss-trace.js';
import { waitForFinished, type QueueKeys } from './lib/queue-progress.js';
import { usedMemory } from './lib/redis-stats.js';
import {
  BARE_PREFIX,
  BARE_QUEUE,
  BARE_QUEUE_NAME,
  OUR_QUEUE,
  addBulk,
  enqueueAll,
  newSecrets,
  ourProducer,
  ourWorkerEnv,
  startBareWorker,
  startOurWorkers,
} from './lib/sides.js';
import type { Benchmark, BenchOptions, BenchRow } from './types.js';

const CHUNK = 1000;
const AHEAD = 5000;
const BYTES_GOAL = 4;
const RSS_GOAL = 1.1;
/**
 * Each RSS window's share of the tickets: 30,000 of 100,000 reaches the top of the heap's sawtooth
 * (one tooth every 20,000 to 50,000 tickets; RSS climbs back to near the top soon after each fall).
 */
const RSS_WINDOW_SHARE = 0.3;

interface MemorySizes {
  early: number;
  total: number;
}

interface TicketRange {
  from: number;
  /** Exclusive; the late window's takes the last poll too, which sees every ticket completed. */
  to: number;
}

/** The two windows of completed tickets whose RSS peaks are compared. */
function rssWindows(sizes: MemorySizes): { early: TicketRange; late: TicketRange } {
  const span = Math.round(sizes.total * RSS_WINDOW_SHARE);
  return {
    early: { from: sizes.early, to: sizes.early + span },
    late: { from: sizes.total - span, to: sizes.total + 1 },
  };
}

interface OursRun {
  bytesPerTicket: number;
  /** RSS when the completed count was first seen at or past the early mark, and that count. */
  early: ProcMemory & { completed: number };
  /** RSS at 98% of the tickets (under load, not idle after the drain). */
  late: ProcMemory;
  earlyWindow: RssWindow;
  lateWindow: RssWindow;
  seconds: number;
  failed: number;
}

export const benchMemory: Benchmark = async (options) => {
  const sizes: MemorySizes = options.quick
    ? { early: 500, total: 2500 }
    : { early: 10_000, total: 100_000 };
  const redis = new Redis(options.redisUrl, { maxRetriesPerRequest: 3 });
  try {
    await emulatorAdmin(options.emulatorUrl).setFaults({});
    const tickets = await BenchTickets.create();
    const ours = await runOurs(options, redis, tickets, sizes);
    const raw = await runRaw(options, redis, tickets, sizes.total);
    return [bytesRow(ours, raw, sizes.total, tickets), rssRow(ours, sizes, options.quick)];
  } finally {
    redis.disconnect();
  }
};

async function runOurs(
  options: BenchOptions,
  redis: Redis,
  tickets: BenchTickets,
  sizes: MemorySizes,
): Promise<OursRun> {
  await redis.flushall();
  const before = await usedMemory(redis);
  const secrets = newSecrets();
  const [worker] = startOurWorkers(options, ourWorkerEnv(options, secrets), 1, 'memory-ours');
  if (!worker?.pid) throw new Error('the worker did not start');
  const pid = worker.pid;
  const started = performance.now();
  let early: (ProcMemory & { completed: number }) | undefined;
  const trace = new RssTrace();
  const sample = async (completed: number) => {
    const now = await readProcMemory(pid);
    trace.add(completed, now.rssBytes);
    if (early === undefined && completed >= sizes.early) {
      early = { ...now, completed };
      options.log(
        `  worker RSS after ${completed} tickets: ${(early.rssBytes / MB).toFixed(1)} MB`,
      );
    }
  };
  try {
    const producer = ourProducer(redis, secrets);
    try {
      for (let done = 0; done < sizes.total; done += CHUNK) {
        await waitForFinished(redis, OUR_QUEUE, {
          count: done - AHEAD,
          timeoutMs: 600_000,
          children: [worker],
          onPoll: sample,
        });
        const n = Math.min(CHUNK, sizes.total - done);
        await enqueueAll(producer, tickets.requests(`mem-${done}`, n, done + 1));
        if ((done + n) % (10 * CHUNK) === 0) options.log(`  ${done + n} enqueued`);
      }
    } finally {
      await producer.close();
    }
    // the late single reading is taken as the early one was: under load (the last 2% still
    // running), not idle after the drain
    let underLoad: ProcMemory | undefined;
    const finished = await waitForFinished(redis, OUR_QUEUE, {
      count: sizes.total,
      timeoutMs: 60 * 60_000,
      children: [worker],
      onPoll: async (completed: number) => {
        await sample(completed);
        if (underLoad === undefined && completed >= sizes.total * 0.98) {
          underLoad = await readProcMemory(pid);
        }
      },
      log: options.log,
      everyMs: 200,
    });
    const late = underLoad ?? (await readProcMemory(pid));
    const after = await usedMemory(redis);
    const seconds = (performance.now() - started) / 1000;
    if (early === undefined) throw new Error('no early RSS sample');
    const windows = rssWindows(sizes);
    const earlyWindow = trace.window(windows.early.from, windows.early.to);
    const lateWindow = trace.window(windows.late.from, windows.late.to);
    options.log(
      `  ${sizes.total} tickets in ${seconds.toFixed(0)} s; worker RSS ${(late.rssBytes / MB).toFixed(1)} MB; ` +
        `peak ${(earlyWindow.peakBytes / MB).toFixed(1)} MB early, ${(lateWindow.peakBytes / MB).toFixed(1)} MB late`,
    );
    return {
      bytesPerTicket: (after - before) / sizes.total,
      early,
      late,
      earlyWindow,
      lateWindow,
      seconds,
      failed: finished.failed,
    };
  } finally {
    await worker.stop('SIGTERM', 10_000);
  }
}

async function runRaw(
  options: BenchOptions,
  redis: Redis,
  tickets: BenchTickets,
  total: number,
): Promise<number> {
  await redis.flushall();
  const before = await usedMemory(redis);
  for (let done = 0; done < total; done += CHUNK) {
    const payloads = tickets.requests(`mem-${done}`, Math.min(CHUNK, total - done), done + 1);
    await addBulk(redis, BARE_PREFIX, BARE_QUEUE_NAME, payloads);
  }
  const worker = startBareWorker(options, 'memory-raw', { mode: 'noop', concurrency: 50 });
  try {
    await drained(redis, BARE_QUEUE, total, worker, options);
    return ((await usedMemory(redis)) - before) / total;
  } finally {
    await worker.stop('SIGTERM', 10_000);
  }
}

async function drained(
  redis: Redis,
  keys: QueueKeys,
  count: number,
  worker: ManagedProcess,
  options: BenchOptions,
): Promise<void> {
  await waitForFinished(redis, keys, {
    count,
    timeoutMs: 30 * 60_000,
    children: [worker],
    log: options.log,
    everyMs: 200,
  });
}

function bytesRow(ours: OursRun, raw: number, total: number, tickets: BenchTickets): BenchRow {
  const ratio = ratioOf(ours.bytesPerTicket, raw);
  return {
    id: 'memory.redis-bytes',
    label: `Redis bytes per finished ticket (history, indexes, completed job) vs raw BullMQ job (one run each)`,
    value: Math.round(ours.bytesPerTicket),
    baseline: Math.round(raw),
    unit: 'bytes',
    ratio,
    goal: `ratio <= ${BYTES_GOAL}`,
    met: ratio !== null && ratio <= BYTES_GOAL && ours.failed === 0,
    detail: {
      tickets: total,
      failed: ours.failed,
      payloadBytes: tickets.requestBytes(),
      measured: 'INFO memory used_memory after all finished less before the intake, / tickets',
      raw: 'addBulk of the same ticket request JSON as payload, default options (completed jobs kept), completed by a no-op worker',
    },
  };
}

function rssRow(ours: OursRun, sizes: MemorySizes, quick: boolean): BenchRow {
  const { earlyWindow: early, lateWindow: late } = ours;
  const ratio = ratioOf(late.peakBytes, early.peakBytes);
  const mb = (bytes: number) => Math.round((bytes / MB) * 10) / 10;
  const range = (w: RssWindow) =>
    `${w.from.toLocaleString('en-US')}-${Math.min(w.to, sizes.total).toLocaleString('en-US')}`;
  const windowDetail = (w: RssWindow) => ({
    tickets: range(w),
    samples: w.samples,
    peakMb: mb(w.peakBytes),
    troughMb: mb(w.troughBytes),
  });
  return {
    id: 'memory.worker-rss',
    label: `worker peak RSS over tickets ${range(late)} vs ${range(early)} (one run)`,
    value: mb(late.peakBytes),
    baseline: mb(early.peakBytes),
    unit: 'MB',
    ratio,
    // a few thousand tickets: the worker is still warming up (code, pools, the heap's growth)
    goal: quick
      ? `ratio <= ${RSS_GOAL} (not judged with --quick: the worker is still warming up)`
      : `ratio <= ${RSS_GOAL}`,
    met: quick ? null : ratio !== null && ratio <= RSS_GOAL,
    detail: {
      early: windowDetail(early),
      late: windowDetail(late),
      // the troughs are the live set plus native memory; a leak raises them as well
      troughRatio: ratioOf(late.troughBytes, early.troughBytes),
      // single readings, as this row was measured before: they land anywhere on the sawtooth
      rssAtEarlyMarkMb: mb(ours.early.rssBytes),
      earlySampleAt: ours.early.completed,
      rssAt98PercentMb: mb(ours.late.rssBytes),
      peakRssMb: mb(ours.late.hwmBytes),
      seconds: Math.round(ours.seconds),
      ticketsPerSecond: Math.round(sizes.total / ours.seconds),
      configuration: 'one worker process, concurrency 50, emulators at zero latency, no QPS limit',
    },
  };
}
