/**
 * The two sides of the throughput benchmarks as processes: our worker (`workers/ticket.worker.ts`,
 * configured through its environment as in production) fed by our producer library, and the bare
 * BullMQ worker (`bare-worker.ts`) fed by `addBulk`. Every worker is a fresh child process.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { RedisClient } from '../../src/adapters/redis/connection.js';
import { startProcess, type ManagedProcess } from '../../testkit/processes.js';
import { createTicketProducer, type TicketProducer } from '../../src/index.js';
import type { TicketRequest } from '../../src/flow/ticket-request.js';
import { TICKET_QUEUE, bullPrefix } from '../../src/adapters/bullmq/queues.js';
import type { BenchOptions } from '../types.js';
import { BENCH_BIZ, type BareJobData } from './bench-tickets.js';
import { queueKeys, type QueueKeys } from './queue-progress.js';

/** Our store prefix in every benchmark. */
export const OUR_PREFIX = 'bench';
/** Our queue's keys. */
export const OUR_QUEUE: QueueKeys = queueKeys(bullPrefix(OUR_PREFIX), TICKET_QUEUE);
/** The bare worker's queue. */
export const BARE_PREFIX = 'bare';
export const BARE_QUEUE_NAME = 'jobs';
export const BARE_QUEUE: QueueKeys = queueKeys(BARE_PREFIX, BARE_QUEUE_NAME);

/** Secrets of one benchmark's orchestrator (generated, never printed). */
export interface OurSecrets {
  encryptionKey: string;
  webhookSecret: string;
}

export function newSecrets(): OurSecrets {
  return {
    encryptionKey: randomBytes(32).toString('base64'),
    webhookSecret: randomBytes(24).toString('hex'),
  };
}

/**
 * Our worker's environment: the emulators, the run's Redis, no QPS limit unless overridden; log
 * level `warn` (`BENCH_WORKER_LOG_LEVEL` overrides it, to diagnose with `--keep`).
 */
export function ourWorkerEnv(
  options: BenchOptions,
  secrets: OurSecrets,
  overrides: Readonly<Record<string, string>> = {},
): Record<string, string> {
  return {
    // the Cloudauth endpoint is the emulator's: embedded mode, asked for (an endpoint alone
    // would select production)
    ORCHESTRATOR_MODE: 'embedded',
    LOG_LEVEL: process.env.BENCH_WORKER_LOG_LEVEL ?? 'warn',
    REDIS_URL: options.redisUrl,
    REDIS_PREFIX: OUR_PREFIX,
    ENCRYPTION_KEY: secrets.encryptionKey,
    WEBHOOK_SECRET: secrets.webhookSecret,
    CLOUDAUTH_ENDPOINT: options.emulatorUrl,
    CLOUDAUTH_ACCESS_KEY_ID: options.accessKeyId,
    CLOUDAUTH_ACCESS_KEY_SECRET: options.accessKeySecret,
    CLOUDAUTH_BIZ: `${BENCH_BIZ}=RPMin`,
    CLOUDAUTH_QPS: '*=0',
    WORKER_CONCURRENCY: '50',
    POLL_INITIAL_MS: '50',
    POLL_MAX_MS: '500',
    SHUTDOWN_TIMEOUT_MS: '5000',
    // no reconcile sweep inside the measured window (in production one runs at start and then
    // every 300 s; over a backlog it reads every unfinished ticket once)
    RECONCILE_INTERVAL_SECONDS: '0',
    ...overrides,
  };
}

/**
 * A `node --import tsx <entry>` child; with `BENCH_CPU_PROF_DIR` set (`npm run bench -- --profile
 * <dir>`), node writes `.cpuprofile`s of the child into `<dir>/<name>/` when it exits.
 */
function startTsxChild(
  name: string,
  entry: string,
  env: Readonly<Record<string, string>>,
  logFile: string,
): ManagedProcess {
  const profileDir = process.env.BENCH_CPU_PROF_DIR;
  // One directory per child: tsx's loader thread writes a profile of its own next to the main one.
  const profile = profileDir ? ['--cpu-prof', '--cpu-prof-dir', join(profileDir, name)] : [];
  return startProcess({
    name,
    command: process.execPath,
    args: [...profile, '--import', 'tsx', entry],
    env,
    logFile,
  });
}

