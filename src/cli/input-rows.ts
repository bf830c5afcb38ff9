/**
 * Reading an input file row by row, streamed: CSV with a header row
 * (`TicketId,Name,IdentificationNumber,FacePic,IdCardFrontPic,IdCardBackPic[,callbackUrl]`, an
 * optional `Biz` column overriding --biz), JSONL (one ticket request per line in the HTTP shape),
 * or an `.xlsx` workbook's sheet with the CSV's header (see `xlsx-rows.ts`). Each row becomes a
 * raw ticket request, or a problem that keeps it from being one. The rows come from a file, or
 * from bytes already read (standard input, `enqueue -`).
 *
 * CSV and JSONL are decoded in the encoding decided for the whole file beforehand (UTF-8 or
 * GB18030: see `input-encoding.ts`); each row's cells then go through the checks only the command
 * line can make (`row-cells.ts`: decoding debris in a name, an ID number in scientific notation),
 * whose problems travel with the row.
 *
 * No row may be longer than {@link ROW_MAX_BYTES}: a CSV quote left open, a JSONL file without
 * line breaks or a sheet cell of endless text would otherwise be gathered whole in memory (a ZIP
 * inflates a few MB into GB). Such a file is refused as a whole, naming the line, as a broken
 * CSV quote is: what follows cannot be read as rows.
 */
import { createReadStream } from 'node:fs';
import { extname } from 'node:path';
import { createInterface } from 'node:readline';
import { Readable, Transform } from 'node:stream';
import { CsvError, parse } from 'csv-parse';
import { IMAGE_FIELDS } from '../domain/binding.js';
import { TICKET_ID_MAX } from '../flow/ticket-intake.js';
import { CliError, usageError } from './exit-codes.js';
import { toUtf8, type EncodingChoice } from './input-encoding.js';
import { columnOf, jsonSyntaxErrorOffset } from './json-syntax.js';
import { cellProblems, type CellReading } from './row-cells.js';
import type { RowProblem } from './row-check.js';

/**
 * Most bytes of one row (a CSV record, a JSONL line, a sheet row's XML; characters for CSV, which
 * is counted decoded): 16 MiB, what one ticket may carry over the HTTP API by default
 * (`API_BODY_LIMIT_BYTES`), base64 images included. A row of names, ID numbers and photo paths is
 * under a kilobyte.
 */
export const ROW_MAX_BYTES = 16 * 1024 * 1024;

/** Why a row over {@link ROW_MAX_BYTES} stops the reading (after "line N "). */
export const ROW_TOO_LONG = `is over ${ROW_MAX_BYTES / 1024 / 1024} MiB, longer than any ticket's row`;

/**
 * About how much memory a row's request holds: the lengths of its strings and keys, 8 for any
 * other value. What the two passes cut their chunks by, besides the row count (see
 * `CHUNK_TEXT_MAX`): rows may carry base64 images.
 */
export function requestWeight(request: unknown): number {
  let weight = 0;
  const stack: unknown[] = [request];
  while (stack.length > 0) {
    const value = stack.pop();
    if (typeof value === 'string') {
      weight += value.length;
    } else if (value !== null && typeof value === 'object') {
      weight += 8;
      for (const [key, item] of Object.entries(value)) {
        weight += key.length;
        stack.push(item);
      }
    } else {
      weight += 8;
    }
  }
  return weight;
}

/** The input formats, told apart by the file's extension (or `--format`). */
export type InputFormat = 'csv' | 'jsonl' | 'xlsx';

/**
 * One data row: its line in the file (a workbook's row number) and the request it reads as, with
 * the problems of its cells found while reading (`problems`, absent when none: the row is invalid
 * when present); or why it reads as no request at all.
 */
export type InputRow =
  | { line: number; request: Record<string, unknown>; problems?: RowProblem[] }
  | { line: number; problem: string };

