/**
 * Benchmark 7, image bombs (`--only bombs`).
 *
 * One worker process (`workers/ticket.worker.ts`, WORKER_CONCURRENCY=50, the default image
 * settings) first finishes 50 normal tickets (small face JPEGs, through the producer library):
 * its VmRSS then is the baseline. Then 50 tickets whose FacePic is a PNG of 16000×16000 pixels
 * (about 780 KB; 768 MB decoded) are written to the store at once, past the intake (which would
 * refuse them), as a ticket stored before the limit existed would be; the worker takes all fifty
 * at once. The figure is the worker's peak resident set (VmHWM) at the end, against the goal of
 * 400 MB, and every bomb ticket must have failed with VALIDATION_FAILED naming FacePic and its
 * size. Before the pixel limit, one such ticket took a worker from 195 MB to 935 MB.
 *
 * Then the legitimate maximum, each in a fresh worker measured the same way: 50 tickets at once
 * whose FacePic is just under the pixel limit (5000×4999, 24,995,000 px), a JPEG of several MB
 * (so it must be scaled under 2 MB) and a 1-bit BMP (3 MB; decoded by bmp-ts, 4 bytes a pixel,
 * then converted to JPEG). Before the pixel budget, the streamed JPEG pipeline and the BMP worker
 * thread, these took a worker to 1.1 GB and 1 GB. Last, in this process, the event loop's longest
 * delay (perf_hooks) while `fitImage` converts 8 such BMPs: bmp-ts on the main thread blocked it
 * for about 0.8 s per image, which stalls BullMQ's lock renewals.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Queue } from 'bullmq';
import sharp from 'sharp';
import { Redis } from 'ioredis';
import type { ManagedProcess } from '../testkit/processes.js';
import { TICKET_QUEUE, bullPrefix, type TicketJobData } from '../src/adapters/bullmq/queues.js';
import { TicketIntake, type TicketInput } from '../src/flow/ticket-intake.js';
import { FieldCipher, parseKey } from '../src/adapters/redis/crypto.js';
import { fitImage } from '../src/adapters/oss/image-fit.js';
import { RedisTicketStore } from '../src/adapters/redis/ticket-store.js';
import { DirectoryStagingStore } from '../src/adapters/staging/directory-staging-store.js';
import { CONFIG_DEFAULTS } from '../src/config.js';
import { pngBomb } from '../test/support/images.js';
import { BENCH_BIZ, BenchTickets } from './lib/bench-tickets.js';
import { emulatorAdmin } from './lib/bench-emulator.js';
import { ratioOf } from './lib/interleave.js';
import { MB, readProcMemory, type ProcMemory } from './lib/proc-status.js';
import { waitForFinished } from './lib/queue-progress.js';
import {
  OUR_PREFIX,
  OUR_QUEUE,
  newSecrets,
  ourWorkerEnv,
  produceOurs,
  startOurWorkers,
  type OurSecrets,
} from './lib/sides.js';
import type { Benchmark, BenchOptions, BenchRow } from './types.js';

const TICKETS = 50;
const GOAL_MB = 400;
const BOMB_SIDE = 16_000;
const EXPECTED = `materials: FacePic: is ${BOMB_SIDE}×${BOMB_SIDE} px (256 MP), over the limit of 25 MP`;
/** Just under the default IMAGE_MAX_PIXELS (25,000,000). */
const NEAR = { width: 5000, height: 4999 } as const;
const LOOP_GOAL_MS = 100;
/** BMPs converted while the event loop is watched. */
const LOOP_IMAGES = 8;

interface BombRun {
  /** After the normal tickets. */
  baseline: ProcMemory;
  /** At the end, after the bombs: VmHWM is the peak over the worker's whole life. */
  after: ProcMemory;
  bombBytes: number;
  /** Bomb tickets failed with the expected VALIDATION_FAILED message. */
  refusedAsExpected: number;
  /** What the others ended as (state and error code), if any. */
  unexpected: string[];
  seconds: number;
}

