/**
 * Progress on stderr: a cli-progress bar on a terminal, plain lines (at most one a second, and
 * the last one) otherwise, so that logs and CI output stay readable.
 */
import { Presets, SingleBar } from 'cli-progress';

/** A running progress display. */
export interface Progress {
  update(value: number): void;
  stop(): void;
}

/** What a progress display shows. */
export interface ProgressOptions {
  stream: NodeJS.WritableStream;
  /** A terminal: draw a bar; else print plain lines. */
  tty: boolean;
  label: string;
  total: number;
  /** The text beside the bar, e.g. `120/500 tickets`. */
  describe: (value: number) => string;
  /** Shortest time between two plain lines, in ms. Default 1000. */
  plainIntervalMs?: number;
}

/** Starts a progress display at 0. */
export function startProgress(options: ProgressOptions): Progress {
  const { stream, label, total, describe } = options;
  if (options.tty) {
    const bar = new SingleBar(
      {
        stream,
        format: `${label} |{bar}| {percentage}% | {text}`,
        hideCursor: true,
        clearOnComplete: false,
      },
      Presets.shades_classic,
    );
    bar.start(Math.max(total, 1), 0, { text: describe(0) });
    return {
      update: (value) => bar.update(value, { text: describe(value) }),
      stop: () => bar.stop(),
    };
  }
  const interval = options.plainIntervalMs ?? 1000;
  let lastAt = 0;
  let lastText: string | undefined;
  let current = 0;
  const print = () => {
    const text = describe(current);
    if (text === lastText) return;
    lastText = text;
    lastAt = Date.now();
    stream.write(`${label}: ${text}\n`);
  };
  return {
    update(value) {
      current = value;
      if (Date.now() - lastAt >= interval) print();
    },
    stop: print,
  };
}
