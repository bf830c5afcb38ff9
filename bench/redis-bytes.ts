/**
 * Benchmark 8, Redis bytes of tickets with photos (`--only redis-bytes`).
 *
 * Tickets carrying three distinct ~1.5 MB JPEGs (FacePic, IdCardFrontPic, IdCardBackPic) as base64
 * `data:` URLs are posted to `POST /v1/tickets` of the orchestrator's API (its own process, no
 * workers; intake stages the photos in a STAGING_DIR of the run's scratch directory and the ticket
 * keeps references only). Their Redis footprint is read while they wait (no worker running) and
 * after one worker process has passed them all and erased their binding and staged objects. The
 * baseline is a raw BullMQ job on the same private Redis: `Queue.add` of `{ticketId}` with the
 * orchestrator's default retention of completed jobs (JOB_KEEP_COMPLETED_SECONDS), run to
 * completion by a bare no-op worker, read the same way.
 *
 * A footprint is `MEMORY USAGE … SAMPLES 0` of every key (`lib/key-footprint.ts`), read with no
 * other process connected. A ticket's bytes are what the measured tickets add to a store that
 * already holds {@link BACKGROUND} finished ones (small photos, the same API), over the tickets:
 * its hash, history and job, and its elements of the indexes and of the queue's lists, sorted sets
 * and event stream (at their average bytes per element: streams and lists grow by whole nodes), in
 * the encodings those take at scale (past 128 entries no longer listpacks), without the keys every
 * queue has once (meta, id), which over a few tickets would weigh more than the tickets. The raw
 * side is measured the same way over as many raw background jobs. One run each side.
 * Before photos were staged, one such ticket (three 1.3 MB photos) held 7.3 MB after it passed.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { TICKET_QUEUE, bullPrefix, jobIdOf } from '../src/adapters/bullmq/queues.js';
import { ticketStoreKeys } from '../src/adapters/redis/ticket-index.js';
import { CONFIG_DEFAULTS } from '../src/config.js';
import { noiseJpeg } from '../test/support/images.js';
import { anIdNumber, faceJpegs, seededRandom } from '../testkit/generators.js';
import {
  exitedReason,
  freePort,
  startTsxProcess,
  type ManagedProcess,
} from '../testkit/processes.js';
import { waitUntil } from '../testkit/waiting.js';
import { BENCH_BIZ } from './lib/bench-tickets.js';
import { emulatorAdmin } from './lib/bench-emulator.js';
import { ratioOf } from './lib/interleave.js';
import {
  filesUnder,
  keyFootprint,
  literal,
  perItemGrowth,
  type FootprintProbes,
  type KeyFootprint,
  type KeyKinds,
} from './lib/key-footprint.js';
import { waitForFinished, type QueueKeys } from './lib/queue-progress.js';
import {
  BARE_PREFIX,
  BARE_QUEUE,
  BARE_QUEUE_NAME,
  OUR_PREFIX,
  OUR_QUEUE,
  newSecrets,
  ourWorkerEnv,
  startBareWorker,
  startOurWorkers,
} from './lib/sides.js';
import type { Benchmark, BenchOptions, BenchRow } from './types.js';

/** Issue 15's goal: a ticket's Redis bytes within 4× a raw completed BullMQ job, at every moment. */
const GOAL = 4;
/** Finished tickets (jobs) present before the measured ones: past every listpack threshold (128). */
const BACKGROUND = 200;
const PHOTO_FIELDS = ['FacePic', 'IdCardFrontPic', 'IdCardBackPic'] as const;
/** Noise JPEGs at quality 95 take about 1 byte a pixel: 1220×1220 is about 1.5 MB. */
const PHOTO_SIDE_PX = 1220;
const CREATED = 202;
/** Background tickets posted at once (small bodies). */
const BACKGROUND_LANES = 8;

/** Footprints of one side: with the background finished, the measured items waiting, finished. */
interface Footprints {
  before: KeyFootprint;
  waiting: KeyFootprint;
  finished: KeyFootprint;
}

interface OursRun extends Footprints {
  stagedWaiting: { files: number; bytes: number };
  stagedFinished: { files: number; bytes: number };
  passed: number;
  photoBytes: number[];
  requestBytes: number;
}

export const benchRedisBytes: Benchmark = async (options) => {
  const tickets = options.quick ? 10 : 20;
  const redis = new Redis(options.redisUrl, { maxRetriesPerRequest: 3 });
  try {
    await emulatorAdmin(options.emulatorUrl).setFaults({});
    const ours = await runOurs(options, redis, tickets);
    const raw = await runRaw(options, redis, tickets);
    return [
      bytesRow('waiting', ours, raw, tickets),
      bytesRow('finished', ours, raw, tickets),
      stagedRow(ours, tickets),
    ];
  } finally {
    await redis.flushall().catch(() => undefined);
    redis.disconnect();
  }
};

