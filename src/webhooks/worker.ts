/**
 * The worker of the `webhooks` queue. A delivery rechecks the callback URL's policy (DNS can have
 * changed since intake), then POSTs the event as JSON, signed the Standard Webhooks way with a
 * fresh timestamp by the destination's secrets (`signer.ts`), through the delivery agent
 * (`delivery-agent.ts`): the host is resolved once per connection and the socket connects to the
 * address that was vetted; redirects are not followed. 2xx is delivered; 5xx, 429, timeouts and
 * network errors are retried with the one backoff strategy (a `Retry-After` is a minimum); any
 * other answer, and a refused URL, dead-letters the job at once. Log lines carry
 * the event id, type and host; never the URL, the page URL, a secret or a signature.
 */
import { UnrecoverableError, Worker, type Job, type Telemetry as QueueTelemetry } from 'bullmq';
import type { RedisClient } from '../adapters/redis/connection.js';
import { request, type Dispatcher } from 'undici';
import { OrchestratorError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Telemetry } from '../ops/metrics.js';
import { traceDelivery } from '../ops/tracing.js';
import { BACKOFF_TYPE, backoffDelay, type BackoffSettings } from '../adapters/bullmq/backoff.js';
import { bullPrefix } from '../adapters/bullmq/queues.js';
import { closeWithDeadline } from '../adapters/bullmq/ticket-worker.js';
import { vetCallbackUrl, type CallbackPolicy, type HostLookup } from './allowlist.js';
import { createDeliveryAgent } from './delivery-agent.js';
import { WEBHOOK_SCHEMA_VERSION, type WebhookEvent } from './events.js';
import {
  WEBHOOK_QUEUE,
  sealedPageUrlAad,
  type PageUrlCipher,
  type WebhookJobData,
} from './publisher.js';
import type { WebhookSigningSettings } from './secret.js';
import { WebhookSigner } from './signer.js';

/** The header naming the event type. */
export const EVENT_HEADER = 'x-cloudauth-orchestrator-event';
/**
 * The header carrying the event id (the same on every attempt: receivers deduplicate on it), as
 * `webhook-id` does too.
 */
export const DELIVERY_HEADER = 'x-cloudauth-orchestrator-delivery';

/** The longest `Retry-After` honoured, in ms. */
export const MAX_RETRY_AFTER_MS = 3_600_000;

/**
 * What the worker needs. The signing settings (`secret`, `previousSecrets`, `secretsByHost`,
 * `legacySignature`) are `loadWebhookSigning(config)`'s.
 */
export interface WebhookWorkerDeps extends WebhookSigningSettings {
  /** A connection with `maxRetriesPerRequest: null`, as BullMQ workers require. */
  connection: RedisClient;
  /** The store prefix; the queue lives under `bullPrefix(prefix)`. */
  prefix: string;
  /** Opens the sealed `pageUrl` of `ticket.token_issued` jobs (the store's key). */
  cipher: PageUrlCipher;
  /** The callback URL policy (`WEBHOOK_ALLOWED_HOSTS`; https only in production). */
  policy: CallbackPolicy;
  /** Per-attempt timeout of a delivery, in ms. */
  timeoutMs: number;
  /** Deliveries one worker makes at once. */
  concurrency: number;
  backoff: BackoffSettings;
  logger: Logger;
  /** Resolves callback hosts, once per connection. Default: the system resolver. */
  lookup?: HostLookup | undefined;
  /** Counts delivery attempts by outcome (`webhook_deliveries_total`). */
  telemetry?: Telemetry | undefined;
  /** BullMQ's telemetry (`src/ops/tracing.ts`): a delivery joins its ticket's trace. Unset: none. */
  queueTelemetry?: QueueTelemetry | undefined;
}

export interface RunningWebhookWorker {
  worker: Worker<WebhookJobData, void>;
  /** Stops taking jobs and waits for active deliveries, up to `deadlineMs`. */
  close(deadlineMs: number): Promise<void>;
}

/** Milliseconds from a `Retry-After` value (seconds or an HTTP date), capped; undefined if absent. */
export function retryAfterMs(value: string | null, now = Date.now()): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  const text = value.trim();
  const ms = /^\d+$/.test(text) ? Number(text) * 1000 : Date.parse(text) - now;
  if (!Number.isFinite(ms)) return undefined;
  return Math.min(Math.max(ms, 0), MAX_RETRY_AFTER_MS);
}

function errorCode(err: unknown): string | undefined {
  if (!(err instanceof Error)) return undefined;
  const own = (err as { code?: unknown }).code;
  if (typeof own === 'string') return own;
  const cause = err.cause as { code?: unknown } | undefined;
  return typeof cause?.code === 'string' ? cause.code : undefined;
}

function header(value: string | string[] | undefined): string | null {
  return (Array.isArray(value) ? value[0] : value) ?? null;
}

/**
 * The body of a delivery: the event with its sealed `pageUrl` opened. A page URL that no longer
 * opens (the encryption key changed) dead-letters the job: replay it once the key is back. A job
 * queued by an earlier version, whose event has no `schemaVersion`, gets version 1: its shape.
 */
function eventToDeliver(deps: WebhookWorkerDeps, data: WebhookJobData): WebhookEvent {
  const event: WebhookEvent =
    (data.event as Partial<WebhookEvent>).schemaVersion === undefined
      ? { ...data.event, schemaVersion: WEBHOOK_SCHEMA_VERSION }
      : data.event;
  if (data.sealedPageUrl === undefined) return event;
  try {
    const pageUrl = deps.cipher.decryptText(data.sealedPageUrl, sealedPageUrlAad(data.event.id));
    return { ...event, pageUrl };
  } catch (err) {
    throw new OrchestratorError(
      'INTERNAL_ERROR',
      "the event's page URL cannot be decrypted (was ENCRYPTION_KEY changed?)",
      { cause: err, retryable: false },
    );
  }
}

