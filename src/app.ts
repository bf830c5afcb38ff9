/**
 * The composition root: builds the parts from the configuration and releases them in reverse
 * order. Without a Cloudauth endpoint (embedded mode) it either starts the emulators in process
 * (`npm start`) or signs with the demo key against the emulators' configured address (a separate
 * worker process next to `npm start` or `npm run emulator`).
 */
import { Queue } from 'bullmq';
import { CloudauthClient } from './adapters/cloudauth/client.js';
import { Cloudauth2018Provider } from './adapters/cloudauth/provider-2018.js';
import { Cloudauth2019Client } from './adapters/cloudauth/client-2019.js';
import { CloudauthFinancialProvider } from './adapters/cloudauth/provider-financial.js';
import { RoutingProvider } from './adapters/cloudauth/routing-provider.js';
import { StartLinks } from './flow/start-links.js';
import type { VerificationProvider } from './flow/provider.js';
import { familyOf } from './domain/biz.js';
import type { Config } from './config.js';
import { configWarnings } from './config-checks.js';
import { ConfigError } from './errors.js';
import type { Logger } from './logger.js';
import type { Emulators } from './emulator/start.js';
import { loadOrCreateApiToken, startHttpApi } from './api/index.js';
import {
  WEBHOOK_QUEUE,
  callbackPolicyOf,
  checkCallbackUrl,
  WebhookPublisher,
  loadWebhookSigning,
  startWebhookWorker,
  webhookEventOf,
  type RunningWebhookWorker,
  type WebhookJobData,
} from './webhooks/index.js';
import { HealthCheck } from './ops/health.js';
import { releaseInReverse } from './process.js';
import { Telemetry } from './ops/metrics.js';
import type { Tracing } from './ops/tracing.js';
import { createImageDecoding } from './adapters/oss/decode-limit.js';
import { OssMaterialUploader } from './adapters/oss/uploader.js';
import { TICKET_QUEUE, bullPrefix, type TicketJobData } from './adapters/bullmq/queues.js';
import {
  ReplicaWait,
  connectRedis,
  defaultWaitReplicas,
  redisTopologyOf,
  type RedisClient,
} from './adapters/redis/connection.js';
import { ProviderRateLimiter } from './adapters/redis/rate-limiter.js';
import { TicketIntake } from './flow/ticket-intake.js';
import { PersonalDataEraser } from './flow/personal-data.js';
import { TicketLifecycle } from './flow/ticket-lifecycle.js';
import { TicketOperations } from './flow/ticket-operations.js';
import { STALLED_OUT, TicketReconciler } from './flow/ticket-reconciler.js';
import { makeTicketProcessor } from './flow/ticket-processor.js';
import { startTicketWorker, type RunningWorker } from './adapters/bullmq/ticket-worker.js';
import { FieldCipher, loadOrCreateKey } from './adapters/redis/crypto.js';
import {
  durabilityWarning,
  readPersistence,
  readRedisVersion,
  redisVersionProblem,
} from './adapters/redis/durability.js';
import { RedisTicketStore } from './adapters/redis/ticket-store.js';
import { stagingStoreOf } from './adapters/staging/staging-config.js';
import type { MaterialStagingStore } from './adapters/staging/staging-store.js';

export interface AppOptions {
  /** Start the emulators in this process when no Cloudauth endpoint is configured. */
  embedEmulators: boolean;
  /** Run ticket workers in this process. */
  workers: boolean;
  /** Serve the HTTP API in this process. */
  http?: boolean;
  /** This process's metrics, when the caller serves them before the app is up. Default: a new one. */
  telemetry?: Telemetry;
  /**
   * This process's tracing (`startTracing`): its BullMQ telemetry goes to every queue and worker
   * built here. Default off.
   */
  tracing?: Tracing | undefined;
}