/** Starts `count` of our worker processes. */
export function startOurWorkers(
  options: BenchOptions,
  env: Readonly<Record<string, string>>,
  count: number,
  name: string,
): ManagedProcess[] {
  return Array.from({ length: count }, (_, i) =>
    startTsxChild(
      `${name}-${i}`,
      'workers/ticket.worker.ts',
      // several workers on one host: each serves its probes on a free port
      { WORKER_OPS_PORT: '0', ...env },
      join(options.dir, `${name}-${i}.log`),
    ),
  );
}

/** Starts one bare worker process. */
export function startBareWorker(
  options: BenchOptions,
  name: string,
  settings: { mode: 'calls' | 'sleep' | 'noop'; concurrency: number; sleepMs?: number },
): ManagedProcess {
  return startTsxChild(
    name,
    'bench/lib/bare-worker.ts',
    {
      BENCH_REDIS_URL: options.redisUrl,
      BENCH_QUEUE: BARE_QUEUE_NAME,
      BENCH_PREFIX: BARE_PREFIX,
      BENCH_CONCURRENCY: String(settings.concurrency),
      BENCH_MODE: settings.mode,
      BENCH_SLEEP_MS: String(settings.sleepMs ?? 0),
      CLOUDAUTH_ENDPOINT: options.emulatorUrl,
      CLOUDAUTH_ACCESS_KEY_ID: options.accessKeyId,
      CLOUDAUTH_ACCESS_KEY_SECRET: options.accessKeySecret,
    },
    join(options.dir, `${name}.log`),
  );
}

/**
 * Our producer library on a benchmark's Redis (one node or a Cluster), with the benchmark's key.
 * `waitReplicas` unset: the library's default, which waits for a replica (`WAIT`) on a Cluster, as
 * the orchestrator's intake does by default (REDIS_WAIT_REPLICAS).
 */
export function ourProducer(
  redis: RedisClient,
  secrets: OurSecrets,
  waitReplicas?: number,
): TicketProducer {
  return createTicketProducer({
    redis,
    prefix: OUR_PREFIX,
    encryptionKey: secrets.encryptionKey,
    biz: { [BENCH_BIZ]: 'RPMin' },
    ...(waitReplicas === undefined ? {} : { waitReplicas }),
  });
}

/** Enqueues through `producer` in chunks; every ticket must be new. */
export async function enqueueAll(
  producer: TicketProducer,
  requests: readonly TicketRequest[],
  chunk = 500,
): Promise<void> {
  for (let i = 0; i < requests.length; i += chunk) {
    const results = await producer.enqueueMany(requests.slice(i, i + chunk));
    const refused = results.filter((r) => !r.created).length;
    if (refused > 0) throw new Error(`${refused} tickets were not created`);
  }
}

/**
 * Enqueues through our producer library (checks, encryption, store, one job per ticket);
 * `waitReplicas` as {@link ourProducer} takes it.
 */
export async function produceOurs(
  redis: RedisClient,
  secrets: OurSecrets,
  requests: readonly TicketRequest[],
  waitReplicas?: number,
): Promise<void> {
  const producer = ourProducer(redis, secrets, waitReplicas);
  try {
    await enqueueAll(producer, requests);
  } finally {
    await producer.close();
  }
}

/** The bare worker's job for a ticket request: the same fields, image bytes in the payload. */
export function bareJobOf(request: TicketRequest): BareJobData {
  const b = request.Binding ?? {};
  return {
    ticketId: request.TicketId,
    biz: request.Biz,
    name: b.Name ?? '',
    idNumber: b.IdentificationNumber ?? '',
    face: b.FacePic ?? '',
  };
}

/** Adds one job per payload with `addBulk`, in chunks. */
export async function addBulk<T>(
  redis: Redis,
  prefix: string,
  queueName: string,
  payloads: readonly T[],
  opts: { removeOnComplete?: number | boolean } = {},
  chunk = 1000,
): Promise<void> {
  const queue = new Queue(queueName, { connection: redis, prefix });
  try {
    for (let i = 0; i < payloads.length; i += chunk) {
      await queue.addBulk(
        payloads.slice(i, i + chunk).map((data) => ({ name: 'job', data, opts })),
      );
    }
  } finally {
    await queue.close();
  }
}