export const benchImageBombs: Benchmark = async (options) => {
  const redis = new Redis(options.redisUrl, { maxRetriesPerRequest: 3 });
  try {
    await emulatorAdmin(options.emulatorUrl).setFaults({});
    const run = await runBombs(options, redis);
    const rows = [rssRow(run)];
    for (const kind of ['jpeg', 'bmp'] as const) {
      const image = kind === 'jpeg' ? await nearLimitJpeg() : nearLimitBmp();
      const label = `${kind === 'jpeg' ? 'JPEG' : '1-bit BMP'} of ${NEAR.width}×${NEAR.height} px (${(image.length / MB).toFixed(1)} MB)`;
      options.log(`  near-limit: a ${label}`);
      rows.push(nearLimitRow(kind, label, await runNearLimit(options, redis, image, kind)));
    }
    rows.push(await eventLoopRow(options));
    return rows;
  } finally {
    redis.disconnect();
  }
};

async function runBombs(options: BenchOptions, redis: Redis): Promise<BombRun> {
  await redis.flushall();
  const secrets = newSecrets();
  const bomb = await pngBomb(BOMB_SIDE, BOMB_SIDE);
  options.log(`  bomb: a ${BOMB_SIDE}×${BOMB_SIDE} PNG of ${(bomb.length / 1024).toFixed(0)} KB`);
  const env = ourWorkerEnv(options, secrets, { WORKER_CONCURRENCY: String(TICKETS) });
  const [worker] = startOurWorkers(options, env, 1, 'bombs');
  if (!worker?.pid) throw new Error('the worker did not start');
  try {
    const tickets = await BenchTickets.create();
    await produceOurs(redis, secrets, tickets.requests('normal', TICKETS));
    await drained(redis, TICKETS, worker, options);
    const baseline = await readProcMemory(worker.pid);
    options.log(`  worker RSS after ${TICKETS} normal tickets: ${mb(baseline.rssBytes)} MB`);

    const started = performance.now();
    await storeTickets(redis, secrets, bomb, 'bomb');
    await drained(redis, 2 * TICKETS, worker, options);
    const seconds = (performance.now() - started) / 1000;
    const after = await readProcMemory(worker.pid);
    options.log(
      `  ${TICKETS} bombs done in ${seconds.toFixed(1)} s; peak RSS ${mb(after.hwmBytes)} MB`,
    );
    const verdicts = await bombVerdicts(redis, secrets);
    return { baseline, after, bombBytes: bomb.length, ...verdicts, seconds };
  } finally {
    await worker.stop('SIGTERM', 10_000);
  }
}

/** The store and queue as the orchestrator writes them, without the intake's checks. */
function storeParts(redis: Redis, secrets: OurSecrets) {
  const cipher = new FieldCipher(parseKey(secrets.encryptionKey, 'encryptionKey'));
  const store = new RedisTicketStore({ redis, prefix: OUR_PREFIX, cipher, retentionSeconds: 3600 });
  return { cipher, store };
}

/** 50 tickets `<prefix>-<i>` whose FacePic is `image`. */
async function storeTickets(
  redis: Redis,
  secrets: OurSecrets,
  image: Buffer,
  prefix: string,
): Promise<void> {
  const { cipher, store } = storeParts(redis, secrets);
  const queue = new Queue<TicketJobData>(TICKET_QUEUE, {
    connection: redis,
    prefix: bullPrefix(OUR_PREFIX),
  });
  try {
    const intake = new TicketIntake({
      store,
      queue,
      biz: { [BENCH_BIZ]: 'RPMin' },
      jobs: { attempts: 8, keepCompletedSeconds: 3600, keepFailedSeconds: 3600 },
      fingerprint: (text) => cipher.fingerprint(text),
      // the bench worker's STAGING_DIR: the default, under the same working directory
      staging: new DirectoryStagingStore({
        dir: CONFIG_DEFAULTS.staging.dir,
        key: parseKey(secrets.encryptionKey, 'encryptionKey'),
      }),
      imageLimits: { maxPixels: 25_000_000, maxSidePx: 16_384 },
    });
    const base64 = image.toString('base64');
    const inputs: TicketInput[] = Array.from({ length: TICKETS }, (_, i) => ({
      ticketId: `${prefix}-${i}`,
      biz: BENCH_BIZ,
      binding: {
        name: '张伟',
        idNumber: '11010519491231002X',
        materials: { FacePic: { kind: 'bytes', base64 } },
      },
    }));
    const results = await intake.enqueueMany(inputs);
    if (results.some((r) => !r.created)) throw new Error(`a ${prefix} ticket was not created`);
  } finally {
    await queue.close();
  }
}

