/**
 * Webhooks have their own BullMQ queue, `webhooks`, next to `tickets` under the same prefix: one
 * job per event, its id derived from the event id (so an event published twice is delivered
 * once), its payload the destination URL and the event. Failed deliveries are retried with the one
 * backoff strategy; a job that runs out of attempts, or fails permanently, stays in the failed set,
 * which is the dead-letter list ({@link replayDeadLetters} in `dead-letters.ts`).
 */
import type { JobsOptions, Queue } from 'bullmq';
import type { Logger } from '../logger.js';
import { BACKOFF_TYPE } from '../adapters/bullmq/backoff.js';
import type { WebhookEvent } from './events.js';

/** The queue name. */
export const WEBHOOK_QUEUE = 'webhooks';

/** Delivered jobs are kept this long, in seconds, so that a re-publish stays a no-op. */
export const WEBHOOK_KEEP_DELIVERED_SECONDS = 7 * 86_400;

/**
 * What a webhook job carries: the destination and the event, nothing else. The event holds no
 * personal data. The `pageUrl` of `ticket.token_issued` is a bearer link (it holds the
 * VerifyToken): the job keeps it only encrypted, in `sealedPageUrl`, bound to the event id, and
 * the worker puts it back into the body at delivery. `url` may carry a secret: it is never logged.
 */
export interface WebhookJobData {
  url: string;
  /** The event without its `pageUrl`. */
  event: WebhookEvent;
  /** `pageUrl`, encrypted with the store's key (see {@link sealedPageUrlAad}). */
  sealedPageUrl?: string;
}

/** Encrypts and decrypts with the store's key (a `FieldCipher`). */
export interface PageUrlCipher {
  encrypt(plaintext: string, aad: string): string;
  decryptText(token: string, aad: string): string;
}

/** The associated data binding a sealed page URL to its event. */
export function sealedPageUrlAad(eventId: string): string {
  return `webhook:${eventId}:pageUrl`;
}

/**
 * The job id of an event. BullMQ refuses ids with `:` and ids that read as integers, so `%` and
 * `:` are percent-encoded and a prefix is added.
 */
export function webhookJobId(eventId: string): string {
  return `w-${eventId.replaceAll('%', '%25').replaceAll(':', '%3A')}`;
}

/** Job options of an event's delivery: `attempts` tries with the jitter backoff, kept when failed. */
export function webhookJobOptions(eventId: string, attempts: number): JobsOptions {
  return {
    jobId: webhookJobId(eventId),
    attempts,
    backoff: { type: BACKOFF_TYPE },
    removeOnComplete: { age: WEBHOOK_KEEP_DELIVERED_SECONDS },
    removeOnFail: false,
  };
}

export interface WebhookPublisherDeps {
  /** The `webhooks` queue, built with `bullPrefix(prefix)`. */
  queue: Queue<WebhookJobData>;
  /** Destination when a ticket has no callback URL (`WEBHOOK_DEFAULT_URL`); unset: no webhook. */
  defaultUrl?: string;
  /** Delivery attempts before the job is dead-lettered (`WEBHOOK_ATTEMPTS`). */
  attempts: number;
  /** Seals the bearer `pageUrl` of an event before it is written to Redis. */
  cipher: PageUrlCipher;
  logger: Logger;
}

/** Enqueues webhook deliveries. */
export class WebhookPublisher {
  constructor(private readonly deps: WebhookPublisherDeps) {}

  /**
   * Enqueues delivery of `event` to `callbackUrl ?? defaultUrl`; a no-op when neither is set.
   * Idempotent per `event.id`: a second publish of the same event (to any URL) adds nothing while
   * the first job is held (pending, failed, or delivered within the retention).
   */
  async publish(event: WebhookEvent, callbackUrl: string | undefined): Promise<void> {
    const url = callbackUrl ?? this.deps.defaultUrl;
    if (url === undefined) return;
    const { pageUrl, ...rest } = event;
    const data: WebhookJobData = { url, event: rest };
    if (pageUrl !== undefined) {
      data.sealedPageUrl = this.deps.cipher.encrypt(pageUrl, sealedPageUrlAad(event.id));
    }
    await this.deps.queue.add(event.type, data, webhookJobOptions(event.id, this.deps.attempts));
    this.deps.logger.debug(
      { eventId: event.id, type: event.type, ticketId: event.ticketId },
      'webhook queued',
    );
  }
}
