/**
 * The producer library, for business systems that share the orchestrator's Redis:
 *
 * ```ts
 * import { createTicketProducer } from 'cloudauth-orchestrator';
 * const producer = createTicketProducer({ redis, encryptionKey: process.env.ENCRYPTION_KEY, biz: { kyc: 'RPMin' } });
 * await producer.enqueue({ TicketId: 'order-1391012388', Biz: 'kyc', Binding: { Name, IdentificationNumber, FacePic } });
 * ```
 * Requests are checked as the HTTP API checks them (no local paths), images given as bytes are
 * staged (encrypted) in the orchestrator's staging store (option `staging`), personal data is
 * encrypted with the orchestrator's key before it reaches Redis, and the job carries the TicketId
 * only.
 *
 * When Redis is out of memory (`maxmemory` under `noeviction`) `enqueue` and `enqueueMany` throw a
 * `StoreFullError` (code `STORE_FULL`, `retryable`, `retryAfterMs`) and keep nothing new of the
 * call (a ticket of an `enqueueMany` whose job was added before the refusal stays, and a repeat
 * answers it as known): send the same call again later.
 */
import { Queue } from 'bullmq';
import {
  ReplicaWait,
  defaultWaitReplicasOf,
  type RedisClient,
} from '../adapters/redis/connection.js';
import { CONFIG_DEFAULTS } from '../config.js';
import type { BizCatalogue } from '../domain/biz.js';
import type { ImageLimits } from '../adapters/oss/image-header.js';
import {
  TICKET_QUEUE,
  bullPrefix,
  type TicketJobData,
  type TicketJobSettings,
} from '../adapters/bullmq/queues.js';
import { TicketIntake, type EnqueueResult } from './ticket-intake.js';
import { FieldCipher, parseKey } from '../adapters/redis/crypto.js';
import { RedisTicketStore } from '../adapters/redis/ticket-store.js';
import { parseTicketRequest, type TicketRequest } from './ticket-request.js';
import { DirectoryStagingStore } from '../adapters/staging/directory-staging-store.js';
import {
  OssStagingStore,
  type OssStagingStoreOptions,
} from '../adapters/staging/oss-staging-store.js';
import type { MaterialStagingStore } from '../adapters/staging/staging-store.js';
import type { CallbackPolicy } from '../webhooks/allowlist.js';

export interface TicketProducerOptions {
  /** A connection to the orchestrator's Redis; the producer does not close it. */
  redis: RedisClient;
  /** The orchestrator's REDIS_PREFIX. Default its default, `ca`. */
  prefix?: string;
  /** The orchestrator's ENCRYPTION_KEY (base64 of 32 bytes). */
  encryptionKey: string;
  /** Biz → scheme, as in the orchestrator's CLOUDAUTH_BIZ. */
  biz: BizCatalogue;
  /**
   * Job settings, as the orchestrator's JOB_ATTEMPTS (default 8). How long finished jobs are kept
   * is the workers' JOB_KEEP_COMPLETED_SECONDS and JOB_KEEP_FAILED_SECONDS: a job carries no
   * retention of its own, so `keepCompletedSeconds` and `keepFailedSeconds` here have no effect.
   */
  jobs?: Partial<TicketJobSettings>;
  /**
   * Finished tickets are kept this long, in seconds, as the orchestrator's
   * TICKET_RETENTION_SECONDS. Default its default, 30 days.
   */
  retentionSeconds?: number;
  /**
   * Pixel limits of images given as bytes, checked from their headers before anything is stored;
   * set them as the orchestrator's IMAGE_MAX_PIXELS and IMAGE_MAX_SIDE_PX. Default theirs
   * (25,000,000 px, 16,384 px on the longer side).
   */
  imageLimits?: ImageLimits;
  /**
   * Which callback URLs are refused before anything is stored, as the orchestrator's
   * WEBHOOK_ALLOWED_HOSTS and mode set it (`httpsOnly` in production). Checked without DNS: the
   * scheme, credentials and an IP literal's range (a name is resolved and vetted at delivery).
   * Default: no allowed hosts, http allowed.
   */
  callbackPolicy?: CallbackPolicy;
  /**
   * Where images given as bytes are staged (encrypted with `encryptionKey`) for the workers, as
   * the orchestrator's `STAGING_BACKEND` says: `{ dir }`, the directory its workers read
   * (`STAGING_DIR`), or `{ oss: { endpoint, bucket, prefix, accessKeyId, accessKeySecret } }`, its
   * bucket (`STAGING_OSS_*`). Default: the orchestrator's default directory, `data/staging` under
   * the working directory (right beside an orchestrator on its defaults). Redis never holds the
   * bytes.
   */
  staging?: ProducerStaging;
  /**
   * Replicas that must acknowledge (Redis `WAIT`) a call's tickets before it resolves, as the
   * orchestrator's REDIS_WAIT_REPLICAS: then a failover right after the call loses none of them (a
   * job it loses, the workers' reconciler gives back). Default 1 when `redis` is a Cluster or a Sentinel client, else 0. When fewer acknowledge
   * in time, the call rejects with StoreUnavailableError; the tickets stand, and enqueueing the same
   * TicketIds again is safe.
   */
  waitReplicas?: number;
  /** How long a call waits for them, in ms, as REDIS_WAIT_TIMEOUT_MS. Default 1000. */
  waitTimeoutMs?: number;
}

