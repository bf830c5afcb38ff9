/**
 * Benchmark 3, second part: quota fidelity of the financial-grade actions (API 2019-03-07), each at
 * its own QPS. Alibaba publishes 50 calls per second for each of Id2MetaVerify, ContrastFaceVerify
 * (photo), InitFaceVerify and DescribeFaceVerify (spec `cloudauth-2019.md` §10); the legacy part
 * (quota.ts) runs at its full 50 on this machine, so these run at their full 50 too. Every action
 * is named in CLOUDAUTH_QPS with its own pair (not through `*`), and the Cloudauth emulator, which
 * serves both API versions on one gateway, refuses more than the action's QPS in any one-second
 * sliding window (`Throttling`).
 *
 * Two phases, one after the other, each on a clean Redis and fresh emulator counters:
 * - tickets: a batch of `FaceServer` tickets (`financial:ID_MIN:<scene>:precheck`, the server flow:
 *   Id2MetaVerify then ContrastFaceVerify per ticket) drained by our worker processes, exactly as
 *   the legacy batch is; drain time against the quota-ideal (the slowest action's answered calls ÷
 *   its QPS).
 * - browser flow: an `ID_PRO` ticket waits for a person's browser to open its start link before
 *   InitFaceVerify, so no batch of them can be drained unattended. Instead driver processes
 *   (`lib/face-verify-driver.ts`) make the worker's two calls per session, InitFaceVerify then
 *   DescribeFaceVerify, through the same limiter (same Redis keys, CLOUDAUTH_QPS and headroom,
 *   loaded from the workers' environment) and the same client (the official SDK), completing the
 *   emulator's page in between. This measures the limiter and the client at these actions' QPS,
 *   not the worker's ticket steps around them.
 *
 * Per action the emulator reports the most calls it admitted in any one-second window
 * (`GET /__admin/peaks`) and its Throttling answers; a row per action checks both.
 */
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { parseBizEntry, type BizCatalogue } from '../src/domain/biz.js';
import { createTicketProducer } from '../src/index.js';
import { startTsxProcess, type ManagedProcess } from '../testkit/processes.js';
import { sleep } from '../testkit/waiting.js';
import { emulatorAdmin, type EmulatorCounters } from './lib/bench-emulator.js';
import { BenchTickets } from './lib/bench-tickets.js';
import { newRoundContext, runRound, type RoundResult } from './lib/drain-round.js';
import type { DriverReport } from './lib/face-verify-driver.js';
import { ratioOf } from './lib/interleave.js';
import {
  OUR_PREFIX,
  OUR_QUEUE,
  enqueueAll,
  newSecrets,
  ourWorkerEnv,
  startOurWorkers,
} from './lib/sides.js';
import type { BenchOptions, BenchRow } from './types.js';

/** The financial-grade actions the orchestrator calls. */
export const FINANCIAL_ACTIONS = [
  'Id2MetaVerify',
  'ContrastFaceVerify',
  'InitFaceVerify',
  'DescribeFaceVerify',
] as const;
export type FinancialAction = (typeof FINANCIAL_ACTIONS)[number];

/** Each action's own QPS: Alibaba's published figure (spec §10), unscaled like the legacy part's. */
export const FINANCIAL_QPS: Readonly<Record<FinancialAction, number>> = {
  Id2MetaVerify: 50,
  ContrastFaceVerify: 50,
  InitFaceVerify: 50,
  DescribeFaceVerify: 50,
};

/**
 * The Biz of each phase, with the SceneIds of the default CLOUDAUTH_BIZ, which the benchmark's
 * emulator registers (it starts with the defaults): another scene would be refused with Code 404.
 */
export const FACE_SERVER_BIZ = 'FaceServer';
export const FACE_H5_BIZ = 'FaceH5';
export const FINANCIAL_BENCH_BIZ: Readonly<Record<string, string>> = {
  [FACE_SERVER_BIZ]: 'financial:ID_MIN:1000000007:precheck',
  [FACE_H5_BIZ]: 'financial:ID_PRO:1000000006',
};

