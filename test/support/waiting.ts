/**
 * Waiting in tests: for a condition, with a deadline, or for the absence of an event over a bounded
 * observation window. A test never sleeps a fixed time and then asserts: it either waits until what
 * it expects is true, or, when it asserts that something does NOT happen, says how long it watched.
 */

/** How often a condition is read again, in ms. */
const EVERY_MS = 20;

const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Reads `read()` until `ok` holds of its value and returns that value; throws naming `what` and the
 * last value read once `timeoutMs` has passed.
 */
export async function waitFor<T>(
  what: string,
  read: () => T | Promise<T>,
  ok: (value: T) => boolean,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (ok(value)) return value;
    if (Date.now() > deadline) {
      throw new Error(`${what}: not there after ${timeoutMs} ms (last ${shown(value)})`);
    }
    await pause(EVERY_MS);
  }
}

/** Waits until `condition()` is true; throws naming `what` once `timeoutMs` has passed. */
export async function waitUntil(
  what: string,
  condition: () => boolean | Promise<boolean>,
  timeoutMs = 10_000,
): Promise<void> {
  await waitFor(what, condition, (v) => v, timeoutMs);
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
): Promise<void> {
  const end = Date.now() + windowMs;
  for (;;) {
    if (await happened()) throw new Error(`${what} happened within the ${windowMs} ms window`);
    if (Date.now() >= end) return;
    await pause(Math.min(EVERY_MS, end - Date.now()));
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

function shown(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