/** The measured tickets' bodies: one applicant each, the same three ~1.5 MB photos in each. */
async function photoBodies(count: number): Promise<{ bodies: string[]; photos: Buffer[] }> {
  const photos = await Promise.all(
    PHOTO_FIELDS.map((_, i) => noiseJpeg(PHOTO_SIDE_PX, PHOTO_SIDE_PX, 101 + i)),
  );
  const images = PHOTO_FIELDS.map(
    (field, i) => [field, dataUrl(photos[i] as Buffer)] as [string, string],
  );
  return { bodies: ticketBodies('rb', count, images), photos };
}

/** The background tickets' bodies: the same fields, small photos. */
async function backgroundBodies(count: number): Promise<string[]> {
  const small = await faceJpegs(PHOTO_FIELDS.length);
  return ticketBodies(
    'bg',
    count,
    PHOTO_FIELDS.map((field, i) => [field, small[i] ?? '']),
  );
}

function dataUrl(jpeg: Buffer): string {
  return `data:image/jpeg;base64,${jpeg.toString('base64')}`;
}

/** Bodies of tickets `<prefix>-0000`…, synthetic applicants (nobody's), with `images`. */
function ticketBodies(prefix: string, count: number, images: [string, string][]): string[] {
  const random = seededRandom(prefix.length + count);
  return Array.from({ length: count }, (_, i) =>
    JSON.stringify({
      TicketId: ticketId(prefix, i),
      Biz: BENCH_BIZ,
      Binding: {
        Name: '张伟',
        IdentificationNumber: anIdNumber(random),
        ...Object.fromEntries(images),
      },
    }),
  );
}

const ticketId = (prefix: string, i: number) => `${prefix}-${String(i).padStart(4, '0')}`;

/** Our API and worker processes on the run's Redis, sharing a staging directory. */
interface OurSide {
  env: Record<string, string>;
  token: string;
  stagingDir: string;
}

async function runOurs(options: BenchOptions, redis: Redis, tickets: number): Promise<OursRun> {
  const { bodies, photos } = await photoBodies(tickets);
  const background = await backgroundBodies(BACKGROUND);
  await redis.flushall();
  const token = randomBytes(24).toString('base64url');
  const stagingDir = join(options.dir, 'redis-bytes-staging');
  const side: OurSide = {
    token,
    stagingDir,
    env: ourWorkerEnv(options, newSecrets(), {
      STAGING_DIR: stagingDir,
      API_TOKENS: token,
      API_HOST: '127.0.0.1',
    }),
  };
  const probes = ourProbes(ticketId('rb', 0));
  const api = await startApi(options, side);
  try {
    await submitAll(api.url, token, background, BACKGROUND_LANES);
    await runWorkerUntilDone(options, redis, side, BACKGROUND, 'background');
    const before = await keyFootprint(redis, ourKinds(), probes);

    await submitAll(api.url, token, bodies, 1);
    const queued = await redis.llen(`${bullPrefix(OUR_PREFIX)}:${TICKET_QUEUE}:wait`);
    if (queued !== tickets) throw new Error(`${queued} jobs waiting for ${tickets} tickets`);
    await api.process.stop('SIGTERM', 10_000);
    const waiting = await keyFootprint(redis, ourKinds(), probes);
    const stagedWaiting = await filesUnder(stagingDir);
    options.log(
      `  ${tickets} tickets waiting: ${perTicket(waiting, before, tickets)} Redis bytes and ` +
        `${Math.round(stagedWaiting.bytes / tickets)} staged bytes each`,
    );

    await runWorkerUntilDone(options, redis, side, BACKGROUND + tickets, 'measured');
    const finished = await keyFootprint(redis, ourKinds(), probes);
    const stagedFinished = await filesUnder(stagingDir);
    const passed = (
      await redis.zmscore(
        ticketStoreKeys(OUR_PREFIX).state('passed'),
        ...Array.from({ length: tickets }, (_, i) => ticketId('rb', i)),
      )
    ).filter((score) => score !== null).length;
    options.log(
      `  ${passed} passed: ${perTicket(finished, before, tickets)} Redis bytes each, ` +
        `${stagedFinished.files} staged files left`,
    );
    return {
      before,
      waiting,
      finished,
      stagedWaiting,
      stagedFinished,
      passed,
      photoBytes: photos.map((p) => p.length),
      requestBytes: Math.round(bodies.reduce((n, b) => n + Buffer.byteLength(b), 0) / tickets),
    };
  } finally {
    await api.process.stop('SIGTERM', 10_000);
  }
}

const perTicket = (after: KeyFootprint, before: KeyFootprint, n: number) =>
  Math.round(perItemGrowth(after, before, n).bytes);