async function bombVerdicts(
  redis: Redis,
  secrets: OurSecrets,
): Promise<Pick<BombRun, 'refusedAsExpected' | 'unexpected'>> {
  const { store } = storeParts(redis, secrets);
  let refusedAsExpected = 0;
  const unexpected: string[] = [];
  for (let i = 0; i < TICKETS; i++) {
    const t = await store.get(`bomb-${i}`);
    const error = t?.lastError;
    if (
      t?.state === 'failed' &&
      error?.code === 'VALIDATION_FAILED' &&
      error.message === EXPECTED
    ) {
      refusedAsExpected++;
    } else unexpected.push(`${t?.state ?? 'missing'} ${error?.code ?? ''}`.trim());
  }
  return { refusedAsExpected, unexpected };
}

async function drained(
  redis: Redis,
  count: number,
  worker: ManagedProcess,
  options: BenchOptions,
): Promise<void> {
  await waitForFinished(redis, OUR_QUEUE, {
    count,
    timeoutMs: 300_000,
    children: [worker],
    log: options.log,
    everyMs: 100,
  });
}

const mb = (bytes: number) => Math.round((bytes / MB) * 10) / 10;

function rssRow(run: BombRun): BenchRow {
  const peak = mb(run.after.hwmBytes);
  const baseline = mb(run.baseline.rssBytes);
  const allRefused = run.refusedAsExpected === TICKETS;
  return {
    id: 'bombs.worker-peak-rss',
    label: `worker peak RSS with ${TICKETS} ${BOMB_SIDE}×${BOMB_SIDE} PNG bombs at once (concurrency ${TICKETS}) vs its RSS after ${TICKETS} normal tickets`,
    value: peak,
    baseline,
    unit: 'MB',
    ratio: ratioOf(peak, baseline),
    goal: `peak < ${GOAL_MB} MB, every bomb refused naming FacePic and its size`,
    met: peak < GOAL_MB && allRefused,
    detail: {
      bombBytes: run.bombBytes,
      refusedAsExpected: run.refusedAsExpected,
      unexpected: run.unexpected,
      rssAfterBombsMb: mb(run.after.rssBytes),
      peakBeforeBombsMb: mb(run.baseline.hwmBytes),
      seconds: Math.round(run.seconds * 10) / 10,
      configuration:
        'one worker process, WORKER_CONCURRENCY=50, IMAGE_MAX_PIXELS and IMAGE_DECODE_BUDGET_PIXELS at their defaults (25 MP, 50 MP); bombs stored past the intake',
    },
  };
}

interface NearLimitRun {
  baseline: ProcMemory;
  after: ProcMemory;
  /** Ticket states at the end, counted. */
  states: Record<string, number>;
  seconds: number;
}

/** A fresh worker: 50 normal tickets, then 50 tickets whose FacePic is `image`, all at once. */
async function runNearLimit(
  options: BenchOptions,
  redis: Redis,
  image: Buffer,
  kind: string,
): Promise<NearLimitRun> {
  await redis.flushall();
  const secrets = newSecrets();
  const env = ourWorkerEnv(options, secrets, { WORKER_CONCURRENCY: String(TICKETS) });
  const [worker] = startOurWorkers(options, env, 1, `near-${kind}`);
  if (!worker?.pid) throw new Error('the worker did not start');
  try {
    const tickets = await BenchTickets.create();
    await produceOurs(redis, secrets, tickets.requests('normal', TICKETS));
    await drained(redis, TICKETS, worker, options);
    const baseline = await readProcMemory(worker.pid);
    const started = performance.now();
    await storeTickets(redis, secrets, image, 'near');
    await drained(redis, 2 * TICKETS, worker, options);
    const seconds = (performance.now() - started) / 1000;
    const after = await readProcMemory(worker.pid);
    const { store } = storeParts(redis, secrets);
    const states: Record<string, number> = {};
    for (let i = 0; i < TICKETS; i++) {
      const t = await store.get(`near-${i}`);
      const state = `${t?.state ?? 'missing'}${t?.lastError ? ` ${t.lastError.code}` : ''}`;
      states[state] = (states[state] ?? 0) + 1;
    }
    options.log(
      `  ${TICKETS} near-limit ${kind} tickets in ${seconds.toFixed(1)} s; RSS before ${mb(baseline.rssBytes)} MB, peak ${mb(after.hwmBytes)} MB; ${JSON.stringify(states)}`,
    );
    return { baseline, after, states, seconds };
  } finally {
    await worker.stop('SIGTERM', 10_000);
  }
}

