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
 */
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import type { ManagedProcess } from '../chaos/processes.js';
import { TICKET_QUEUE, bullPrefix, type TicketJobData } from '../src/queue/queues.js';
import { TicketIntake, type TicketInput } from '../src/queue/ticket-intake.js';
import { FieldCipher, parseKey } from '../src/store/crypto.js';
import { RedisTicketStore } from '../src/store/ticket-store.js';
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
    return [rssRow(run)];
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
    await storeBombs(redis, secrets, bomb);
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

async function storeBombs(redis: Redis, secrets: OurSecrets, bomb: Buffer): Promise<void> {
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
    });
    const base64 = bomb.toString('base64');
    const inputs: TicketInput[] = Array.from({ length: TICKETS }, (_, i) => ({
      ticketId: `bomb-${i}`,
      biz: BENCH_BIZ,
      binding: {
        name: '张伟',
        idNumber: '11010519491231002X',
        materials: { FacePic: { kind: 'bytes', base64 } },
      },
    }));
    const results = await intake.enqueueMany(inputs);
    if (results.some((r) => !r.created)) throw new Error('a bomb ticket was not created');
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
        'one worker process, WORKER_CONCURRENCY=50, IMAGE_MAX_PIXELS and IMAGE_DECODE_CONCURRENCY at their defaults (25 MP, 2); bombs stored past the intake',
    },
  };
}