/** Where a producer stages images: see {@link TicketProducerOptions.staging}. */
export type ProducerStaging = { dir: string } | { oss: Omit<OssStagingStoreOptions, 'key'> };

function producerStagingStore(
  staging: ProducerStaging | undefined,
  key: Uint8Array,
): MaterialStagingStore {
  if (staging !== undefined && 'oss' in staging)
    return new OssStagingStore({ ...staging.oss, key });
  return new DirectoryStagingStore({ dir: staging?.dir ?? CONFIG_DEFAULTS.staging.dir, key });
}

export interface TicketProducer {
  /**
   * Accepts one ticket. Throws TicketRejectedError naming every bad field, and StoreFullError
   * when Redis is out of memory (nothing was kept).
   */
  enqueue(request: TicketRequest, options?: { batchId?: string }): Promise<EnqueueResult>;
  /** Accepts many; all are checked before any is stored. Throws as {@link enqueue} does. */
  enqueueMany(
    requests: readonly TicketRequest[],
    options?: { batchId?: string },
  ): Promise<EnqueueResult[]>;
  close(): Promise<void>;
}

/** What a producer's options leave out, filled in. */
export interface ProducerSettings {
  prefix: string;
  retentionSeconds: number;
  jobs: TicketJobSettings;
  imageLimits: ImageLimits;
  callbackPolicy: CallbackPolicy;
}

/**
 * The settings a producer runs with: `options`, and for what they leave out the orchestrator's
 * own defaults ({@link CONFIG_DEFAULTS}), so that a producer and an orchestrator run with no
 * configuration agree.
 */
export function producerSettings(
  options: Pick<
    TicketProducerOptions,
    'prefix' | 'retentionSeconds' | 'jobs' | 'imageLimits' | 'callbackPolicy'
  >,
): ProducerSettings {
  const { redisPrefix, store, queue, images, webhooks } = CONFIG_DEFAULTS;
  return {
    prefix: options.prefix ?? redisPrefix,
    retentionSeconds: options.retentionSeconds ?? store.retentionSeconds,
    jobs: {
      attempts: options.jobs?.attempts ?? queue.attempts,
      keepCompletedSeconds: options.jobs?.keepCompletedSeconds ?? queue.keepCompletedSeconds,
      keepFailedSeconds: options.jobs?.keepFailedSeconds ?? queue.keepFailedSeconds,
    },
    imageLimits: options.imageLimits ?? {
      maxPixels: images.maxPixels,
      maxSidePx: images.maxSidePx,
    },
    callbackPolicy: options.callbackPolicy ?? { allowedHosts: webhooks.allowedHosts },
  };
}

export function createTicketProducer(options: TicketProducerOptions): TicketProducer {
  const settings = producerSettings(options);
  const { prefix } = settings;
  const key = parseKey(options.encryptionKey, 'encryptionKey');
  const cipher = new FieldCipher(key);
  const staging = producerStagingStore(options.staging, key);
  const replicaWait = new ReplicaWait(
    options.waitReplicas ?? defaultWaitReplicasOf(options.redis),
    options.waitTimeoutMs ?? CONFIG_DEFAULTS.redis.waitTimeoutMs,
  );
  const store = new RedisTicketStore({
    redis: options.redis,
    prefix,
    cipher,
    retentionSeconds: settings.retentionSeconds,
    replicaWait,
  });
  const queue = new Queue<TicketJobData>(TICKET_QUEUE, {
    connection: options.redis,
    prefix: bullPrefix(prefix),
  });
  const intake = new TicketIntake({
    store,
    queue,
    biz: options.biz,
    jobs: settings.jobs,
    fingerprint: (text) => cipher.fingerprint(text),
    staging,
    imageLimits: settings.imageLimits,
  });
  const parse = (r: TicketRequest, batchId: string | undefined, i?: number) =>
    parseTicketRequest(r, {
      biz: options.biz,
      ...(batchId === undefined ? {} : { batchId }),
      ...(i === undefined ? {} : { fieldPrefix: `[${i}].` }),
      imageLimits: settings.imageLimits,
      callbackPolicy: settings.callbackPolicy,
    });
  return {
    enqueue: async (request, o = {}) => intake.enqueue(parse(request, o.batchId)),
    enqueueMany: async (requests, o = {}) =>
      intake.enqueueMany(requests.map((r, i) => parse(r, o.batchId, i))),
    close: () => queue.close(),
  };
}