/** The columns a CSV may have; `TicketId` is required. */
export const CSV_COLUMNS: readonly string[] = [
  'TicketId',
  'Biz',
  'Name',
  'IdentificationNumber',
  ...IMAGE_FIELDS,
  'callbackUrl',
];
const BINDING_COLUMNS = new Set(['Name', 'IdentificationNumber', ...IMAGE_FIELDS]);

/** How a problem names a column: as the request's field (`Binding.Name`, `TicketId`). */
export function fieldOfColumn(column: string): string {
  return BINDING_COLUMNS.has(column) ? `Binding.${column}` : column;
}

/** The format of `path` by its extension; a usage error for any other. */
export function formatOf(path: string): InputFormat {
  const ext = extname(path).toLowerCase();
  if (ext === '.csv') return 'csv';
  if (ext === '.jsonl' || ext === '.ndjson') return 'jsonl';
  if (ext === '.xlsx') return 'xlsx';
  if (ext === '.xls' || ext === '.xlsm' || ext === '.xlsb' || ext === '.et') {
    throw usageError(
      `${path}: a "${ext}" workbook is not read: save it from Excel as "Excel Workbook (.xlsx)" or "CSV UTF-8"`,
    );
  }
  throw usageError(
    `${path}: unknown file type "${ext || '(none)'}": give a .csv, .jsonl or .xlsx file`,
  );
}

/** A header cell that reads as a column name (a word, no long run of digits) may be quoted. */
const COLUMN_NAME = /^[A-Za-z][A-Za-z0-9_]{0,39}$/;

/**
 * An unknown header cell as a usage error names it: quoted when it reads as a column name, by its
 * position otherwise. A file without a header row has a data row there (a name, an ID number).
 */
function unknownColumn(name: string, index: number): string {
  return COLUMN_NAME.test(name) && !/\d{5}/.test(name)
    ? JSON.stringify(name)
    : `column ${index + 1}`;
}

/**
 * Checks a CSV header row (or a sheet's: `noun` is then `sheet`); a usage error names unknown,
 * repeated or missing columns.
 */
export function checkCsvHeader(
  header: readonly string[],
  hasDefaultBiz: boolean,
  noun = 'CSV',
): string[] {
  const columns = header.map((h) => h.trim());
  const unknown = columns.flatMap((c, i) => (CSV_COLUMNS.includes(c) ? [] : [unknownColumn(c, i)]));
  if (unknown.length > 0 && !columns.includes('TicketId')) {
    // a data row, most likely: a romanised name reads as a column name too, so cells go unquoted
    const positions = columns.flatMap((c, i) => (CSV_COLUMNS.includes(c) ? [] : [`${i + 1}`]));
    throw usageError(
      `the first row is not a header row (no TicketId column; unknown: column${positions.length > 1 ? 's' : ''} ${positions.join(', ')}): give a header row of ${CSV_COLUMNS.join(', ')}`,
    );
  }
  if (unknown.length > 0) {
    throw usageError(
      `unknown ${noun} column${unknown.length > 1 ? 's' : ''}: ${unknown.join(', ')} (known: ${CSV_COLUMNS.join(', ')})`,
    );
  }
  const repeated = columns.filter((c, i) => columns.indexOf(c) !== i);
  if (repeated.length > 0) throw usageError(`repeated ${noun} columns: ${repeated.join(', ')}`);
  if (!columns.includes('TicketId')) throw usageError(`the ${noun} has no TicketId column`);
  if (!columns.includes('Biz') && !hasDefaultBiz) {
    throw usageError(`give --biz, or a Biz column in the ${noun}`);
  }
  return columns;
}

