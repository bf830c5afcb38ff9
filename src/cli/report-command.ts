/**
 * `report --batch <id> --out results.csv|results.jsonl|results.xlsx|- [--format csv|jsonl|xlsx]
 * [--json] [--api <URL>]`: one row per ticket of the batch, with its outcome and no personal data,
 * streamed from the store (or page by page from the HTTP API's `GET /v1/tickets?batch=`, newest
 * first) to a temporary file that is renamed into place when complete, or with `--out -` to stdout
 * (and nothing else there: the count goes to stderr). CSV and .xlsx text cells never start a
 * formula (see {@link csvSafeCell}; the workbook is `report-xlsx.ts`'s).
 *
 * No `startUrl` column: a financial ID_PRO ticket's start link is a bearer link (whoever holds it
 * can start the person's verification until it ends, for days), and a report is a file that is
 * mailed, shared and archived well beyond whoever may send a person their link. The link is given
 * where it is asked for one ticket at a time: `status <TicketId>`, `GET /v1/tickets/<TicketId>`.
 */
import { createWriteStream } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import { extname, resolve } from 'node:path';
import { Readable, Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { stringify } from 'csv-stringify';
import { outerOrderNoOf } from '../domain/biz.js';
import type { ListedTicket } from '../adapters/redis/ticket-store.js';
import type { TicketSummaryView } from '../api/schemas.js';
import { withApi } from './api-context.js';
import { checkApiBatchId, resolveApiTarget, type ApiOptions } from './api-target.js';
import { loadCliConfig, withApp, type CliIo } from './cli-context.js';
import { CliError, ExitCode, usageError } from './exit-codes.js';
import { writeJson } from './output.js';

/** The options of `report`. */
export interface ReportOptions extends ApiOptions {
  batch: string;
  /** A file, or `-` for stdout. */
  out: string;
  /** Default: by `out`'s extension; `csv` for `-` (`jsonl` with `--json`). */
  format?: ReportFormat;
  /** With a file: the summary as JSON. With `--out -`: the rows as JSON lines. */
  json?: boolean;
}

/** The report formats. */
export type ReportFormat = 'csv' | 'jsonl' | 'xlsx';

/** `--out` naming standard output. */
const STDOUT = '-';

/**
 * The report's columns, in order. Those of the financial-grade family come last, so that a reader
 * that takes columns by position reads the earlier ones where they were: `family` (`legacy` or
 * `financial`), `outerOrderNo` (financial: the OuterOrderNo sent to the provider), and the
 * verdict's `subCode` and `certifyId` (financial). Empty where they do not apply.
 */
export const REPORT_COLUMNS = [
  'TicketId',
  'Biz',
  'state',
  'statusCode',
  'similarityScore',
  'trustedScore',
  'authorityComparisonScore',
  'auditConclusions',
  'emulated',
  'errorCode',
  'errorMessage',
  'createdAt',
  'finishedAt',
  'family',
  'outerOrderNo',
  'subCode',
  'certifyId',
] as const;

/**
 * One report row; absent values are empty strings. `emulated` is true when the verdict was reached
 * in embedded mode, on the Cloudauth emulator (`true` / `false` in CSV).
 */
export type ReportRow = Record<
  Exclude<(typeof REPORT_COLUMNS)[number], 'emulated'>,
  string | number
> & {
  emulated: boolean;
};

/** A verdict as either source holds it (the store's or the API's). */
interface VerdictCells {
  statusCode: 1 | 2;
  trustedScore?: number | undefined;
  similarityScore?: number | undefined;
  authorityComparisonScore?: number | undefined;
  auditConclusions?: string | undefined;
  subCode?: string | undefined;
  certifyId?: string | undefined;
}

/** The verdict and error cells of a row, from either source's verdict (absent: empty cells). */
function outcomeCells(
  v: VerdictCells | null | undefined,
  emulated: boolean,
  lastError: { code: string; message: string } | null | undefined,
): Pick<
  ReportRow,
  | 'statusCode'
  | 'similarityScore'
  | 'trustedScore'
  | 'authorityComparisonScore'
  | 'auditConclusions'
  | 'emulated'
  | 'errorCode'
  | 'errorMessage'
  | 'subCode'
  | 'certifyId'
> {
  return {
    statusCode: v?.statusCode ?? '',
    similarityScore: v?.similarityScore ?? '',
    trustedScore: v?.trustedScore ?? '',
    authorityComparisonScore: v?.authorityComparisonScore ?? '',
    auditConclusions: v?.auditConclusions ?? '',
    emulated: v !== null && v !== undefined && emulated,
    errorCode: lastError?.code ?? '',
    errorMessage: lastError?.message ?? '',
    subCode: v?.subCode ?? '',
    certifyId: v?.certifyId ?? '',
  };
}

/** A ticket as a report row (times as ISO 8601). Pure. */
export function reportRow(t: ListedTicket): ReportRow {
  const { subCode, certifyId, ...outcome } = outcomeCells(
    t.verdict,
    t.verdict?.emulated === true,
    t.lastError,
  );
  return {
    TicketId: t.ticketId,
    Biz: t.biz,
    state: t.state,
    ...outcome,
    createdAt: new Date(t.createdAt).toISOString(),
    finishedAt: t.finishedAt === undefined ? '' : new Date(t.finishedAt).toISOString(),
    family: t.family ?? 'legacy',
    outerOrderNo: t.family === 'financial' ? outerOrderNoOf(t.ticketId) : '',
    subCode,
    certifyId,
  };
}

/** A ticket as the API lists it, as the same report row. Pure. */
export function reportRowOfApi(t: TicketSummaryView): ReportRow {
  const { subCode, certifyId, ...outcome } = outcomeCells(t.verdict, t.emulated, t.lastError);
  return {
    TicketId: t.TicketId,
    Biz: t.Biz,
    state: t.state,
    ...outcome,
    createdAt: t.createdAt,
    finishedAt: t.finishedAt ?? '',
    family: t.family,
    outerOrderNo: t.outerOrderNo ?? '',
    subCode,
    certifyId,
  };
}

/**
 * What makes a spreadsheet read a CSV cell as a formula when the cell starts with it: `=`, `+`,
 * `-`, `@`, tab and carriage return (OWASP), and the full-width `＝`, `＋`, `－`, `＠`, which some
 * spreadsheets in CJK locales convert to their ASCII forms.
 */
const FORMULA_START = /^[=+\-@\t\r\uFF1D\uFF0B\uFF0D\uFF20]/;

/**
 * A text cell that cannot start a formula: one that would is prefixed with `'`, as OWASP advises
 * (a spreadsheet shows it as text; the quote is visible in the cell and to other readers of the
 * CSV). Numbers are written by the report as numbers, never through here.
 */
export function csvSafeCell(value: string): string {
  return FORMULA_START.test(value) ? `'${value}` : value;
}

/** The report format by the output file's extension; a usage error for any other. */
export function reportFormatOf(path: string): ReportFormat {
  const ext = extname(path).toLowerCase();
  if (ext === '.csv') return 'csv';
  if (ext === '.jsonl' || ext === '.ndjson') return 'jsonl';
  if (ext === '.xlsx') return 'xlsx';
  throw usageError(`--out ${path}: give a .csv, .jsonl or .xlsx file`);
}

/** A stream from {@link ReportRow} objects to the report's text: CSV with a header, or JSONL. */
export function reportEncoder(format: 'csv' | 'jsonl'): Transform {
  if (format === 'csv') {
    return stringify({
      header: true,
      columns: [...REPORT_COLUMNS],
      // csv-stringify writes true as 1 and false as an empty cell by default
      cast: { string: csvSafeCell, boolean: (b) => String(b) },
    });
  }
  return new Transform({
    writableObjectMode: true,
    transform(row: ReportRow, _encoding, done) {
      done(null, `${JSON.stringify(row)}\n`);
    },
  });
}

/**
 * The report's format: `--format`, else with `--out -` JSON lines for `--json` and CSV otherwise,
 * else the file's extension. `--json --out -` means JSON on stdout: a usage error with `--format
 * csv`.
 */
export function reportFormatFor(
  options: Pick<ReportOptions, 'out' | 'format' | 'json'>,
): ReportFormat {
  if (options.out === STDOUT) {
    if (options.json && (options.format === 'csv' || options.format === 'xlsx')) {
      throw usageError(
        `--json with --out - writes JSON lines: leave out --format ${options.format}`,
      );
    }
    return options.format ?? (options.json ? 'jsonl' : 'csv');
  }
  return options.format ?? reportFormatOf(options.out);
}

/** Runs `report`; answers the exit code (5 when the batch has no ticket). */
export async function reportCommand(options: ReportOptions, io: CliIo): Promise<ExitCode> {
  const out = options.out === STDOUT ? STDOUT : resolve(io.cwd, options.out);
  const format = reportFormatFor(options);
  const target = await resolveApiTarget(options, io.env, io.cwd, io.stderr);
  if (target !== undefined) {
    checkApiBatchId(options.batch);
    return withApi(target, async (client) => {
      async function* rows() {
        for await (const t of client.tickets({ batch: options.batch })) yield reportRowOfApi(t);
      }
      return writeReport(rows(), { ...options, out, format }, io);
    });
  }
  const config = loadCliConfig(io);
  return withApp(config, async (app) => {
    async function* rows() {
      for await (const t of app.store.batchTickets(options.batch)) yield reportRow(t);
    }
    return writeReport(rows(), { ...options, out, format }, io);
  });
}

/**
 * `stream` as the end of a pipeline that leaves it open (stdout is never ended), waiting for it
 * to drain, and failing when it fails (a closed pipe).
 */
function into(stream: NodeJS.WritableStream): Writable {
  const failed = (err: Error) => target.destroy(err);
  stream.on('error', failed);
  const target: Writable = new Writable({
    write(chunk: Buffer | string, _encoding, done) {
      if (stream.write(chunk)) done();
      else stream.once('drain', () => done());
    },
    final(done) {
      stream.off('error', failed);
      done();
    },
    destroy(err, done) {
      stream.off('error', failed);
      done(err);
    },
  });
  return target;
}

/**
 * Writes `rows` to a temporary file renamed to `out` when complete, or to stdout for `-`; exit 5
 * when there is none (then nothing is written: the first row is read before anything is).
 */
async function writeReport(
  rows: AsyncIterable<ReportRow>,
  options: { batch: string; out: string; format: ReportFormat; json?: boolean | undefined },
  io: CliIo,
): Promise<ExitCode> {
  const { out, format } = options;
  const source = rows[Symbol.asyncIterator]();
  const first = await source.next();
  if (first.done === true) {
    throw new CliError(ExitCode.unknown, `no batch ${JSON.stringify(options.batch)}`);
  }
  let count = 0;
  async function* records() {
    count++;
    yield first.value;
    for (let next = await source.next(); next.done !== true; next = await source.next()) {
      count++;
      yield next.value;
    }
  }
  if (out === STDOUT) {
    if (format === 'xlsx') {
      if (io.stdout.isTTY === true) {
        throw usageError('--format xlsx with --out - writes a binary file: redirect it to a file');
      }
      const { writeXlsxReport } = await import('./report-xlsx.js');
      await writeXlsxReport(records(), into(io.stdout));
    } else {
      await pipeline(Readable.from(records()), reportEncoder(format), into(io.stdout));
    }
    io.stderr.write(`Wrote ${count} tickets of batch ${options.batch} to standard output\n`);
    return ExitCode.ok;
  }
  const tmp = `${out}.${process.pid}.tmp`;
  try {
    if (format === 'xlsx') {
      const { writeXlsxReport } = await import('./report-xlsx.js');
      // opened first, so that a directory that cannot be written is a usage error at once
      const handle = await open(tmp, 'w');
      await writeXlsxReport(records(), handle.createWriteStream());
    } else {
      await pipeline(Readable.from(records()), reportEncoder(format), createWriteStream(tmp));
    }
    await rename(tmp, out);
  } catch (err) {
    await rm(tmp, { force: true });
    const e = err as NodeJS.ErrnoException;
    if (e.path !== undefined && e.code !== undefined) {
      throw usageError(`cannot write ${out} (${e.code})`);
    }
    throw err;
  }
  if (options.json) writeJson(io.stdout, { batch: options.batch, tickets: count, out, format });
  else io.stdout.write(`Wrote ${count} tickets of batch ${options.batch} to ${out}\n`);
  return ExitCode.ok;
}