export interface App {
  config: Config;
  /** The start links of financial ID_PRO tickets (on the API's public URL). */
  links: StartLinks;
  /** The Cloudauth client, when workers run in this process. */
  cloudauth: CloudauthClient | undefined;
  uploader: OssMaterialUploader;
  /** Present when the emulators run in this process. */
  emulators: Emulators | undefined;
  redis: RedisClient;
  store: RedisTicketStore;
  /** Where photo bytes wait for the workers (`STAGING_BACKEND`). */
  staging: MaterialStagingStore;
  queue: Queue<TicketJobData>;
  webhookQueue: Queue<WebhookJobData>;
  intake: TicketIntake;
  operations: TicketOperations;
  lifecycle: TicketLifecycle;
  limiter: ProviderRateLimiter;
  worker: RunningWorker | undefined;
  /** The `webhooks` worker, when workers run in this process. */
  webhookWorker: RunningWebhookWorker | undefined;
  /** This process's metrics (`GET /metrics`). */
  telemetry: Telemetry;
  /** This process's readiness (`GET /readyz`). */
  health: HealthCheck;
  /** The HTTP API's URL, when it runs in this process. */
  apiUrl: string | undefined;
  /** Where embedded mode keeps its generated API token (undefined: API_TOKENS is set). */
  apiTokenFile: string | undefined;
  close(): Promise<void>;
}

/** Alibaba's MetaInfo script (spec `cloudauth-2019.md` §2). */
export const ALIBABA_FACE_SCRIPT_URL =
  'https://o.alicdn.com/yd-cloudauth/cloudauth-cdn/jsvm_all.js';

/**
 * The MetaInfo script the start page loads: `FACE_VERIFY_SCRIPT_URL`; unset, Alibaba's in
 * production and the Cloudauth emulator's stand-in in embedded mode (never anything from elsewhere).
 */
function faceScriptUrlOf(config: Config, emulators: Emulators | undefined): string {
  if (config.api.faceScriptUrl !== undefined) return config.api.faceScriptUrl;
  if (config.mode !== 'embedded') return ALIBABA_FACE_SCRIPT_URL;
  const e = config.emulator;
  const base =
    e.publicUrl ??
    emulators?.cloudauth.url ??
    config.cloudauth.endpoint ??
    `http://${e.host}:${e.cloudauthPort}`;
  return `${base.replace(/\/+$/, '')}/face-verify/jsvm_all.js`;
}