/** A CSV row as a ticket request in the HTTP shape; empty cells are left out. */
export function csvRowToRequest(
  columns: readonly string[],
  values: readonly string[],
  defaultBiz: string | undefined,
): Record<string, unknown> {
  const request: Record<string, unknown> = {};
  const binding: Record<string, string> = {};
  columns.forEach((column, i) => {
    const value = values[i]?.trim() ?? '';
    if (value === '') return;
    if (BINDING_COLUMNS.has(column)) binding[column] = value;
    else request[column] = value;
  });
  if (request.Biz === undefined && defaultBiz !== undefined) request.Biz = defaultBiz;
  request.Binding = binding;
  return request;
}

/**
 * A JSONL line as a ticket request; its own Biz wins over `defaultBiz`. Throws a message that
 * gives the column where the JSON breaks, never `JSON.parse`'s, which quotes the line.
 */
export function jsonLineToRequest(
  text: string,
  defaultBiz: string | undefined,
): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    const offset = jsonSyntaxErrorOffset(text);
    throw new Error(
      offset === undefined ? 'not valid JSON' : `not valid JSON (column ${columnOf(text, offset)})`,
    );
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new Error('is not a JSON object');
  }
  const request = { ...(value as Record<string, unknown>) };
  if (request.Biz === undefined && defaultBiz !== undefined) request.Biz = defaultBiz;
  return request;
}

/**
 * The TicketId a raw request carries, if it is a well-formed one: what an invalid row is logged
 * with. Anything else is left out, since a shifted column can put a name there.
 */
export function ticketIdOf(request: Record<string, unknown>): string | undefined {
  const id = request.TicketId;
  return typeof id === 'string' && id.length <= TICKET_ID_MAX && /^[\x21-\x7e]+$/.test(id)
    ? id
    : undefined;
}

/** A streamed reading of one input file. */
export interface InputReading {
  rows: AsyncIterable<InputRow>;
  /** Bytes of the file read so far. */
  bytesRead(): number;
}

/** A byte stream and how much of it was read. */
interface Source {
  stream: Readable;
  bytesRead(): number;
}

/** `data` as a stream (whole, as it is already in memory). */
function bufferSource(data: Buffer): Source {
  let read = 0;
  const stream = Readable.from(
    (function* () {
      read = data.length;
      yield data;
    })(),
    { objectMode: false },
  );
  return { stream, bytesRead: () => read };
}

/** How an input is read besides its format. */
export interface ReadOptions {
  /** CSV and JSONL: the encoding decided for the whole input; default UTF-8. */
  encoding?: EncodingChoice | undefined;
  /** A workbook: the sheet; default the first visible one. */
  sheet?: string | undefined;
}

/**
 * Reads `path` as `format`, one row at a time; from `data` instead when given (then `path` only
 * names the input in messages).
 */
export function readInputRows(
  path: string,
  format: InputFormat,
  defaultBiz: string | undefined,
  data?: Buffer,
  options: ReadOptions = {},
): InputReading {
  if (format === 'xlsx') return xlsxReading(path, defaultBiz, data, options.sheet);
  let source: Source;
  if (data === undefined) {
    const stream = createReadStream(path);
    source = { stream, bytesRead: () => stream.bytesRead };
  } else {
    source = bufferSource(data);
  }
  const encoding = options.encoding?.encoding ?? 'utf-8';
  // csv-parse and readline decode UTF-8 themselves; GB18030 is decoded to UTF-8 on the way
  const text = encoding === 'utf-8' ? source.stream : decoded(source.stream, encoding);
  const reading: CellReading = { format, encoding };
  return {
    rows:
      format === 'csv'
        ? csvRows(path, text, defaultBiz, reading)
        : jsonlRows(path, text, defaultBiz, reading),
    bytesRead: () => source.bytesRead(),
  };
}

/** `source` through a decoder to UTF-8; an error of either side ends the other. */
function decoded(source: Readable, encoding: 'gb18030'): Readable {
  const transform = toUtf8(encoding);
  source.on('error', (err) => transform.destroy(err));
  transform.on('close', () => source.destroy());
  return source.pipe(transform);
}

/**
 * A workbook's rows; exceljs and yauzl are loaded on the first row read, so that a CSV run never
 * loads them.
 */
