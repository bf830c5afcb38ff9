/**
 * How many images one process decodes at once, and how large they may be. A decoded image holds
 * width × height × channels bytes (a 25 MP photo, 75 MB), so a worker running fifty tickets at
 * once must not decode fifty photos at once: every decode and fit goes through one
 * {@link DecodeGate} per process, and the pixel limits are checked from the header before.
 */
import { DEFAULT_IMAGE_LIMITS, type ImageLimits } from './image-header.js';

/** The default of `IMAGE_DECODE_CONCURRENCY`. */
export const DEFAULT_DECODE_CONCURRENCY = 2;

/**
 * A counting semaphore: at most `slots` tasks run at once, the others wait in arrival order.
 * Written here rather than taken from a package: none is a dependency of the project (`p-limit`
 * is only in node_modules as a development tool's dependency), and acquire-in-order and release
 * are all that is needed.
 */
export class DecodeGate {
  #active = 0;
  readonly #waiting: (() => void)[] = [];

  constructor(readonly slots: number) {
    if (!Number.isInteger(slots) || slots < 1) {
      throw new RangeError(`a DecodeGate needs at least one slot, not ${slots}`);
    }
  }

  /** Tasks running now. */
  get active(): number {
    return this.#active;
  }

  /** Tasks waiting for a slot. */
  get waiting(): number {
    return this.#waiting.length;
  }

  /** Runs `task` once a slot is free; the slot is released when it settles. */
  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.#active < this.slots) this.#active++;
    else await new Promise<void>((resolve) => this.#waiting.push(resolve));
    try {
      return await task();
    } finally {
      // the slot passes straight to the next in line, so a newcomer cannot jump the queue
      const next = this.#waiting.shift();
      if (next) next();
      else this.#active--;
    }
  }
}

/** The image limits and the decode gate of one process. */
export interface ImageDecoding {
  readonly limits: ImageLimits;
  readonly gate: DecodeGate;
}

/** Settings of {@link createImageDecoding}, from `IMAGE_MAX_PIXELS`, `IMAGE_MAX_SIDE_PX` and `IMAGE_DECODE_CONCURRENCY`. */
export interface ImageDecodingSettings {
  maxPixels: number;
  maxSidePx: number;
  /** Images decoded at once. */
  concurrency: number;
}

export function createImageDecoding(settings: ImageDecodingSettings): ImageDecoding {
  return {
    limits: { maxPixels: settings.maxPixels, maxSidePx: settings.maxSidePx },
    gate: new DecodeGate(settings.concurrency),
  };
}

let processDefault: ImageDecoding | undefined;

/**
 * The defaults, shared by every caller in the process that was given no {@link ImageDecoding}
 * (the composition root passes one made from the configuration).
 */
export function defaultImageDecoding(): ImageDecoding {
  return (processDefault ??= createImageDecoding({
    ...DEFAULT_IMAGE_LIMITS,
    concurrency: DEFAULT_DECODE_CONCURRENCY,
  }));
}
