/**
 * The InitFaceVerify callback (spec §9): once a verification finishes (pass or fail, never when
 * abandoned) the emulator requests the CallbackUrl with GET, the query `certifyId`, `passed` (which
 * carries the **SubCode**, as in the spec's example `…&certifyId=…&passed=200`) and `callbackToken`
 * when one was given. Anything but HTTP 200 (a 2xx other than 200, a 3xx, a 5xx, a refused
 * connection, a timeout) is retried: the spec says "twice within 3 s", so 3 attempts 1 s apart by
 * default; tests shorten the delay. Redirects are never followed (a 3xx is a failed attempt).
 * Every attempt is recorded, without the URL or the token, for tests and `/__admin`.
 */
import type { FastifyInstance } from 'fastify';

export interface CallbackOptions {
  /** Attempts in all, the first included. Default 3 (spec §9: two retries). */
  attempts?: number;
  /** Pause before each retry, ms. Default 1000 (3 attempts fit the spec's 3 s). */
  retryDelayMs?: number;
  /** One attempt's deadline, ms. Default 1000. */
  timeoutMs?: number;
}

/** One attempt to deliver a callback. */
export interface CallbackDelivery {
  certifyId: string;
  /** 1 for the first attempt. */
  attempt: number;
  /** ISO time the attempt ended. */
  at: string;
  /** The receiver's HTTP status; absent when no answer came. */
  status?: number;
  /** `connection` (refused, reset, DNS) or `timeout`, when no answer came. */
  failure?: 'connection' | 'timeout';
  delivered: boolean;
}

export interface CallbackRequest {
  certifyId: string;
  callbackUrl: string;
  callbackToken?: string;
  subCode: string;
}

/** The spec's GET URL: the CallbackUrl with `certifyId`, `passed` and `callbackToken` added. */
export function callbackTarget(request: CallbackRequest): string {
  const url = new URL(request.callbackUrl);
  url.searchParams.set('certifyId', request.certifyId);
  url.searchParams.set('passed', request.subCode);
  if (request.callbackToken !== undefined)
    url.searchParams.set('callbackToken', request.callbackToken);
  return url.toString();
}

/** Sends callbacks in the background and remembers the last `maxRecords` attempts. */
export class CallbackSender {
  private readonly records: CallbackDelivery[] = [];
  private readonly attempts: number;
  private readonly retryDelayMs: number;
  private readonly timeoutMs: number;

  constructor(
    options: CallbackOptions,
    private readonly signal: AbortSignal,
    private readonly clock: () => number,
    private readonly maxRecords = 10_000,
  ) {
    this.attempts = Math.max(1, options.attempts ?? 3);
    this.retryDelayMs = options.retryDelayMs ?? 1000;
    this.timeoutMs = options.timeoutMs ?? 1000;
  }

  /** Starts the delivery; the caller does not wait for it (the page answers at once). */
  send(request: CallbackRequest): void {
    void this.deliver(request);
  }

  deliveries(): CallbackDelivery[] {
    return [...this.records];
  }

  clear(): void {
    this.records.length = 0;
  }

  /** `GET /__admin/face-verify/callbacks` lists the attempts; DELETE forgets them. */
  registerAdmin(app: FastifyInstance): void {
    app.get('/__admin/face-verify/callbacks', () => this.deliveries());
    app.delete('/__admin/face-verify/callbacks', (_req, reply) => {
      this.clear();
      return reply.code(204).send();
    });
  }

  private async deliver(request: CallbackRequest): Promise<void> {
    const target = callbackTarget(request);
    for (let attempt = 1; attempt <= this.attempts && !this.signal.aborted; attempt++) {
      if (attempt > 1 && !(await this.pause())) return;
      const outcome = await this.attempt(target);
      if (this.signal.aborted) return;
      const delivered = 'status' in outcome && outcome.status === 200;
      this.remember({
        certifyId: request.certifyId,
        attempt,
        at: new Date(this.clock()).toISOString(),
        ...outcome,
        delivered,
      });
      if (delivered) return;
    }
  }

  private async attempt(
    target: string,
  ): Promise<{ status: number } | { failure: 'connection' | 'timeout' }> {
    const timeout = AbortSignal.timeout(this.timeoutMs);
    try {
      const res = await fetch(target, {
        method: 'GET',
        redirect: 'manual',
        signal: AbortSignal.any([this.signal, timeout]),
      });
      // the body is not read: drop it so the connection is freed
      await res.body?.cancel();
      return { status: res.status };
    } catch {
      return { failure: timeout.aborted ? 'timeout' : 'connection' };
    }
  }

  /** Waits `retryDelayMs`; false when the emulator closed meanwhile. */
  private pause(): Promise<boolean> {
    return new Promise((resolve) => {
      const onAbort = () => {
        clearTimeout(timer);
        resolve(false);
      };
      const timer = setTimeout(() => {
        this.signal.removeEventListener('abort', onAbort);
        resolve(true);
      }, this.retryDelayMs);
      this.signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  private remember(delivery: CallbackDelivery): void {
    this.records.push(delivery);
    if (this.records.length > this.maxRecords) this.records.shift();
  }
}
