/**
 * The chaos run's client of the orchestrator's HTTP API and of the emulator's H5 page and admin
 * endpoints: fetch with a timeout, and retries of what an outage causes (connection refused, 5xx,
 * a timeout) — never of a 4xx, which is a finding.
 */
import { sleep } from '../testkit/waiting.js';

/** An answer: status and parsed JSON (or text). */
export interface Answer<T = unknown> {
  status: number;
  body: T;
}

/** A 4xx that was not expected, or retries that ran out. */
export class ChaosRequestError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'ChaosRequestError';
  }
}

/** One request, without retries; a network failure or timeout answers status 0. */
export async function request<T = unknown>(
  url: string,
  init: RequestInit & { timeoutMs?: number } = {},
): Promise<Answer<T>> {
  const { timeoutMs = 30_000, ...rest } = init;
  try {
    const res = await fetch(url, { ...rest, signal: AbortSignal.timeout(timeoutMs) });
    const text = await res.text();
    const type = res.headers.get('content-type') ?? '';
    const body = (type.includes('json') && text !== '' ? JSON.parse(text) : text) as T;
    return { status: res.status, body };
  } catch (err) {
    return { status: 0, body: String((err as Error).message) as T };
  }
}

/** How long to keep retrying an outage, in ms. */
const RETRY_FOR_MS = 120_000;

/**
 * A request retried on status 0, 429 and 5xx with capped backoff for up to two minutes (a Redis
 * restart, a loaded machine). Other statuses are answered as they are.
 */
export async function requestWithRetry<T = unknown>(
  url: string,
  init: RequestInit & { timeoutMs?: number } = {},
  onRetry?: (status: number) => void,
): Promise<Answer<T>> {
  const deadline = Date.now() + RETRY_FOR_MS;
  for (let attempt = 0; ; attempt++) {
    const answer = await request<T>(url, init);
    const retryable = answer.status === 0 || answer.status === 429 || answer.status >= 500;
    if (!retryable) return answer;
    if (Date.now() > deadline) {
      throw new ChaosRequestError(
        `${init.method ?? 'GET'} ${new URL(url).pathname}: still ${answer.status} after ${RETRY_FOR_MS} ms`,
        answer.status,
      );
    }
    onRetry?.(answer.status);
    await sleep(Math.min(2000, 100 * 2 ** Math.min(attempt, 5)) * (0.5 + Math.random() / 2));
  }
}

/** The orchestrator's API with a bearer token. */
export class OrchestratorApi {
  /** Answers that were retried (5xx, timeouts, connection failures): outage figures. */
  retried = 0;
  /** When a POST was answered 503 (the intake refusing for want of Redis), ms since the epoch. */
  readonly unavailableAt: number[] = [];
  /** Each POST: when it was sent and how long until its final answer (retries included), in ms. */
  readonly posts: { at: number; ms: number }[] = [];

  constructor(
    readonly url: string,
    private readonly token: string,
  ) {}

  private headers(json: boolean): Record<string, string> {
    return {
      authorization: `Bearer ${this.token}`,
      ...(json ? { 'content-type': 'application/json' } : {}),
    };
  }

  get<T>(path: string): Promise<Answer<T>> {
    return requestWithRetry<T>(`${this.url}${path}`, { headers: this.headers(false) }, () => {
      this.retried++;
    });
  }

  async post<T>(path: string, body: unknown): Promise<Answer<T>> {
    const at = Date.now();
    const answer = await this.postOnce<T>(path, body);
    this.posts.push({ at, ms: Date.now() - at });
    return answer;
  }

  private postOnce<T>(path: string, body: unknown): Promise<Answer<T>> {
    return requestWithRetry<T>(
      `${this.url}${path}`,
      {
        method: 'POST',
        headers: this.headers(true),
        body: JSON.stringify(body),
        timeoutMs: 60_000,
      },
      (status) => {
        this.retried++;
        if (status === 503) this.unavailableAt.push(Date.now());
      },
    );
  }
}

/** Runs `f` over `items` with at most `concurrency` at once. */
export async function mapLimit<T, R>(
  items: readonly T[],
  concurrency: number,
  f: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  const lanes = Array.from({ length: Math.min(concurrency, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await f(items[i] as T, i);
    }
  });
  await Promise.all(lanes);
  return out;
}
