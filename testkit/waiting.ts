/**
 * Waiting, for tests, benchmarks and the chaos run: for a condition, with a deadline; for a promise,
 * with a deadline; or for the absence of an event over a bounded observation window. A test never
 * sleeps a fixed time and then asserts: it either waits until what it expects is true, or, when it
 * asserts that something does NOT happen, says how long it watched.
 *
 * Written here rather than taken from vitest (`vi.waitFor`, `vi.waitUntil`): the benchmarks and the
 * chaos run wait for the same things outside vitest.
 */

/** How long and how often to wait. */
export interface WaitOptions {
  /** Give up after this many ms. Default 10 000. */
  timeoutMs?: number;
  /** Read again after this many ms. Default 20. */
  everyMs?: number;
  /**
   * Read before each attempt: a reason (say, "the server exited") ends the wait at once with an
   * error naming it, instead of at the deadline.
   */
  abortIf?: () => string | undefined;
}

const TIMEOUT_MS = 10_000;
const EVERY_MS = 20;

/** A pause of `ms`: for pacing and stated outage windows, never as a wait before an assertion. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Reads `read()` until `ok` holds of its value and returns that value; throws naming `what` and the
 * last value read (or the last error) once `timeoutMs` has passed. A read that throws counts as
 * "not yet" (a server not listening yet, a Redis restarting).
 */
export async function waitFor<T, U extends T>(
  what: string,
  read: () => T | Promise<T>,
  ok: (value: T) => value is U,
  options?: WaitOptions,
): Promise<U>;
export async function waitFor<T>(
  what: string,
  read: () => T | Promise<T>,
  ok: (value: T) => boolean,
  options?: WaitOptions,
): Promise<T>;
export async function waitFor<T>(
  what: string,
  read: () => T | Promise<T>,
  ok: (value: T) => boolean,
  options: WaitOptions = {},
): Promise<T> {
  const timeoutMs = options.timeoutMs ?? TIMEOUT_MS;
  const deadline = Date.now() + timeoutMs;
  let last: { value: T } | { error: unknown } | undefined;
  for (;;) {
    const reason = options.abortIf?.();
    if (reason !== undefined) throw new Error(`${what}: gave up waiting, ${reason}`);
    try {
      const value = await read();
      if (ok(value)) return value;
      last = { value };
    } catch (error) {
      last = { error };
    }
    if (Date.now() > deadline) {
      throw new Error(`${what}: not there after ${timeoutMs} ms (${lastRead(last)})`);
    }
    await sleep(options.everyMs ?? EVERY_MS);
  }
}

/** Waits until `condition()` is true; throws naming `what` once `timeoutMs` has passed. */
export async function waitUntil(
  what: string,
  condition: () => boolean | Promise<boolean>,
  options?: WaitOptions,
): Promise<void> {
  await waitFor(what, condition, (v) => v, options);
}

/**
 * The absence of an event, observed over a bounded window: reads `happened()` for `windowMs` and
 * throws naming `what` as soon as it is true. Passing proves only that nothing happened within the
 * window, so the window must outlast whatever would make it happen (a poll period, a retry delay).
 */
export async function expectNothingWithin(
  windowMs: number,
  what: string,
  happened: () => boolean | Promise<boolean>,
  everyMs = EVERY_MS,
): Promise<void> {
  const end = Date.now() + windowMs;
  for (;;) {
    if (await happened()) throw new Error(`${what} happened within the ${windowMs} ms window`);
    if (Date.now() >= end) return;
    await sleep(Math.min(everyMs, end - Date.now()));
  }
}

/** Settles `promise`, or throws naming `what` when it has not settled within `timeoutMs`. */
export async function within<T>(what: string, promise: Promise<T>, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

function lastRead(last: { value: unknown } | { error: unknown } | undefined): string {
  if (last === undefined) return 'nothing read';
  if ('error' in last) {
    return `last error: ${last.error instanceof Error ? last.error.message : String(last.error)}`;
  }
  try {
    return `last ${JSON.stringify(last.value) ?? String(last.value)}`;
  } catch {
    return `last ${String(last.value)}`;
  }
}