function xlsxReading(
  path: string,
  defaultBiz: string | undefined,
  data: Buffer | undefined,
  sheet: string | undefined,
): InputReading {
  let reading: { bytesRead(): number } | undefined;
  async function* rows(): AsyncGenerator<InputRow> {
    const { readSheetRows } = await import('./xlsx-rows.js');
    const sheetReading = readSheetRows(data ?? path, path, sheet, defaultBiz);
    reading = sheetReading;
    yield* sheetReading.rows;
  }
  return { rows: rows(), bytesRead: () => reading?.bytesRead() ?? 0 };
}

/** A row's request, with the problems of its cells when it has any. */
function withCellProblems(
  line: number,
  request: Record<string, unknown>,
  reading: CellReading,
): InputRow {
  const problems = cellProblems(request, reading);
  return problems.length > 0 ? { line, request, problems } : { line, request };
}

async function* csvRows(
  path: string,
  source: Readable,
  defaultBiz: string | undefined,
  reading: CellReading,
) {
  const parser = parse({
    bom: true,
    info: true,
    max_record_size: ROW_MAX_BYTES,
    skip_empty_lines: true,
    relax_column_count: true,
    trim: true,
  });
  const bounded = boundedLines(source, ROW_MAX_BYTES, { csvQuotes: true });
  bounded.on('error', (err) => parser.destroy(err));
  bounded.pipe(parser);
  let columns: string[] | undefined;
  /** Where the last record read began: a record too long to read follows it. */
  let lastLine = 0;
  try {
    for await (const { record, info } of parser as AsyncIterable<{
      record: string[];
      info: { lines: number };
    }>) {
      const breaks = record.reduce((n, v) => n + (v.match(/[\r\n]/g)?.length ?? 0), 0);
      const line = info.lines - breaks;
      lastLine = line;
      if (columns === undefined) {
        columns = checkCsvHeader(record, defaultBiz !== undefined);
        continue;
      }
      if (record.length !== columns.length) {
        yield {
          line,
          problem: `has ${record.length} fields; the header has ${columns.length}`,
        } satisfies InputRow;
        continue;
      }
      yield withCellProblems(line, csvRowToRequest(columns, record, defaultBiz), reading);
    }
  } catch (err) {
    if (
      err instanceof LineTooLongError ||
      (err as { code?: unknown }).code === 'CSV_MAX_RECORD_SIZE'
    ) {
      // csv-parse names the line where it stopped, deep inside the record: name where it began
      const where = lastLine === 0 ? 'line 1' : `the row after line ${lastLine}`;
      throw usageError(`${path}: ${where} ${ROW_TOO_LONG} (a quote left open?)`);
    }
    throw readError(path, err);
  } finally {
    bounded.destroy();
    source.destroy();
  }
  if (columns === undefined) throw usageError('the CSV is empty: it has no header row');
}

async function* jsonlRows(
  path: string,
  source: Readable,
  defaultBiz: string | undefined,
  reading: CellReading,
) {
  const bounded = boundedLines(source, ROW_MAX_BYTES);
  const lines = createInterface({ input: bounded, crlfDelay: Infinity });
  let line = 0;
  try {
    for await (const text of lines) {
      line++;
      if (text.trim() === '') continue;
      let row: InputRow;
      try {
        row = withCellProblems(line, jsonLineToRequest(text, defaultBiz), reading);
      } catch (err) {
        row = { line, problem: (err as Error).message };
      }
      yield row;
    }
  } catch (err) {
    throw readError(path, err);
  } finally {
    lines.close();
    bounded.destroy();
    source.destroy();
  }
}

/** A line over the bound: the reading stops there (see {@link ROW_MAX_BYTES}). */
export class LineTooLongError extends Error {
  constructor(readonly line: number) {
    super(`line ${line} ${ROW_TOO_LONG} (one JSON document a line?)`);
  }
}