async function startApi(
  options: BenchOptions,
  side: OurSide,
): Promise<{ process: ManagedProcess; url: string }> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const api = startTsxProcess(
    'redis-bytes-api',
    'testkit/api-process.ts',
    { ...side.env, API_PORT: String(port) },
    join(options.dir, 'redis-bytes-api.log'),
  );
  try {
    await waitUntil(
      'the API',
      async () => (await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(1000) })).ok,
      { timeoutMs: 60_000, everyMs: 200, abortIf: exitedReason(api) },
    );
  } catch (err) {
    await api.stop('SIGTERM', 10_000);
    throw err;
  }
  return { process: api, url };
}

/** POSTs every body, `lanes` at a time; anything but 202 (a new ticket) ends the benchmark. */
async function submitAll(
  apiUrl: string,
  token: string,
  bodies: readonly string[],
  lanes: number,
): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < bodies.length) await submit(apiUrl, token, bodies[next++] ?? '');
  };
  await Promise.all(Array.from({ length: lanes }, lane));
}

async function submit(apiUrl: string, token: string, body: string): Promise<void> {
  const res = await fetch(`${apiUrl}/v1/tickets`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body,
    signal: AbortSignal.timeout(30_000),
  });
  const answer = (await res.json().catch(() => ({}))) as { code?: unknown };
  if (res.status !== CREATED) {
    const code = typeof answer.code === 'string' ? answer.code : '';
    throw new Error(`POST /v1/tickets answered ${res.status} ${code}`.trim());
  }
}

/**
 * Runs one worker process until `count` jobs are completed or failed and the erasures are done
 * (every staged file gone, none left scheduled: the worker erases right after the transition),
 * then stops it, so that the footprint is read with the queue at rest.
 */
async function runWorkerUntilDone(
  options: BenchOptions,
  redis: Redis,
  side: OurSide,
  count: number,
  name: string,
): Promise<void> {
  const [worker] = startOurWorkers(options, side.env, 1, `redis-bytes-${name}`);
  if (worker === undefined) throw new Error('the worker did not start');
  try {
    await waitForFinished(redis, OUR_QUEUE, {
      count,
      timeoutMs: 120_000,
      children: [worker],
      log: options.log,
      everyMs: 100,
    });
    const eraseDue = ticketStoreKeys(OUR_PREFIX).eraseDue;
    await waitUntil(
      'the erasures',
      async () =>
        (await filesUnder(side.stagingDir)).files === 0 && (await redis.zcard(eraseDue)) === 0,
      { timeoutMs: 10_000, everyMs: 100, abortIf: exitedReason(worker) },
    ).catch((err: unknown) => options.log(`  ${(err as Error).message}`));
  } finally {
    await worker.stop('SIGTERM', 10_000);
  }
}

async function runRaw(options: BenchOptions, redis: Redis, jobs: number): Promise<Footprints> {
  await redis.flushall();
  const probes: FootprintProbes = {
    samples: { job: `${BARE_PREFIX}:${BARE_QUEUE_NAME}:${BACKGROUND + 1}` },
    eventStreams: [`${BARE_PREFIX}:${BARE_QUEUE_NAME}:events`],
  };
  await addRaw(redis, 'bg', BACKGROUND);
  await runBareUntilDone(options, redis, BARE_QUEUE, BACKGROUND, 'background');
  const before = await keyFootprint(redis, rawKinds(), probes);
  await addRaw(redis, 'rb', jobs);
  const waiting = await keyFootprint(redis, rawKinds(), probes);
  await runBareUntilDone(options, redis, BARE_QUEUE, BACKGROUND + jobs, 'measured');
  const finished = await keyFootprint(redis, rawKinds(), probes);
  options.log(
    `  raw BullMQ: ${perTicket(waiting, before, jobs)} bytes a waiting job, ` +
      `${perTicket(finished, before, jobs)} a completed one`,
  );
  return { before, waiting, finished };
}

/** `Queue.add` of `{ticketId}` jobs, completed jobs kept as the orchestrator keeps them. */
async function addRaw(redis: Redis, prefix: string, count: number): Promise<void> {
  const queue = new Queue(BARE_QUEUE_NAME, { connection: redis, prefix: BARE_PREFIX });
  try {
    for (let i = 0; i < count; i++) {
      await queue.add(
        'job',
        { ticketId: ticketId(prefix, i) },
        { removeOnComplete: { age: CONFIG_DEFAULTS.queue.keepCompletedSeconds } },
      );
    }
  } finally {
    await queue.close();
  }
}

async function runBareUntilDone(
  options: BenchOptions,
  redis: Redis,
  keys: QueueKeys,
  count: number,
  name: string,
): Promise<void> {
  const worker = startBareWorker(options, `redis-bytes-raw-${name}`, {
    mode: 'noop',
    concurrency: 50,
  });
  try {
    await waitForFinished(redis, keys, { count, timeoutMs: 60_000, children: [worker] });
  } finally {
    await worker.stop('SIGTERM', 10_000);
  }
}

