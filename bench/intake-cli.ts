/**
 * Issue 7, item 4: `cloudauth-orchestrator enqueue` of a CSV of synthetic applicants, with its
 * preflight, against raw BullMQ `addBulk` of the same jobs (same count, same job ids, data and
 * options, same queue prefix, same Redis), both as child processes started the same way
 * (`node --import tsx …`), interleaved (A B B A …) with FLUSHALL before each run. Rows per second are
 * rows over each child's wall time (start-up included on both sides; the baseline's `addBulk`
 * time alone is in the detail). No workers run, so the jobs stay waiting.
 *
 * Peak RSS of the CLI child (`VmHWM`, sampled every 50 ms) is taken at two file sizes, the second
 * ten times the first, to show whether it grows with the file.
 *
 * Issue 20: the same applicants as an `.xlsx` workbook (`writeApplicantXlsx`: text in a
 * shared-strings table and the ID column formatted as Text, as Excel saves it) go through the same
 * `enqueue`, started the same way and in the same rounds: its rows per second against the CSV's
 * (the order of the two flipping each round: CSV, addBulk, xlsx, then xlsx, addBulk, CSV), and its
 * peak RSS at the two sizes. The CSV and addBulk runs stay adjacent, as they were.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { startProcess, type ManagedProcess } from '../testkit/processes.js';
import { CHUNK_ROWS } from '../src/cli/preflight.js';
import { bullPrefix, TICKET_QUEUE } from '../src/adapters/bullmq/queues.js';
import { ticketStoreKeys } from '../src/adapters/redis/ticket-index.js';
import {
  parseBaselineReport,
  parseProcStatus,
  perSecond,
  writeApplicantCsv,
  writeApplicantXlsx,
  type BaselineReport,
} from './intake-cli-support.js';
import { median, type Benchmark, type BenchRow } from './types.js';

const PREFIX = 'bench';
const BIZ = 'RPMin';
const SEED = 0x1a7a;
const SAMPLE_MS = 50;
const MB = 1024 * 1024;
/** Peak RSS of the larger file over that of the smaller (ten times fewer rows). */
const RSS_GOAL = 1.25;
const RATE_GOAL = 0.5;
/**
 * The .xlsx enqueue's rows/s over the CSV's. The enqueue after reading (preflight, Redis writes)
 * is the same; what differs is the reading, an inflated ZIP and XML about four times the CSV's
 * bytes (sheet and shared strings), parsed by exceljs's SAX reader, read twice (preflight, then
 * enqueue) as the CSV is. Half the CSV's rate means a 100,000-row workbook takes at most twice the
 * CSV's time: a back office saves nothing by exporting to CSV first unless it waits minutes. Below
 * it, reading the workbook would cost more than the whole enqueue of the CSV, and would be the
 * first thing to speed up.
 */
const XLSX_RATE_GOAL = 0.5;

/** Rows of the two files and rounds of each side. */
export interface CliBenchSizes {
  /** Rows of the file whose rows/s are compared (and its peak RSS). */
  large: number;
  /** Rows of the file whose peak RSS is compared with the large one's. */
  small: number;
  rounds: number;
}

/** The sizes for a quick or a full run. */
export function cliBenchSizes(quick: boolean): CliBenchSizes {
  return quick
    ? { large: 3_000, small: 500, rounds: 2 }
    : { large: 100_000, small: 10_000, rounds: 3 };
}

/** One child process's run. */
interface ChildRun {
  exit: string;
  /** From spawn to exit, in ms. */
  wallMs: number;
  /** The highest `VmHWM` seen, in bytes (undefined without /proc). */
  peakRss: number | undefined;
  /** When `marker` first appeared in the output, ms after spawn. */
  markerMs: number | undefined;
  output: string;
}