/** Makes one delivery attempt; throws an {@link OrchestratorError} when it did not succeed. */
async function deliver(
  deps: WebhookWorkerDeps,
  signer: WebhookSigner,
  dispatcher: Dispatcher,
  data: WebhookJobData,
): Promise<number> {
  vetCallbackUrl(data.url, deps.policy);
  const body = JSON.stringify(eventToDeliver(deps, data));
  const headers = {
    'content-type': 'application/json',
    'user-agent': 'cloudauth-orchestrator',
    [EVENT_HEADER]: data.event.type,
    [DELIVERY_HEADER]: data.event.id,
    ...signer.headers(data.url, data.event.id, body, Math.floor(Date.now() / 1000)),
  };
  let response: Dispatcher.ResponseData;
  try {
    response = await request(data.url, {
      dispatcher,
      method: 'POST',
      headers,
      body,
      signal: AbortSignal.timeout(deps.timeoutMs),
    });
  } catch (err) {
    if (err instanceof OrchestratorError) throw err;
    const timedOut = err instanceof Error && err.name === 'TimeoutError';
    throw new OrchestratorError(
      'WEBHOOK_UNDELIVERED',
      timedOut
        ? `no answer within ${deps.timeoutMs} ms`
        : `receiver unreachable (${errorCode(err) ?? (err instanceof Error ? err.name : 'error')})`,
    );
  }
  await response.body.dump().catch(() => undefined);
  const status = response.statusCode;
  if (status >= 200 && status < 300) return status;
  if (status >= 500 || status === 429) {
    const after = retryAfterMs(header(response.headers['retry-after']));
    throw new OrchestratorError('WEBHOOK_UNDELIVERED', `receiver answered ${status}`, {
      httpStatus: status,
      ...(after === undefined ? {} : { retryAfterMs: after }),
    });
  }
  throw new OrchestratorError(
    'WEBHOOK_REJECTED',
    status >= 300 && status < 400
      ? `receiver answered a redirect (${status}); redirects are not followed`
      : `receiver answered ${status}`,
    { httpStatus: status },
  );
}

function hostOf(url: string): string | undefined {
  try {
    return new URL(url).host;
  } catch {
    return undefined;
  }
}

/**
 * Starts the `webhooks` worker: delivery, retries with `backoffDelay`, dead letters kept. Throws
 * ConfigError for an invalid signing secret.
 */
export function startWebhookWorker(deps: WebhookWorkerDeps): RunningWebhookWorker {
  const { logger } = deps;
  // keys decoded once; an invalid secret refuses to start, before any job is taken
  const signer = new WebhookSigner(deps);
  if (!deps.secret.startsWith('whsec_') && deps.legacySignature !== true) {
    // an upgrade from an earlier version (its hex secret file) whose receivers still verify the
    // old header would see every delivery refused: say so once, without the secret
    logger.warn(
      'the webhook secret is a text secret of an earlier version and WEBHOOK_LEGACY_SIGNATURE is off: receivers verifying x-cloudauth-orchestrator-signature will refuse deliveries; set WEBHOOK_LEGACY_SIGNATURE=true while they move to the Standard Webhooks headers',
    );
  }
  const agent = createDeliveryAgent({
    policy: deps.policy,
    lookup: deps.lookup,
    connectTimeoutMs: deps.timeoutMs,
  });
  const processor = async (job: Job<WebhookJobData>): Promise<void> => {
    const { event } = job.data;
    const context = {
      eventId: event.id,
      type: event.type,
      ticketId: event.ticketId,
      host: hostOf(job.data.url),
      attempt: job.attemptsMade + 1,
    };
    try {
      const status = await traceDelivery(event.type, () => deliver(deps, signer, agent, job.data));
      deps.telemetry?.webhookDeliveries.inc({ outcome: 'delivered' });
      logger.info({ ...context, status }, 'webhook delivered');
    } catch (err) {
      const e =
        err instanceof OrchestratorError
          ? err
          : new OrchestratorError('INTERNAL_ERROR', 'webhook delivery failed', { cause: err });
      const last = !e.retryable || context.attempt >= (job.opts.attempts ?? 1);
      deps.telemetry?.webhookDeliveries.inc({ outcome: last ? 'dead_lettered' : 'retried' });
      logger.warn(
        { ...context, err: e.toJSON() },
        last ? 'webhook dead-lettered' : 'webhook delivery failed; will retry',
      );
      if (!e.retryable) throw new UnrecoverableError(`${e.code}: ${e.message}`);
      throw e;
    }
  };
  const worker = new Worker<WebhookJobData, void>(WEBHOOK_QUEUE, processor, {
    connection: deps.connection,
    prefix: bullPrefix(deps.prefix),
    concurrency: deps.concurrency,
    ...(deps.queueTelemetry === undefined ? {} : { telemetry: deps.queueTelemetry }),
    settings: {
      backoffStrategy: (attemptsMade: number, type?: string, err?: Error) =>
        type === BACKOFF_TYPE ? backoffDelay(attemptsMade, err, deps.backoff) : 0,
    },
  });
  worker.on('error', (err) => logger.error({ err: { message: err.message } }, 'worker error'));
  return {
    worker,
    close: async (deadlineMs: number) => {
      await closeWithDeadline(worker, deadlineMs, logger);
      await agent.destroy();
    },
  };
}