/** Driver processes of the browser-flow phase, and sessions each runs at once. */
const DRIVERS = 2;
const DRIVER_CONCURRENCY = 50;
const GOAL = 1.05;
const TIMEOUT_MS = 30 * 60_000;

/** What the legacy part hands over: its sizes and its `*` QPS. */
export interface FinancialQuotaSettings {
  /** Tickets of the ticket phase, and sessions of the browser-flow phase. */
  count: number;
  workers: number;
  concurrency: number;
  /** The `*` of CLOUDAUTH_QPS (and the emulator's ceiling) for any other action. */
  fallbackQps: number;
}

// ---------------------------------------------------------------------------------------------
// Pure helpers (test/unit/bench-quota-financial.test.ts)

/** CLOUDAUTH_QPS: `*=<fallback>` and one `Action=qps` pair per action, in the table's order. */
export function qpsSetting(fallback: number, perAction: Readonly<Record<string, number>>): string {
  return [`*=${fallback}`, ...Object.entries(perAction).map(([a, qps]) => `${a}=${qps}`)].join(',');
}

/** The emulator's faults: a QPS ceiling for `*` and one for each action of the table. */
export function ceilingFaults(
  fallback: number,
  perAction: Readonly<Record<string, number>>,
): Record<string, { qps: number }> {
  return {
    '*': { qps: fallback },
    ...Object.fromEntries(Object.entries(perAction).map(([a, qps]) => [a, { qps }])),
  };
}

/** The QPS a setting built by {@link qpsSetting} gives `action`. */
export function qpsOf(
  fallback: number,
  perAction: Readonly<Record<string, number>>,
  action: string,
): number {
  return Object.hasOwn(perAction, action) ? (perAction[action] as number) : fallback;
}

function sumBy(counters: EmulatorCounters, keep: (code: string) => boolean) {
  return Object.fromEntries(
    Object.entries(counters).map(([action, outcomes]) => [
      action,
      Object.entries(outcomes)
        .filter(([code]) => keep(code))
        .reduce((a, [, n]) => a + n, 0),
    ]),
  );
}

/**
 * The calls the emulator answered, by action. Throttled calls are left out: they are our waste,
 * and counting them would make the ideal longer and the ratio better the more we were throttled.
 */
export function answeredByAction(counters: EmulatorCounters): Record<string, number> {
  return sumBy(counters, (code) => !code.startsWith('Throttling'));
}

/** Throttling answers (`Throttling`, `Throttling.User`, …) by action. */
export function throttledByAction(counters: EmulatorCounters): Record<string, number> {
  return sumBy(counters, (code) => code.startsWith('Throttling'));
}

/**
 * The quota-ideal time of a batch: the longest any one action needs at its own QPS (its answered
 * calls ÷ its QPS), and that action. Actions without a limit (QPS 0) need no time.
 */
export function quotaIdeal(
  calls: Readonly<Record<string, number>>,
  qps: (action: string) => number,
): { seconds: number; action: string | undefined } {
  let best: { seconds: number; action: string | undefined } = { seconds: 0, action: undefined };
  for (const [action, n] of Object.entries(calls)) {
    const limit = qps(action);
    if (limit <= 0) continue;
    const seconds = n / limit;
    if (seconds > best.seconds) best = { seconds, action };
  }
  return best;
}

/**
 * One action's window row: the most calls the emulator admitted in any one-second window against
 * the action's QPS, and its Throttling answers. An action no call of reached the emulator fails
 * the row: the check would say nothing.
 */
export function windowRow(
  action: string,
  figures: { peak: number | undefined; qps: number; throttled: number; driven: string },
): BenchRow {
  const { peak, qps, throttled } = figures;
  const seen = peak !== undefined && peak > 0;
  return {
    id: `quota.window.${action}`,
    label: `${action}: most calls the emulator admitted in any 1-s window; Throttling answers (one run)`,
    value: peak ?? 0,
    baseline: qps,
    unit: 'calls/s',
    ratio: ratioOf(peak ?? 0, qps),
    goal: `<= ${qps}, 0 Throttling`,
    met: seen && peak <= qps && throttled === 0,
    detail: {
      qps,
      throttlingAnswers: throttled,
      driven: figures.driven,
      ...(seen ? {} : { problem: 'no call of this action reached the emulator' }),
    },
  };
}