/**
 * `source` passed on unchanged, failing with a {@link LineTooLongError} as soon as a line runs
 * past `max` bytes without a line break: readline gathers a line whole before it hands it over,
 * however long. Lines end as readline ends them: at `\n`, `\r\n` or a lone `\r`. With
 * `csvQuotes`, a line break inside double quotes does not end the run (a CSV record goes on):
 * csv-parse's own `max_record_size` counts only the fields' text, so a record of endless empty
 * fields (`,,,,`) would grow its array of fields without bound.
 */
export function boundedLines(
  source: Readable,
  max: number,
  { csvQuotes = false }: { csvQuotes?: boolean } = {},
): Transform {
  const LF = 10;
  const CR = 13;
  const QUOTE = 34;
  let line = 1;
  let run = 0;
  /** Whether the last byte passed on was a CR: a LF right after it ends no second line. */
  let afterCr = false;
  let inQuotes = false;
  const bounded = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      // the next LF, CR and quote at or after `from`, found again only once passed (no rescan)
      let lf = chunk.indexOf(LF);
      let cr = chunk.indexOf(CR);
      let quote = csvQuotes ? chunk.indexOf(QUOTE) : -1;
      let from = 0;
      for (;;) {
        if (lf !== -1 && lf < from) lf = chunk.indexOf(LF, from);
        if (cr !== -1 && cr < from) cr = chunk.indexOf(CR, from);
        if (quote !== -1 && quote < from) quote = chunk.indexOf(QUOTE, from);
        const at = earliest(earliest(lf, cr), quote);
        const end = at === -1 ? chunk.length : at;
        if (end > from) afterCr = false;
        run += end - from;
        if (run > max) {
          done(new LineTooLongError(line));
          return;
        }
        if (at === -1) break;
        from = at + 1;
        if (chunk[at] === QUOTE) {
          // `""` inside quotes toggles twice: the state stays right
          inQuotes = !inQuotes;
          afterCr = false;
          run++;
          continue;
        }
        if (!(chunk[at] === LF && afterCr)) line++;
        afterCr = chunk[at] === CR;
        if (inQuotes) run++;
        else run = 0;
      }
      done(null, chunk);
    },
  });
  source.on('error', (err) => bounded.destroy(err));
  return source.pipe(bounded);
}

/** The earlier of two positions found by `indexOf` (-1: not found). */
function earliest(a: number, b: number): number {
  return a === -1 ? b : b === -1 ? a : Math.min(a, b);
}

/**
 * A CSV syntax error by its code, line and field only: csv-parse's message quotes the field it
 * stopped in, which is a name or an identity number.
 */
export function csvSyntaxMessage(err: {
  code?: unknown;
  lines?: unknown;
  column?: unknown;
}): string {
  const code = typeof err.code === 'string' && /^[A-Z_]+$/.test(err.code) ? err.code : 'CSV_ERROR';
  const where = [
    typeof err.lines === 'number' ? `line ${err.lines}` : undefined,
    typeof err.column === 'number' ? `field ${err.column + 1}` : undefined,
  ].filter((w) => w !== undefined);
  return `not valid CSV${where.length > 0 ? ` at ${where.join(', ')}` : ''} (${code})`;
}

/** A read or CSV syntax error as a usage error naming the file; anything else as it is. */
function readError(path: string, err: unknown): unknown {
  if (err instanceof CliError) return err;
  if (err instanceof LineTooLongError) return usageError(`${path}: ${err.message}`);
  const code = (err as { code?: unknown }).code;
  // csv-parse names most codes CSV_*, but not all (INVALID_OPENING_QUOTE)
  if (err instanceof CsvError || (typeof code === 'string' && code.startsWith('CSV_'))) {
    return usageError(`${path}: ${csvSyntaxMessage(err as CsvError)}`);
  }
  if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) {
    return usageError(`cannot read ${path} (${code})`);
  }
  return err;
}