function ourKinds(): KeyKinds {
  const p = literal(OUR_PREFIX);
  return [
    ['history', new RegExp(`^${p}:t:\\{.*\\}:h$`)],
    ['ticket', new RegExp(`^${p}:t:\\{.*\\}$`)],
    ['job', new RegExp(`^${literal(bullPrefix(OUR_PREFIX))}:${TICKET_QUEUE}:t-[^:]+$`)],
  ];
}

function rawKinds(): KeyKinds {
  return [['job', new RegExp(`^${literal(`${BARE_PREFIX}:${BARE_QUEUE_NAME}`)}:\\d+$`)]];
}

/** The first measured ticket's keys, and the queue's event stream. */
function ourProbes(id: string): FootprintProbes {
  const keys = ticketStoreKeys(OUR_PREFIX);
  const queue = `${bullPrefix(OUR_PREFIX)}:${TICKET_QUEUE}`;
  return {
    samples: {
      ticket: keys.ticket(id),
      history: keys.history(id),
      job: `${queue}:${jobIdOf(id)}`,
    },
    eventStreams: [`${queue}:events`],
  };
}

function growthDetail(after: KeyFootprint, before: KeyFootprint, items: number) {
  const growth = perItemGrowth(after, before, items);
  return {
    bytesPerTicket: Math.round(growth.bytes),
    keysPerTicket: growth.keys,
    bytesPerTicketByKind: growth.byKind,
    sharedKeysBytesPerTicket: growth.shared,
    // the first measured ticket's (job's) keys: encoding and the length of each field
    sampleKeys: after.samples,
    events: after.events,
    // what the whole database held, over the measured items (no background subtracted)
    totalBytesPerItem: Math.round(after.bytes / (items + BACKGROUND)),
  };
}

function bytesRow(
  at: 'waiting' | 'finished',
  ours: OursRun,
  raw: Footprints,
  tickets: number,
): BenchRow {
  const value = perItemGrowth(ours[at], ours.before, tickets).bytes;
  const baseline = perItemGrowth(raw.finished, raw.before, tickets).bytes;
  const ratio = ratioOf(value, baseline);
  return {
    id: `redis-bytes.${at}`,
    label:
      at === 'waiting'
        ? 'Redis bytes per ticket with three 1.5 MB base64 photos (POST /v1/tickets), waiting for a worker, vs a raw completed BullMQ job'
        : 'Redis bytes per such ticket after it passed (binding and staged photos erased) vs a raw completed BullMQ job',
    value: Math.round(value),
    baseline: Math.round(baseline),
    unit: 'bytes',
    ratio,
    goal: `ratio <= ${GOAL}`,
    met: ratio !== null && ratio <= GOAL && (at === 'waiting' || ours.passed === tickets),
    detail: {
      tickets,
      passed: ours.passed,
      backgroundTickets: BACKGROUND,
      photoBytes: ours.photoBytes,
      requestBodyBytes: ours.requestBytes,
      ours: growthDetail(ours[at], ours.before, tickets),
      rawCompleted: growthDetail(raw.finished, raw.before, tickets),
      rawWaiting: growthDetail(raw.waiting, raw.before, tickets),
      measured: `MEMORY USAGE (SAMPLES 0) of every key of the private Redis, read with no other client connected: what the measured items add to ${BACKGROUND} finished ones, / items; their own keys whole, shared keys at their average bytes per element times the elements added`,
      ourSide:
        'testkit/api-process.ts (no workers) with STAGING_DIR in the scratch directory; then one workers/ticket.worker.ts (concurrency 50, emulators at 0 ms); default JOB_KEEP_COMPLETED_SECONDS',
      raw: `Queue.add of {ticketId}, removeOnComplete {age: ${CONFIG_DEFAULTS.queue.keepCompletedSeconds}} (the orchestrator's default), completed by a bare no-op worker`,
    },
  };
}

function stagedRow(ours: OursRun, tickets: number): BenchRow {
  const left = ours.stagedFinished.bytes;
  return {
    id: 'redis-bytes.staged-disk',
    label:
      'staged bytes on disk (STAGING_DIR) per such ticket while waiting; ratio: bytes left once all finished',
    value: Math.round(ours.stagedWaiting.bytes / tickets),
    baseline: null,
    unit: 'bytes',
    ratio: left,
    goal: '0 left after finishing',
    met: left === 0 && ours.stagedFinished.files === 0,
    detail: {
      tickets,
      waiting: ours.stagedWaiting,
      finished: ours.stagedFinished,
      photoBytesPerTicket: ours.photoBytes.reduce((a, b) => a + b, 0),
      note: 'each staged object is the image as given, encrypted (a small envelope over its bytes)',
    },
  };
}
