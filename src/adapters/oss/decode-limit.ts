/**
 * How much image one process decodes at once, and how large an image may be. A decoded image holds
 * width × height × channels bytes (a 25 MP photo, 75 MB), so a worker running fifty tickets at
 * once must not decode fifty photos at once: every decode and fit goes through one
 * {@link DecodeGate} per process, which admits images by their pixel count up to a budget, and the
 * pixel limits are checked from the header before.
 */
import { CONFIG_DEFAULTS } from '../../config.js';
import type { ImageType } from '../../domain/binding.js';
import { DEFAULT_IMAGE_LIMITS, type ImageLimits } from './image-header.js';

/** The default of `IMAGE_DECODE_BUDGET_PIXELS`: two images at the default `IMAGE_MAX_PIXELS`. */
export const DEFAULT_DECODE_BUDGET_PIXELS = CONFIG_DEFAULTS.images.decodeBudgetPixels;

/**
 * How many pixels of the budget an image takes while it decodes and fits. A JPEG or PNG streams
 * through sharp row by row (a 25 MP JPEG costs about 40 MB); a BMP is decoded whole by bmp-ts into
 * 4 bytes a pixel and then encoded (about 130 MB at 25 MP): it weighs twice its pixels.
 */
export function decodeWeight(type: ImageType, size: { width: number; height: number }): number {
  const pixels = size.width * size.height;
  return type === 'bmp' ? 2 * pixels : pixels;
}

/**
 * A counting semaphore over a budget: each task takes its weight (an image, its
 * {@link decodeWeight}) while it runs; a task waits until the budget has room for it, in arrival
 * order (a heavy task is not overtaken by lighter ones behind it). A task heavier than the whole
 * budget runs alone. Written here rather than taken from a package: none is a dependency of the
 * project, and acquire-in-order and release are all that is needed.
 */
export class DecodeGate {
  #used = 0;
  #active = 0;
  readonly #waiting: { weight: number; start: () => void }[] = [];

  constructor(readonly budget: number) {
    if (!Number.isInteger(budget) || budget < 1) {
      throw new RangeError(`a DecodeGate needs a budget of at least 1, not ${budget}`);
    }
  }

  /** Tasks running now. */
  get active(): number {
    return this.#active;
  }

  /** Tasks waiting for room. */
  get waiting(): number {
    return this.#waiting.length;
  }

  /** Weight taken by the tasks running now. */
  get used(): number {
    return this.#used;
  }

  /** Runs `task` once the budget has room for `weight`; the room is given back when it settles. */
  async run<T>(weight: number, task: () => Promise<T>): Promise<T> {
    const w = Math.min(Math.max(weight, 0), this.budget);
    if (this.#waiting.length === 0 && this.#fits(w)) this.#take(w);
    else await new Promise<void>((start) => this.#waiting.push({ weight: w, start }));
    try {
      return await task();
    } finally {
      this.#used -= w;
      this.#active--;
      this.#admit();
    }
  }

  #fits(weight: number): boolean {
    return this.#used + weight <= this.budget;
  }

  #take(weight: number): void {
    this.#used += weight;
    this.#active++;
  }

  /** Starts the tasks at the head of the line while they fit. */
  #admit(): void {
    for (let next = this.#waiting[0]; next && this.#fits(next.weight); next = this.#waiting[0]) {
      this.#waiting.shift();
      this.#take(next.weight);
      next.start();
    }
  }
}

/** The image limits and the decode gate of one process. */
export interface ImageDecoding {
  readonly limits: ImageLimits;
  readonly gate: DecodeGate;
}

/** Settings of {@link createImageDecoding}, from `IMAGE_MAX_PIXELS`, `IMAGE_MAX_SIDE_PX` and `IMAGE_DECODE_BUDGET_PIXELS`. */
export interface ImageDecodingSettings {
  maxPixels: number;
  maxSidePx: number;
  /** Pixels (each image weighing its {@link decodeWeight}) decoded at once. */
  budgetPixels: number;
}

export function createImageDecoding(settings: ImageDecodingSettings): ImageDecoding {
  return {
    limits: { maxPixels: settings.maxPixels, maxSidePx: settings.maxSidePx },
    gate: new DecodeGate(settings.budgetPixels),
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
    budgetPixels: DEFAULT_DECODE_BUDGET_PIXELS,
  }));
}