/** `total` split over `parts` as evenly as whole numbers allow, the larger shares first. */
export function shares(total: number, parts: number): number[] {
  return Array.from(
    { length: parts },
    (_, i) => Math.floor(total / parts) + (i < total % parts ? 1 : 0),
  );
}

/** The driver processes' reports as one: summed counts, and the window from first to last. */
export function mergeReports(reports: readonly DriverReport[]): {
  sessions: number;
  verdicts: number;
  passed: number;
  failed: number;
  throttled: number;
  errors: Record<string, number>;
  seconds: number;
} {
  const errors: Record<string, number> = {};
  for (const r of reports) {
    for (const [code, n] of Object.entries(r.errors)) errors[code] = (errors[code] ?? 0) + n;
  }
  const sum = (f: (r: DriverReport) => number) => reports.reduce((a, r) => a + f(r), 0);
  const first = Math.min(...reports.map((r) => r.firstStartMs));
  const last = Math.max(...reports.map((r) => r.lastEndMs));
  return {
    sessions: sum((r) => r.sessions),
    verdicts: sum((r) => r.verdicts),
    passed: sum((r) => r.passed),
    failed: sum((r) => r.failed),
    throttled: sum((r) => r.throttled),
    errors,
    seconds: reports.length === 0 ? 0 : (last - first) / 1000,
  };
}

