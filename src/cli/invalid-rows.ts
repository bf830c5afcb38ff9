/**
 * The invalid rows of a run: every one is written to `<input>.invalid.jsonl` (next to the input
 * file, or in the working directory when that one is not writable); the first ones are also kept
 * in memory for the plan, and the rest only counted, so memory stays flat for any file size. The
 * rows `enqueue --api` could not get the API to accept are logged the same way, to
 * `<input>.not-accepted.jsonl`.
 */
import { rm, open, type FileHandle } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { RowProblem } from './row-check.js';

/** One invalid row. Carries no personal data: line, TicketId and field-level reasons only. */
export interface InvalidRow {
  line: number;
  /** Present when the row's TicketId is well formed (see `ticketIdOf`). */
  ticketId?: string;
  problems: RowProblem[];
}

/** How many invalid rows are kept in memory by default. */
export const KEPT_INVALID_ROWS = 1000;

/**
 * Most problems logged for one row; the rest are counted in one more. A row has a handful; a
 * hostile one could carry a problem per key of a huge object.
 */
export const PROBLEMS_PER_ROW = 20;
const FLUSH_BYTES = 64 * 1024;

/** `line 7: Binding.IdentificationNumber: check digit does not match (GB 11643)`. */
export function formatInvalidRow(row: InvalidRow): string {
  return `line ${row.line}: ${row.problems.map((p) => `${p.field}: ${p.message}`).join('; ')}`;
}

/** `row` with at most {@link PROBLEMS_PER_ROW} problems, the rest counted in the last. */
export function capProblems(row: InvalidRow): InvalidRow {
  if (row.problems.length <= PROBLEMS_PER_ROW) return row;
  const rest = row.problems.length - (PROBLEMS_PER_ROW - 1);
  return {
    ...row,
    problems: [
      ...row.problems.slice(0, PROBLEMS_PER_ROW - 1),
      { field: 'row', message: `has ${rest} more problems` },
    ],
  };
}

/** Collects invalid rows: all to a file, the first {@link KEPT_INVALID_ROWS} in memory. */
export class InvalidRowLog {
  /** The first rows added, in order. */
  readonly kept: InvalidRow[] = [];
  #count = 0;
  #handle: FileHandle | undefined;
  #path: string | undefined;
  #buffer = '';

  /**
   * @param inputPath the input file; the log is `<inputPath><suffix>`
   * @param cwd where the log goes when the input's directory is not writable
   * @param suffix `.invalid.jsonl`, or another for another kind of row (`.not-accepted.jsonl`)
   */
  constructor(
    private readonly inputPath: string,
    private readonly cwd: string,
    private readonly keep = KEPT_INVALID_ROWS,
    private readonly suffix = '.invalid.jsonl',
  ) {}

  /** Invalid rows so far. */
  get count(): number {
    return this.#count;
  }

  /** Where the rows were written; undefined while there are none. */
  get path(): string | undefined {
    return this.#path;
  }

  /** Removes the log a previous run of the same file left. */
  async removeStale(): Promise<void> {
    await rm(`${this.inputPath}${this.suffix}`, { force: true });
  }

  async add(given: InvalidRow): Promise<void> {
    const row = capProblems(given);
    this.#count++;
    if (this.kept.length < this.keep) this.kept.push(row);
    this.#handle ??= await this.#open();
    this.#buffer += `${JSON.stringify(row)}\n`;
    if (this.#buffer.length >= FLUSH_BYTES) await this.#flush();
  }

  /** Writes what is buffered; the log stays open for more rows. */
  async flush(): Promise<void> {
    await this.#flush();
  }

  async close(): Promise<void> {
    await this.#flush();
    await this.#handle?.close();
    this.#handle = undefined;
  }

  async #flush(): Promise<void> {
    if (this.#handle === undefined || this.#buffer === '') return;
    const text = this.#buffer;
    this.#buffer = '';
    await this.#handle.write(text);
  }

  async #open(): Promise<FileHandle> {
    const primary = `${this.inputPath}${this.suffix}`;
    try {
      const handle = await open(primary, 'w');
      this.#path = primary;
      return handle;
    } catch {
      const fallback = join(this.cwd, `${basename(this.inputPath)}${this.suffix}`);
      const handle = await open(fallback, 'w');
      this.#path = fallback;
      return handle;
    }
  }
}