export async function startApp(config: Config, logger: Logger, options: AppOptions): Promise<App> {
  const releasers: (() => Promise<unknown> | void)[] = [];
  let closing: Promise<void> | undefined;
  const close = () => (closing ??= releaseInReverse(releasers));
  try {
    for (const warning of configWarnings(config)) logger.warn(warning);
    const telemetry = options.telemetry ?? new Telemetry({ logger });
    // BullMQ's own tracing (undefined when off: BullMQ then traces nothing, jobs carry no context)
    const queueTelemetry = options.tracing?.queueTelemetry;
    const traced = queueTelemetry === undefined ? {} : { telemetry: queueTelemetry };
    let emulators: Emulators | undefined;
    let cloudauth: CloudauthClient | undefined;
    let cloudauth2019: Cloudauth2019Client | undefined;
    const financial = Object.values(config.cloudauth.biz).some((p) => familyOf(p) === 'financial');
    if (options.workers) {
      let endpoint = config.cloudauth.endpoint;
      let accessKeyId = config.cloudauth.accessKeyId;
      let accessKeySecret = config.cloudauth.accessKeySecret;
      if (endpoint === undefined) {
        // loadConfig allows no endpoint only in embedded mode, and never with credentials set
        const [demo] = Object.entries(config.emulator.accessKeys);
        if (!demo) throw new ConfigError('EMULATOR_ACCESS_KEYS has no key pair');
        if (options.embedEmulators) {
          // loaded here only: processes that talk to a real endpoint never load the emulators
          const { startConfiguredEmulators } = await import('./emulator/start.js');
          const started = await startConfiguredEmulators(config, logger);
          emulators = started;
          releasers.push(() => started.close());
          endpoint = started.cloudauth.url;
        } else {
          endpoint = `http://${config.emulator.host}:${config.emulator.cloudauthPort}`;
          logger.info(
            { endpoint },
            'no CLOUDAUTH_ENDPOINT: using the emulator at its configured address',
          );
        }
        [accessKeyId, accessKeySecret] = demo;
      }
      // one endpoint and key pair for both API families: the same POP gateway serves API
      // 2019-03-07 (spec cloudauth-2019.md §10)
      const clientDeps = {
        endpoint,
        accessKeyId: accessKeyId ?? '',
        accessKeySecret: accessKeySecret ?? '',
        securityToken: config.cloudauth.securityToken,
        timeoutMs: config.cloudauth.timeoutMs,
        logger,
        telemetry,
      };
      const client = new CloudauthClient(clientDeps);
      cloudauth = client;
      releasers.push(() => client.close());
      if (financial) cloudauth2019 = new Cloudauth2019Client(clientDeps);
    }
    const uploader = new OssMaterialUploader({
      timeoutMs: config.oss.timeoutMs,
      signatureVersion: config.oss.signatureVersion,
      region: config.oss.region,
      logger,
      telemetry,
    });

    // one factory builds every connection for the configured topology (one node, Sentinel,
    // Cluster); its module says how each role's connection behaves through an outage or failover
    const topology = redisTopologyOf(config);
    const replicaWait = new ReplicaWait(
      config.redis.waitReplicas ?? defaultWaitReplicas(topology),
      config.redis.waitTimeoutMs,
    );
    // BullMQ gets a connection of its own: it defines some fifty scripts on the connection it is
    // given, and ioredis copies every script of a connection into each pipeline built on it, so
    // the store's per-ticket index pipelines would pay for BullMQ's scripts.
    // The store's connection auto-pipelines (ioredis's enableAutoPipelining): the commands of
    // concurrent jobs issued in one tick leave in one write, which took the worker's CPU per ticket
    // from 2.0x to 1.85x the bare worker's and throughput from 0.57 to 0.72 of it (bench
    // `overhead`). ioredis 6.0.0 breaks a custom command called while an auto-pipeline begun before
    // its defineCommand is pending (redis/ioredis#1931, fixed after 6.0.0): the store and the
    // limiter define their scripts when they are built, before the first command on it is sent.
    // The queues' connection does not auto-pipeline: BullMQ defines its scripts there when it
    // connects, and each auto-pipeline would copy its fifty scripts.
    const redis = connectRedis(topology, 'commands', logger);
    releasers.push(() => redis.quit());
    const queueConnection = connectRedis(topology, 'queue', logger);
    releasers.push(() => queueConnection.quit());
    const key = loadOrCreateKey(config);
    const cipher = new FieldCipher(key);
    // the API's public URL: known once it listens when neither API_PUBLIC_URL nor a port is set
    let apiUrl: string | undefined;
    const links = new StartLinks(
      key,
      () => config.api.publicUrl ?? apiUrl ?? `http://${config.api.host}:${config.api.port}`,
    );
    const staging = stagingStoreOf(config, key);
    const store = new RedisTicketStore({
      redis,
      prefix: config.redisPrefix,
      cipher,
      retentionSeconds: config.store.retentionSeconds,
      logger,
      replicaWait,
    });
    const queue = new Queue<TicketJobData>(TICKET_QUEUE, {
      connection: queueConnection,
      prefix: bullPrefix(config.redisPrefix),
      ...traced,
    });
    queue.on('error', (err) => logger.warn({ err: { message: err.message } }, 'queue error'));
    releasers.push(() => queue.close());
    const jobs = {
      attempts: config.queue.attempts,
      keepCompletedSeconds: config.queue.keepCompletedSeconds,
      keepFailedSeconds: config.queue.keepFailedSeconds,
    };
    const intake = new TicketIntake({
      store,
      queue,
      biz: config.cloudauth.biz,
      jobs,
      fingerprint: (text) => cipher.fingerprint(text),
      staging,
      imageLimits: { maxPixels: config.images.maxPixels, maxSidePx: config.images.maxSidePx },
      startLinkMs: config.api.startLinkMs,
    });
    const webhookQueue = new Queue<WebhookJobData>(WEBHOOK_QUEUE, {
      connection: queueConnection,
      prefix: bullPrefix(config.redisPrefix),
      ...traced,
    });
    webhookQueue.on('error', (err) =>
      logger.warn({ err: { message: err.message } }, 'queue error'),
    );
    releasers.push(() => webhookQueue.close());
    const publisher = new WebhookPublisher({
      queue: webhookQueue,
      attempts: config.webhooks.attempts,
      cipher,
      logger,
      ...(config.webhooks.defaultUrl === undefined
        ? {}
        : { defaultUrl: config.webhooks.defaultUrl }),
    });
    telemetry.observe({ store, queues: { [TICKET_QUEUE]: queue, [WEBHOOK_QUEUE]: webhookQueue } });
    const personalData = new PersonalDataEraser({
      store,
      staging,
      logger,
      retentionMs: config.staging.materialRetentionSeconds * 1000,
      orphanGraceMs: config.staging.orphanGraceSeconds * 1000,
    });
    const lifecycle = new TicketLifecycle({
      store,
      logger,
      telemetry,
      personalData,
      publish: async (t) => {
        const event = webhookEventOf(t, undefined, links);
        if (event) await publisher.publish(event, t.callbackUrl);
      },
    });
    const operations = new TicketOperations({
      store,
      queue,
      lifecycle,
      jobs,
      personalData,
      startLinkMs: config.api.startLinkMs,
    });
    const limiter = new ProviderRateLimiter({
      redis,
      prefix: config.redisPrefix,
      qps: config.queue.qps,
      headroom: config.queue.qpsHeadroom,
    });
    // the first commands on `redis`, once the store and the limiter have defined their scripts
    void readPersistence(redis).then((settings) => {
      const warning = durabilityWarning(settings);
      if (warning !== undefined) logger.warn({ redis: settings ?? 'unknown' }, warning);
    });
    void readRedisVersion(redis).then((version) => {
      const problem = redisVersionProblem(version);
      if (problem !== undefined) logger.error({ redisVersion: version }, problem);
    });

    let worker: RunningWorker | undefined;
    let webhookWorker: RunningWebhookWorker | undefined;
    if (options.workers && cloudauth) {
      const connection = connectRedis(topology, 'worker', logger);
      releasers.push(() => connection.quit());
      const q = config.queue;
      const images = createImageDecoding({
        maxPixels: config.images.maxPixels,
        maxSidePx: config.images.maxSidePx,
        budgetPixels: config.images.decodeBudgetPixels,
      });
      const providers: Record<string, VerificationProvider> = {
        legacy: new Cloudauth2018Provider(cloudauth, uploader),
      };
      if (cloudauth2019 !== undefined) {
        providers.financial = new CloudauthFinancialProvider({
          client: cloudauth2019,
          catalogue: config.cloudauth.biz,
          links,
          images,
        });
      }
      const running = startTicketWorker({
        connection,
        prefix: config.redisPrefix,
        processor: makeTicketProcessor({
          store,
          lifecycle,
          provider: new RoutingProvider(providers),
          staging,
          // embedded mode talks to an emulator: its verdicts are marked so everywhere they show
          emulated: config.mode === 'embedded',
          limiter,
          logger,
          telemetry,
          images,
          settings: {
            leaseMarginMs: q.leaseMarginMs,
            pollInitialMs: q.pollInitialMs,
            pollMaxMs: q.pollMaxMs,
            pollFactor: q.pollFactor,
            maxRenewalsPerRun: 3,
            // a paid call ends within its client's timeout; 2 s more for the answer's way back
            submitInFlightMs: config.cloudauth.timeoutMs + 2000,
            resubmitUnknown: config.cloudauth.unknownSubmission === 'resubmit',
          },
        }),
        concurrency: q.concurrency,
        lockDurationMs: q.lockDurationMs,
        stalledIntervalMs: q.stalledIntervalMs,
        backoff: { baseMs: q.backoffBaseMs, capMs: q.backoffCapMs },
        logger,
        rerun: { store, queue, jobs },
        keep: { completedSeconds: q.keepCompletedSeconds, failedSeconds: q.keepFailedSeconds },
        queueTelemetry,
      });
      worker = running;
      releasers.push(() => running.close(q.shutdownTimeoutMs));
      const reconciler = new TicketReconciler({
        store,
        lifecycle,
        queue,
        redis,
        prefix: config.redisPrefix,
        jobs,
        logger,
        scanKeysPerRound: q.reconcileScanKeys,
      });
      running.worker.on('failed', (job, err) => {
        // a job that stalled more than the limit never reached the processor: fail its ticket now
        if (job && STALLED_OUT.test(err.message)) {
          reconciler
            .reconcile(job.data.ticketId)
            .catch((e: unknown) =>
              logger.warn(
                { ticketId: job.data.ticketId, err: { message: (e as Error).message } },
                'could not reconcile a stalled-out job; the next sweep will',
              ),
            );
        }
      });
      if (q.reconcileIntervalSeconds > 0) {
        reconciler.start(q.reconcileIntervalSeconds * 1000);
        releasers.push(() => reconciler.stop());
      }
      const sweepSeconds = config.staging.sweepIntervalSeconds;
      if (sweepSeconds > 0) {
        releasers.push(personalData.start(redis, config.redisPrefix, sweepSeconds * 1000));
      }
      const webhooks = startWebhookWorker({
        connection,
        prefix: config.redisPrefix,
        ...loadWebhookSigning(config),
        cipher,
        policy: callbackPolicyOf(config),
        timeoutMs: config.webhooks.timeoutMs,
        concurrency: config.webhooks.concurrency,
        backoff: { baseMs: q.backoffBaseMs, capMs: q.backoffCapMs },
        logger,
        telemetry,
        queueTelemetry,
      });
      webhookWorker = webhooks;
      releasers.push(() => webhooks.close(q.shutdownTimeoutMs));
    }
    const health = new HealthCheck({
      redis,
      workers: { [TICKET_QUEUE]: worker?.worker, [WEBHOOK_QUEUE]: webhookWorker?.worker },
    });
    let apiTokenFile: string | undefined;
    if (options.http) {
      const { tokens, file } = loadOrCreateApiToken(config);
      apiTokenFile = file;
      const api = await startHttpApi({
        intake,
        operations,
        store,
        biz: config.cloudauth.biz,
        imageLimits: { maxPixels: config.images.maxPixels, maxSidePx: config.images.maxSidePx },
        tokens,
        bodyLimitBytes: config.api.bodyLimitBytes,
        batchMax: config.api.batchMax,
        logger,
        checkCallbackUrl: (url) => checkCallbackUrl(url, callbackPolicyOf(config)),
        host: config.api.host,
        port: config.api.port,
        ops: { telemetry, health, metricsAuth: config.ops.metricsAuth },
        queues: [queue, webhookQueue],
        overview: {
          redis,
          prefix: config.redisPrefix,
          queue,
          limiter,
          biz: config.cloudauth.biz,
          qps: config.queue.qps,
        },
        ...(financial
          ? { start: { links, store, queue, scriptUrl: faceScriptUrlOf(config, emulators) } }
          : {}),
      });
      apiUrl = api.url;
      releasers.push(() => api.close());
    }
    return {
      config,
      links,
      apiUrl,
      apiTokenFile,
      cloudauth,
      uploader,
      emulators,
      redis,
      store,
      staging,
      queue,
      webhookQueue,
      intake,
      operations,
      lifecycle,
      limiter,
      worker,
      webhookWorker,
      telemetry,
      health,
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}
