/** A bound on how long an operations read (a scrape, a readiness check) may wait for Redis. */

/** Raised by {@link withTimeLimit} when the work did not settle in time. */
export class TimeLimitError extends Error {
  constructor(what: string, ms: number) {
    super(`${what} did not answer within ${ms} ms`);
    this.name = 'TimeLimitError';
  }
}

/**
 * `work`'s result, or a {@link TimeLimitError} after `ms` milliseconds. A late failure of `work`
 * is swallowed (nobody waits for it any more).
 */
export async function withTimeLimit<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimeLimitError(what, ms)), ms);
  });
  work.catch(() => undefined);
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}
