/**
 * The contract between `bench/run.ts` and each benchmark module: a module takes the run's options
 * and returns rows; the runner prints them as one table and writes `bench/results/latest.json`.
 *
 * Every figure is a ratio against a baseline measured in the same invocation, the two sides run
 * interleaved (A B B A …, the order flipping each round) and summarised by their medians, because
 * throughput on these machines swings up to 2x between fresh processes.
 */

/** What the runner hands every benchmark. */
export interface BenchOptions {
  /** `--quick`: smaller sizes so the whole run stays under two minutes. */
  readonly quick: boolean;
  /** A Redis the benchmark may use (its own server, started by the runner; FLUSHALL is allowed). */
  readonly redisUrl: string;
  /** The Cloudauth emulator's URL (a separate process started by the runner). */
  readonly emulatorUrl: string;
  /** The OSS emulator's URL. */
  readonly ossUrl: string;
  /** The emulator process's pid, to read its CPU time and memory from /proc; absent when unknown. */
  readonly emulatorPid?: number;
  /** The access key pair the emulator accepts. */
  readonly accessKeyId: string;
  readonly accessKeySecret: string;
  /** A scratch directory, removed after the run. */
  readonly dir: string;
  /** Progress lines (stderr). */
  readonly log: (line: string) => void;
}

/** One line of the table. */
export interface BenchRow {
  /** Short id, e.g. `overhead.throughput`. */
  readonly id: string;
  /** What was measured, in words. */
  readonly label: string;
  /** Our side's figure (median). */
  readonly value: number;
  /** The baseline's figure (median), or null where the goal is absolute. */
  readonly baseline: number | null;
  /** The unit of `value` and `baseline` (`tickets/s`, `commands`, `bytes`, `MB`, …). */
  readonly unit: string;
  /** `value / baseline`, or the figure compared with the goal where there is no baseline. */
  readonly ratio: number | null;
  /** The goal in words, e.g. `ratio >= 0.6`, `<= 100`. */
  readonly goal: string;
  /** Whether the goal was met; null where the row is informative only. */
  readonly met: boolean | null;
  /** Each round's raw figures and anything a reader needs to trust the row. */
  readonly detail?: Readonly<Record<string, unknown>>;
}

/** A benchmark module's entry point. */
export type Benchmark = (options: BenchOptions) => Promise<BenchRow[]>;

/** Median of a non-empty list. */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error('median of nothing');
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