/** The catalogue of `CLOUDAUTH_BIZ` entries, parsed as the orchestrator parses them. */
export function catalogueOf(entries: Readonly<Record<string, string>>): BizCatalogue {
  const out: Record<string, BizCatalogue[string]> = {};
  for (const [biz, value] of Object.entries(entries)) {
    const parsed = parseBizEntry(value);
    if ('problem' in parsed) throw new Error(`${biz}: ${parsed.problem}`);
    out[biz] = parsed.profile;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// The benchmark

/** Runs both phases; answers the ticket drain row, the browser-flow pace row and a window row each. */
export async function benchQuotaFinancial(
  options: BenchOptions,
  redis: Redis,
  settings: FinancialQuotaSettings,
): Promise<BenchRow[]> {
  const emulator = emulatorAdmin(options.emulatorUrl);
  const { fallbackQps } = settings;
  const limitOf = (action: string) => qpsOf(fallbackQps, FINANCIAL_QPS, action);
  const secrets = newSecrets();
  const env = ourWorkerEnv(options, secrets, {
    CLOUDAUTH_BIZ: Object.entries(FINANCIAL_BENCH_BIZ)
      .map(([biz, value]) => `${biz}=${value}`)
      .join(','),
    CLOUDAUTH_QPS: qpsSetting(fallbackQps, FINANCIAL_QPS),
    WORKER_CONCURRENCY: String(settings.concurrency),
  });
  await emulator.setFaults(ceilingFaults(fallbackQps, FINANCIAL_QPS));
  try {
    // tickets: FaceServer through our workers
    const tickets = await BenchTickets.create();
    const requests = tickets
      .requests('quotafin', settings.count, 23)
      .map((r) => ({ ...r, Biz: FACE_SERVER_BIZ }));
    options.log(
      `  financial: ${settings.count} ${FACE_SERVER_BIZ} tickets (Id2MetaVerify + ContrastFaceVerify), ideal about ${Math.round(settings.count / Math.min(limitOf('Id2MetaVerify'), limitOf('ContrastFaceVerify')))} s`,
    );
    const catalogue = catalogueOf(FINANCIAL_BENCH_BIZ);
    const r = await runRound(newRoundContext(redis, options), {
      name: 'quota-financial',
      count: settings.count,
      keys: OUR_QUEUE,
      produce: async () => {
        const producer = createTicketProducer({
          redis,
          prefix: OUR_PREFIX,
          encryptionKey: secrets.encryptionKey,
          biz: catalogue,
        });
        try {
          await enqueueAll(producer, requests);
        } finally {
          await producer.close();
        }
      },
      startWorkers: () => startOurWorkers(options, env, settings.workers, 'quota-financial'),
      timeoutMs: TIMEOUT_MS,
    });
    const ticketPeaks = await emulator.peaks();
    options.log(
      `  drained ${r.completed} (${r.failed} failed) in ${r.window.seconds.toFixed(1)} s`,
    );

    // browser flow: InitFaceVerify + DescribeFaceVerify from driver processes
    options.log(
      `  financial: ${settings.count} ${FACE_H5_BIZ} sessions (InitFaceVerify + DescribeFaceVerify) from ${DRIVERS} driver processes`,
    );
    const driven = await runDrivers(options, redis, env, settings.count);
    options.log(
      `  ${driven.merged.verdicts} verdicts (${driven.merged.failed} sessions failed) in ${driven.merged.seconds.toFixed(1)} s`,
    );

    const ticketThrottled = throttledByAction(r.calls);
    const driverThrottled = throttledByAction(driven.calls);
    const ticketsHow = `${settings.count} ${FACE_SERVER_BIZ} tickets through ${settings.workers} worker processes`;
    const driversHow = `${settings.count} sessions from ${DRIVERS} driver processes (client and limiter, no ticket steps)`;
    const fromTickets = new Set<FinancialAction>(['Id2MetaVerify', 'ContrastFaceVerify']);
    return [
      ticketDrainRow(r, limitOf, settings),
      paceRow(driven, limitOf),
      ...FINANCIAL_ACTIONS.map((action) => {
        const tickets = fromTickets.has(action);
        return windowRow(action, {
          peak: (tickets ? ticketPeaks : driven.peaks)[action],
          qps: limitOf(action),
          throttled: (tickets ? ticketThrottled : driverThrottled)[action] ?? 0,
          driven: tickets ? ticketsHow : driversHow,
        });
      }),
    ];
  } finally {
    await emulator.setFaults({});
  }
}

interface Driven {
  merged: ReturnType<typeof mergeReports>;
  calls: EmulatorCounters;
  peaks: Record<string, number>;
}

/** Runs the driver processes to their end on a clean Redis and fresh counters. */
async function runDrivers(
  options: BenchOptions,
  redis: Redis,
  env: Readonly<Record<string, string>>,
  sessions: number,
): Promise<Driven> {
  const emulator = emulatorAdmin(options.emulatorUrl);
  await redis.flushall();
  await emulator.resetCounters();
  const reportKey = `${OUR_PREFIX}:bench:face-verify`;
  const children: ManagedProcess[] = shares(sessions, DRIVERS).map((n, i) =>
    startTsxProcess(
      `quota-face-verify-${i}`,
      'bench/lib/face-verify-driver.ts',
      {
        ...env,
        BENCH_FACE_BIZ: FACE_H5_BIZ,
        BENCH_SESSIONS: String(n),
        BENCH_CONCURRENCY: String(DRIVER_CONCURRENCY),
        BENCH_DRIVERS: String(DRIVERS),
        BENCH_DRIVER_INDEX: String(i),
        BENCH_REPORT_KEY: reportKey,
      },
      join(options.dir, `quota-face-verify-${i}.log`),
    ),
  );
  try {
    const deadline = Date.now() + TIMEOUT_MS;
    let lastLog = Date.now();
    while (children.some((c) => c.running())) {
      if (Date.now() > deadline) throw new Error('the face-verify drivers did not finish in time');
      if (Date.now() - lastLog > 5000) {
        lastLog = Date.now();
        const calls = answeredByAction(await emulator.counters());
        options.log(
          `  ${calls.DescribeFaceVerify ?? 0}/${sessions} sessions done, ${calls.InitFaceVerify ?? 0} started`,
        );
      }
      await sleep(200);
    }
    const exits = await Promise.all(children.map((c) => c.exited));
    const bad = exits.findIndex((how) => how !== 'exit 0');
    if (bad >= 0) {
      throw new Error(`face-verify driver ${bad} ended with ${exits[bad]} (see --keep logs)`);
    }
  } finally {
    await Promise.all(children.map((c) => c.stop('SIGTERM', 10_000)));
  }
  const reports = (await redis.lrange(reportKey, 0, -1)).map((s) => JSON.parse(s) as DriverReport);
  if (reports.length !== DRIVERS) {
    throw new Error(`${reports.length} of ${DRIVERS} face-verify drivers reported`);
  }
  return {
    merged: mergeReports(reports),
    calls: await emulator.counters(),
    peaks: await emulator.peaks(),
  };
}

function ticketDrainRow(
  r: RoundResult,
  limitOf: (action: string) => number,
  settings: FinancialQuotaSettings,
): BenchRow {
  const calls = answeredByAction(r.calls);
  const ideal = quotaIdeal(calls, limitOf);
  const ratio = ratioOf(r.window.seconds, ideal.seconds);
  return {
    id: 'quota.financial.drain',
    label: `${r.count}-ticket ${FACE_SERVER_BIZ} (ID_MIN, precheck) batch drain time at each action's own QPS vs quota-ideal (one run)`,
    value: Math.round(r.window.seconds * 10) / 10,
    baseline: Math.round(ideal.seconds * 10) / 10,
    unit: 's',
    ratio,
    goal: `ratio <= ${GOAL}`,
    met: ratio !== null && ratio <= GOAL && r.failed === 0,
    detail: {
      biz: `${FACE_SERVER_BIZ}=${FINANCIAL_BENCH_BIZ[FACE_SERVER_BIZ]}`,
      tickets: r.count,
      completed: r.completed,
      failed: r.failed,
      callsByAction: calls,
      ideal: `the slowest action's answered calls / its QPS (${ideal.action ?? 'none'})`,
      workers: `${settings.workers} processes (workers/ticket.worker.ts) x concurrency ${settings.concurrency}`,
      limiter: `CLOUDAUTH_QPS ${qpsSetting(settings.fallbackQps, FINANCIAL_QPS)}, CLOUDAUTH_QPS_HEADROOM 0.03 (default): at best 1.03 x ideal`,
    },
  };
}

function paceRow(driven: Driven, limitOf: (action: string) => number): BenchRow {
  const calls = answeredByAction(driven.calls);
  const ideal = quotaIdeal(calls, limitOf);
  const { merged } = driven;
  const ratio = ratioOf(merged.seconds, ideal.seconds);
  return {
    id: 'quota.face-verify.pace',
    label: `${merged.sessions} InitFaceVerify + DescribeFaceVerify sessions through the limiter (${DRIVERS} driver processes) vs quota-ideal (one run)`,
    value: Math.round(merged.seconds * 10) / 10,
    baseline: Math.round(ideal.seconds * 10) / 10,
    unit: 's',
    ratio,
    goal: `ratio <= ${GOAL}`,
    met:
      ratio !== null && ratio <= GOAL && merged.failed === 0 && merged.verdicts === merged.sessions,
    detail: {
      biz: `${FACE_H5_BIZ}=${FINANCIAL_BENCH_BIZ[FACE_H5_BIZ]}`,
      sessions: merged.sessions,
      verdicts: merged.verdicts,
      passed: merged.passed,
      failed: merged.failed,
      errors: merged.errors,
      throttlingSeenByDrivers: merged.throttled,
      callsByAction: calls,
      ideal: `the slowest action's answered calls / its QPS (${ideal.action ?? 'none'})`,
      window: "from the first session's start to the last one's end, over every driver",
      drivers: `${DRIVERS} processes (bench/lib/face-verify-driver.ts) x ${DRIVER_CONCURRENCY} sessions at once: Cloudauth2019Client and ProviderRateLimiter as the worker builds them, the CertifyUrl page completed between the calls; an ID_PRO ticket's start link needs a browser, so no worker runs these`,
    },
  };
}