function nearLimitRow(kind: 'jpeg' | 'bmp', label: string, run: NearLimitRun): BenchRow {
  const peak = mb(run.after.hwmBytes);
  const baseline = mb(run.baseline.rssBytes);
  // every ticket got past its image to a verdict; none was refused or lost
  const fine = Object.keys(run.states).every((s) => s === 'passed' || s === 'not_passed');
  return {
    id: `bombs.near-limit-${kind}-peak-rss`,
    label: `worker peak RSS with ${TICKETS} near-limit tickets at once (${label}, concurrency ${TICKETS}) vs its RSS after ${TICKETS} normal tickets`,
    value: peak,
    baseline,
    unit: 'MB',
    ratio: ratioOf(peak, baseline),
    goal: `peak < ${GOAL_MB} MB, every ticket past its image`,
    met: peak < GOAL_MB && fine,
    detail: {
      states: run.states,
      rssAfterMb: mb(run.after.rssBytes),
      peakBeforeMb: mb(run.baseline.hwmBytes),
      seconds: Math.round(run.seconds * 10) / 10,
      configuration:
        'one worker process, WORKER_CONCURRENCY=50, IMAGE_MAX_PIXELS and IMAGE_DECODE_BUDGET_PIXELS at their defaults (25 MP, 50 MP)',
    },
  };
}

/** The event loop's longest delay in this process while `fitImage` converts near-limit BMPs. */
async function eventLoopRow(options: BenchOptions): Promise<BenchRow> {
  const bmp = nearLimitBmp();
  const histogram = monitorEventLoopDelay({ resolution: 10 });
  histogram.enable();
  const started = performance.now();
  await Promise.all(Array.from({ length: LOOP_IMAGES }, () => fitImage('FacePic', bmp)));
  const seconds = (performance.now() - started) / 1000;
  histogram.disable();
  const maxMs = Math.round(histogram.max / 1e5) / 10;
  const p99Ms = Math.round(histogram.percentile(99) / 1e5) / 10;
  options.log(`  event loop while ${LOOP_IMAGES} BMPs convert: max ${maxMs} ms, p99 ${p99Ms} ms`);
  return {
    id: 'bombs.bmp-event-loop-max-delay',
    label: `event loop's longest delay while fitImage converts ${LOOP_IMAGES} near-limit 1-bit BMPs at once (in the bench process)`,
    value: maxMs,
    baseline: null,
    unit: 'ms',
    ratio: null,
    goal: `< ${LOOP_GOAL_MS} ms`,
    met: maxMs < LOOP_GOAL_MS,
    detail: { p99Ms, seconds: Math.round(seconds * 10) / 10 },
  };
}

/** A photo-like JPEG just under the pixel limit: a gradient with fine noise, several MB. */
async function nearLimitJpeg(): Promise<Buffer> {
  const { width, height } = NEAR;
  const raw = Buffer.alloc(width * height * 3);
  let x = 99;
  for (let i = 0; i < raw.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    raw[i] = Math.floor((((i / 3) % width) / width) * 200) + (x & 0x1f);
  }
  return sharp(raw, { raw: { width, height, channels: 3 } })
    .jpeg({ quality: 88 })
    .toBuffer();
}

/** A 1-bit (two-colour palette) BMP just under the pixel limit, with a noisy pattern. */
function nearLimitBmp(): Buffer {
  const { width, height } = NEAR;
  const rowBytes = Math.floor((width + 31) / 32) * 4;
  const pixelsAt = 14 + 40 + 8;
  const out = Buffer.alloc(pixelsAt + rowBytes * height);
  out.write('BM', 0, 'latin1');
  out.writeUInt32LE(out.length, 2);
  out.writeUInt32LE(pixelsAt, 10);
  out.writeUInt32LE(40, 14);
  out.writeInt32LE(width, 18);
  out.writeInt32LE(height, 22);
  out.writeUInt16LE(1, 26);
  out.writeUInt16LE(1, 28);
  out.writeUInt32LE(2, 46);
  out.writeUInt32LE(0x000000, 54);
  out.writeUInt32LE(0xffffff, 58);
  let x = 12345;
  for (let i = pixelsAt; i < out.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = i % 7 === 0 ? x & 0xff : (i >> 6) & 1 ? 0xf0 : 0x0f;
  }
  return out;
}