/** Starts a child, samples its memory and output every 50 ms, and waits for its exit. */
async function runChild(
  name: string,
  args: readonly string[],
  env: Readonly<Record<string, string>>,
  logFile: string,
  marker?: string,
): Promise<ChildRun> {
  const started = performance.now();
  const child: ManagedProcess = startProcess({
    name,
    command: process.execPath,
    args,
    env,
    logFile,
  });
  let peakRss: number | undefined;
  let markerMs: number | undefined;
  const sample = () => {
    if (child.pid !== undefined) {
      try {
        const { peakRss: hwm } = parseProcStatus(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
        if (hwm !== undefined) peakRss = Math.max(peakRss ?? 0, hwm);
      } catch {
        // gone, or no /proc
      }
    }
    if (marker !== undefined && markerMs === undefined) {
      try {
        if (readFileSync(logFile, 'utf8').includes(marker)) markerMs = performance.now() - started;
      } catch {
        // not written yet
      }
    }
  };
  const timer = setInterval(sample, SAMPLE_MS);
  try {
    const exit = await child.exited;
    return {
      exit,
      wallMs: performance.now() - started,
      peakRss,
      markerMs,
      output: readFileSync(logFile, 'utf8'),
    };
  } finally {
    clearInterval(timer);
    await child.stop('SIGKILL');
  }
}

interface CliRound {
  round: number;
  rows: number;
  wallMs: number;
  rowsPerS: number;
  /** When the plan was printed (start-up and preflight done), ms after spawn. */
  planMs: number | undefined;
  peakRssMB: number | undefined;
}

interface BaselineRound {
  round: number;
  rows: number;
  wallMs: number;
  rowsPerS: number;
  addMs: number;
  addOnlyRowsPerS: number;
  peakRssMB: number | undefined;
}

/** The benchmark; see the module comment. */
export const benchIntakeCli: Benchmark = async (options) => {
  const sizes = cliBenchSizes(options.quick);
  const largeCsv = join(options.dir, `intake-cli-${sizes.large}.csv`);
  const smallCsv = join(options.dir, `intake-cli-${sizes.small}.csv`);
  await writeApplicantCsv(largeCsv, sizes.large, SEED);
  await writeApplicantCsv(smallCsv, sizes.small, SEED);
  const largeXlsx = join(options.dir, `intake-cli-${sizes.large}.xlsx`);
  const smallXlsx = join(options.dir, `intake-cli-${sizes.small}.xlsx`);
  const xlsxBytes = {
    large: await writeApplicantXlsx(largeXlsx, sizes.large, SEED),
    small: await writeApplicantXlsx(smallXlsx, sizes.small, SEED),
  };
  const env: Record<string, string> = {
    ORCHESTRATOR_MODE: 'embedded',
    LOG_LEVEL: 'warn',
    REDIS_URL: options.redisUrl,
    REDIS_PREFIX: PREFIX,
    ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    CLOUDAUTH_BIZ: `${BIZ}=RPMin`,
  };
  const redis = new Redis(options.redisUrl, { maxRetriesPerRequest: 3 });
  const queue = new Queue(TICKET_QUEUE, { connection: redis, prefix: bullPrefix(PREFIX) });
  const keys = ticketStoreKeys(PREFIX);
  const cliRounds: CliRound[] = [];
  const smallRounds: CliRound[] = [];
  const baselineRounds: BaselineRound[] = [];
  const xlsxRounds: CliRound[] = [];
  const xlsxSmallRounds: CliRound[] = [];
  let payloadBytes = 0;

  const runCli = async (
    round: number,
    csv: string,
    rows: number,
    logName = 'intake-cli',
  ): Promise<CliRound> => {
    await redis.flushall();
    const run = await runChild(
      'cli',
      [
        '--import',
        'tsx',
        'src/cli/main.ts',
        'enqueue',
        csv,
        '--biz',
        BIZ,
        '--batch',
        `bench-r${round}`,
        '--yes',
      ],
      env,
      join(options.dir, `${logName}-${rows}-r${round}.log`),
      'Plan for',
    );
    if (run.exit !== 'exit 0' || !run.output.includes(`Enqueued ${rows} tickets`)) {
      throw new Error(`enqueue of ${rows} rows ended with ${run.exit}: ${tail(run.output)}`);
    }
    await expectEnqueued(queue, rows, () => redis.zcard(keys.all));
    return {
      round,
      rows,
      wallMs: Math.round(run.wallMs),
      rowsPerS: Math.round(perSecond(rows, run.wallMs)),
      planMs: run.markerMs === undefined ? undefined : Math.round(run.markerMs),
      peakRssMB: megabytes(run.peakRss),
    };
  };

  const runBaseline = async (round: number, rows: number): Promise<BaselineRound> => {
    await redis.flushall();
    const run = await runChild(
      'addbulk',
      ['--import', 'tsx', 'bench/intake-cli-baseline.ts', String(rows)],
      env,
      join(options.dir, `intake-addbulk-${rows}-r${round}.log`),
    );
    const report: BaselineReport | undefined = parseBaselineReport(run.output);
    if (run.exit !== 'exit 0' || report?.jobs !== rows) {
      throw new Error(`addBulk of ${rows} jobs ended with ${run.exit}: ${tail(run.output)}`);
    }
    await expectEnqueued(queue, rows);
    payloadBytes = report.payloadBytes;
    return {
      round,
      rows,
      wallMs: Math.round(run.wallMs),
      rowsPerS: Math.round(perSecond(rows, run.wallMs)),
      addMs: Math.round(report.addMs),
      addOnlyRowsPerS: Math.round(perSecond(rows, report.addMs)),
      peakRssMB: megabytes(run.peakRss),
    };
  };

  try {
    for (let round = 1; round <= sizes.rounds; round++) {
      // the order flips every round, so that going first costs both sides alike: CSV, addBulk,
      // xlsx in odd rounds, xlsx, addBulk, CSV in even ones (CSV and addBulk stay adjacent)
      const oursFirst = round % 2 === 1;
      const runXlsx = () => runCli(round, largeXlsx, sizes.large, 'intake-xlsx');
      const earlyXlsx = oursFirst ? undefined : await runXlsx();
      const early = oursFirst ? undefined : await runBaseline(round, sizes.large);
      const cli = await runCli(round, largeCsv, sizes.large);
      cliRounds.push(cli);
      const base = early ?? (await runBaseline(round, sizes.large));
      baselineRounds.push(base);
      const xlsx = earlyXlsx ?? (await runXlsx());
      xlsxRounds.push(xlsx);
      const runXlsxSmall = () => runCli(round, smallXlsx, sizes.small, 'intake-xlsx');
      const earlyXlsxSmall = oursFirst ? undefined : await runXlsxSmall();
      const small = await runCli(round, smallCsv, sizes.small);
      smallRounds.push(small);
      const xlsxSmall = earlyXlsxSmall ?? (await runXlsxSmall());
      xlsxSmallRounds.push(xlsxSmall);
      options.log(
        `intake.cli round ${round}: enqueue ${cli.rowsPerS} rows/s (plan after ${cli.planMs ?? '?'} ms, ` +
          `peak ${cli.peakRssMB ?? '?'} MB), addBulk ${base.rowsPerS} rows/s ` +
          `(${base.addOnlyRowsPerS} without start-up); ${sizes.small} rows: peak ${small.peakRssMB ?? '?'} MB`,
      );
      options.log(
        `intake.xlsx round ${round}: enqueue ${xlsx.rowsPerS} rows/s (plan after ${xlsx.planMs ?? '?'} ms, ` +
          `peak ${xlsx.peakRssMB ?? '?'} MB); ${sizes.small} rows: peak ${xlsxSmall.peakRssMB ?? '?'} MB`,
      );
    }
  } finally {
    await redis.flushall().catch(() => undefined);
    await queue.close();
    await redis.quit();
    await Promise.all(
      [largeCsv, smallCsv, largeXlsx, smallXlsx].map((f) => rm(f, { force: true })),
    );
  }
  return [
    rateRow(sizes, cliRounds, baselineRounds, payloadBytes, options.quick),
    peakRssRow(
      'intake.cli.peak_rss',
      'the enqueue process',
      sizes,
      cliRounds,
      smallRounds,
      options.quick,
      {
        rawAddBulkChildMB: nullIfEmpty(figures(baselineRounds)),
      },
    ),
    xlsxRateRow(sizes, xlsxRounds, cliRounds, xlsxBytes, options.quick),
    peakRssRow(
      'intake.xlsx.peak_rss',
      'the .xlsx enqueue process',
      sizes,
      xlsxRounds,
      xlsxSmallRounds,
      options.quick,
      {
        note: 'the shared-strings table (every distinct text) is held whole by any xlsx reader',
        largeBytes: xlsxBytes.large,
        smallBytes: xlsxBytes.small,
        csvLargeMB: nullIfEmpty(figures(cliRounds)),
      },
    ),
  ];
};

/** The .xlsx enqueue's rows/s against the CSV enqueue's of the same rows in the same rounds. */
function xlsxRateRow(
  sizes: CliBenchSizes,
  xlsx: readonly CliRound[],
  csv: readonly CliRound[],
  bytes: { large: number; small: number },
  quick: boolean,
): BenchRow {
  const value = median(xlsx.map((r) => r.rowsPerS));
  const base = median(csv.map((r) => r.rowsPerS));
  const ratio = value / base;
  return {
    id: 'intake.xlsx.rows_per_s',
    label: `enqueue of a ${sizes.large}-row .xlsx with preflight vs the same rows as CSV`,
    value: Math.round(value),
    baseline: Math.round(base),
    unit: 'rows/s',
    ratio: round3(ratio),
    goal: `ratio >= ${XLSX_RATE_GOAL}`,
    met: ratio >= XLSX_RATE_GOAL,
    detail: {
      rows: sizes.large,
      ...(quick
        ? { note: 'with --quick the file is small and start-up weighs on both sides' }
        : {}),
      measure:
        'rows over the wall time of each child process (node --import tsx), start-up included',
      workbook: 'one sheet, text in shared strings, TicketId and ID number columns as Text (@)',
      workbookBytes: bytes.large,
      roundRatios: xlsx.map((r, i) => round3(r.rowsPerS / (csv[i]?.rowsPerS ?? Number.NaN))),
      xlsx: xlsx.map(({ peakRssMB: _, ...r }) => r),
    },
  };
}

/** The peak RSS figures of the rounds that have one. */
function figures(rounds: readonly { peakRssMB: number | undefined }[]): number[] {
  return rounds.map((r) => r.peakRssMB).filter((v): v is number => v !== undefined);
}

function rateRow(
  sizes: CliBenchSizes,
  cli: readonly CliRound[],
  baseline: readonly BaselineRound[],
  payloadBytes: number,
  quick: boolean,
): BenchRow {
  const value = median(cli.map((r) => r.rowsPerS));
  const base = median(baseline.map((r) => r.rowsPerS));
  const addOnly = median(baseline.map((r) => r.addOnlyRowsPerS));
  const ratio = value / base;
  return {
    id: 'intake.cli.rows_per_s',
    label: `enqueue of a ${sizes.large}-row CSV with preflight vs raw addBulk of the same jobs`,
    value: Math.round(value),
    baseline: Math.round(base),
    unit: 'rows/s',
    ratio: round3(ratio),
    goal: `ratio >= ${RATE_GOAL}`,
    met: ratio >= RATE_GOAL,
    detail: {
      rows: sizes.large,
      ...(quick
        ? { note: 'with --quick the file is small and start-up weighs on both sides' }
        : {}),
      measure:
        'rows over the wall time of each child process (node --import tsx), start-up included',
      jobPayloadBytes: payloadBytes,
      addBulkChunk: CHUNK_ROWS,
      baselineAddOnlyRowsPerS: Math.round(addOnly),
      ratioAgainstAddOnly: round3(value / addOnly),
      cli,
      baseline: baseline.map(({ peakRssMB: _, ...r }) => r),
    },
  };
}

/**
 * Peak RSS of an enqueue at the large file against the small one (`what`: the process measured);
 * `detail` adds what the row's own side needs beside the common figures.
 */
function peakRssRow(
  id: string,
  what: string,
  sizes: CliBenchSizes,
  large: readonly CliRound[],
  small: readonly CliRound[],
  quick: boolean,
  detail: Record<string, unknown>,
): BenchRow {
  const largeMB = figures(large);
  const smallMB = figures(small);
  if (largeMB.length === 0 || smallMB.length === 0) {
    return {
      id,
      label: `peak RSS of ${what} (no /proc here: not measured)`,
      value: 0,
      baseline: null,
      unit: 'MB',
      ratio: null,
      goal: 'flat in file size',
      met: null,
    };
  }
  const value = median(largeMB);
  const base = median(smallMB);
  const ratio = value / base;
  return {
    id,
    label: `peak RSS of ${what}, ${sizes.large} rows vs ${sizes.small} rows`,
    value,
    baseline: base,
    unit: 'MB',
    ratio: round3(ratio),
    goal: quick
      ? 'flat in file size (not judged with --quick: the files are too small)'
      : `ratio <= ${RSS_GOAL} (flat in file size)`,
    met: quick ? null : ratio <= RSS_GOAL,
    detail: {
      measure: `VmHWM of the CLI child, sampled every ${SAMPLE_MS} ms`,
      largeRows: sizes.large,
      smallRows: sizes.small,
      bytesPerExtraRow: Math.round(((value - base) * MB) / (sizes.large - sizes.small)),
      largeMB,
      smallMB,
      ...detail,
    },
  };
}

/** `values`, or null when there are none. */
function nullIfEmpty(values: number[]): number[] | null {
  return values.length === 0 ? null : values;
}

/** Checks that `rows` jobs wait in the queue (and, for the CLI, that the store holds the tickets). */
async function expectEnqueued(
  queue: Queue,
  rows: number,
  tickets?: () => Promise<number>,
): Promise<void> {
  const waiting = await queue.getWaitingCount();
  if (waiting !== rows) throw new Error(`${waiting} jobs waiting, expected ${rows}`);
  if (tickets !== undefined) {
    const stored = await tickets();
    if (stored !== rows) throw new Error(`${stored} tickets stored, expected ${rows}`);
  }
}

function megabytes(bytes: number | undefined): number | undefined {
  return bytes === undefined ? undefined : Math.round((bytes / MB) * 10) / 10;
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

function tail(output: string): string {
  return output.trim().split('\n').slice(-5).join(' | ');
}
