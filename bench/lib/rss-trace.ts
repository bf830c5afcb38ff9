/**
 * A process's resident set sampled against its progress (tickets completed), summarised over
 * windows of progress rather than read once.
 *
 * Why windows: a Node worker's RSS follows V8's old space, which grows from the live set to a few
 * times it between major collections and is handed back after each one. In the ticket worker (a
 * live heap of 43-44 MB after a full collection, from 5,000 to 150,000 tickets) that is a sawtooth
 * between about 170-200 MB and 300-310 MB, one tooth every 20,000 to 50,000 tickets, so a single
 * reading lands anywhere on it: single readings at 10,000 and 100,000 tickets gave 1.28 in one run
 * and 0.89 in the next. The peak of a window of 30,000 tickets was 292-311 MB in every window of
 * two runs: it is the sawtooth's top, which rises only when the live set or native memory does.
 */

/** One reading. */
export interface RssSample {
  /** Jobs completed when it was taken. */
  completed: number;
  rssBytes: number;
}

/** The readings taken while the completed count was in `[from, to)`. */
export interface RssWindow {
  from: number;
  to: number;
  samples: number;
  /** The highest reading: the top of the sawtooth. */
  peakBytes: number;
  /** The lowest: right after a major collection, the live set plus native memory. */
  troughBytes: number;
}

export class RssTrace {
  readonly #samples: RssSample[] = [];

  add(completed: number, rssBytes: number): void {
    this.#samples.push({ completed, rssBytes });
  }

  /** The readings with `from <= completed < to`; throws when there are none. */
  window(from: number, to: number): RssWindow {
    const inside = this.#samples.filter((s) => s.completed >= from && s.completed < to);
    if (inside.length === 0) throw new Error(`no RSS reading between ${from} and ${to} completed`);
    let peakBytes = -Infinity;
    let troughBytes = Infinity;
    for (const s of inside) {
      peakBytes = Math.max(peakBytes, s.rssBytes);
      troughBytes = Math.min(troughBytes, s.rssBytes);
    }
    return { from, to, samples: inside.length, peakBytes, troughBytes };
  }
}
