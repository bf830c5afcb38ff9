/**
 * Reading an `.xlsx` workbook's rows (`enqueue applicants.xlsx [--sheet NAME]`) with the same
 * header mapping as a CSV, streamed: the sheet's XML is parsed as it inflates, row by row.
 *
 * The parsing is exceljs's (its streaming WorkbookReader and WorksheetReader, with
 * `sharedStrings: 'emit'` into our compact table, `styles: 'cache'` so that date cells read as
 * dates, `hyperlinks: 'ignore'` so that a link cell reads as its text). The workbook's parts are
 * handed to it from a {@link ZipArchive}, in the order it needs them, rather than as one stream:
 * exceljs's own reader takes the ZIP front to back, and when a sheet comes before the shared
 * strings (as Excel writes them) or the workbook has no shared strings at all (as exceljs's
 * streaming writer writes it), it copies the sheet to a temporary file first, which would put ID
 * numbers on disk. Here the workbook part, its relationships, the styles and the shared strings
 * are read first by random access, then the chosen sheet is streamed: nothing is written to
 * disk. This drives the reader's underscore methods (`_parseWorkbook` and the others), which
 * exceljs 4 has kept unchanged since 4.0; {@link readerOf} checks they are there and fails
 * plainly if not.
 *
 * Memory: the sheet streams, but the shared-strings table (every distinct text of the workbook)
 * is held whole, as any xlsx reader must to resolve a cell's index into it: it grows with the
 * distinct names and numbers typed as text, not with the photos. It is held as UTF-8 bytes outside
 * V8's heap ({@link SharedStrings}: about 60 bytes a row), not as exceljs's JavaScript strings.
 *
 * Cells become text as a CSV field would (see {@link cellText}): never `[object Object]`. An
 * IdentificationNumber that Excel stored as a number is refused with how to fix it in Excel (a
 * number keeps 15 significant digits; an 18-digit ID number has lost its last three).
 */
import { stat } from 'node:fs/promises';
import { posix } from 'node:path';
import { Readable } from 'node:stream';
import type { Row } from 'exceljs';
import {
  checkCsvHeader,
  csvRowToRequest,
  fieldOfColumn,
  ROW_MAX_BYTES,
  ROW_TOO_LONG,
  type InputRow,
} from './input-rows.js';
import { cellProblems, EXCEL_NUMBER_ID, excelNumberText } from './row-cells.js';
import type { RowProblem } from './row-check.js';
import { CliError, usageError } from './exit-codes.js';
import { ZipArchive, ZipEntryError } from './zip-archive.js';
import { SharedStrings, type EmittedSharedString } from './xlsx-shared-strings.js';
import { XmlDepth, XmlTooDeepError } from './xml-depth.js';

/** Most parts a workbook may have (each sheet is one or a few: Excel allows far fewer sheets). */
const WORKBOOK_MAX_PARTS = 100_000;
/** Most bytes of a workbook part read whole (the workbook, its relationships, the styles). */
const PART_MAX_BYTES = 64 * 1024 * 1024;
/** Most bytes of the shared-strings part (held parsed in memory: see the module's comment). */
const SHARED_STRINGS_MAX_BYTES = 512 * 1024 * 1024;
/** Most bytes of a sheet's XML (streamed; the bound only refuses a nonsensical declared size). */
const SHEET_MAX_BYTES = 2 ** 40;

/** A sheet of the workbook. */
interface SheetEntry {
  name: string;
  state: string;
  /** The sheet's XML part in the archive. */
  part: string | undefined;
  /** The number in `sheetN.xml`: exceljs names the sheet by it. */
  sheetNo: string;
}

/** What this module uses of exceljs's WorksheetReader. */
interface SheetReader extends AsyncIterable<Row> {
  name: string;
}

/** What this module uses of exceljs's WorkbookReader (see the module's comment). */
interface ReaderInternals {
  _parseRels(entry: Readable): Promise<void>;
  _parseWorkbook(entry: Readable): Promise<void>;
  _parseStyles(entry: Readable): Promise<void>;
  _parseSharedStrings(entry: Readable): AsyncIterable<EmittedSharedString>;
  _parseWorksheet(
    iterator: AsyncIterable<unknown>,
    sheetNo: string,
  ): Iterable<{ eventType: string; value: SheetReader }>;
  model?: { sheets?: { name: string; rId: string; state?: string }[] };
  /** What the worksheet reader resolves a shared-string cell's index in. */
  sharedStrings?: Readonly<Record<number, unknown>>;
  workbookRels?: { Id: string; Target: string }[];
}

/** A workbook open for reading: its sheets, and the reader primed with its shared parts. */
interface OpenWorkbook {
  archive: ZipArchive;
  reader: ReaderInternals;
  /** The shared-strings table (empty when the workbook has none); see `readSheetRows`. */
  table: SharedStrings;
  sheets: SheetEntry[];
}

/** exceljs's reader, loaded when a workbook is read (it takes half a second to load). */
async function readerOf(): Promise<ReaderInternals> {
  const { default: ExcelJS } = await import('exceljs');
  const reader = new ExcelJS.stream.xlsx.WorkbookReader(undefined as unknown as string, {
    worksheets: 'emit',
    sharedStrings: 'emit',
    hyperlinks: 'ignore',
    styles: 'cache',
    entries: 'ignore',
  }) as unknown as ReaderInternals;
  for (const method of [
    '_parseRels',
    '_parseWorkbook',
    '_parseStyles',
    '_parseSharedStrings',
    '_parseWorksheet',
  ] as const) {
    if (typeof reader[method] !== 'function') {
      throw new Error(`this exceljs has no WorkbookReader.${method}: the workbook cannot be read`);
    }
  }
  return reader;
}

/**
 * A part's bytes as text, decoded as they stream: exceljs decodes each chunk on its own, which
 * turns a character split between two chunks (any Chinese name, sooner or later) into two U+FFFD;
 * given text, it decodes nothing. `onBytes` is told of every chunk's size. Its nesting is
 * followed on the way ({@link XmlDepth}): a part nesting too deep, or ending with elements still
 * open, fails with a ZipEntryError.
 */
async function* utf8Text(
  stream: AsyncIterable<Buffer>,
  onBytes: (n: number) => void = () => undefined,
): AsyncGenerator<string> {
  const decoder = new TextDecoder('utf-8');
  const depth = new XmlDepth();
  const checked = (text: string): string => {
    try {
      depth.feed(text);
    } catch (err) {
      if (err instanceof XmlTooDeepError) throw new ZipEntryError(err.message);
      throw err;
    }
    return text;
  };
  const chunks = stream[Symbol.asyncIterator]();
  for (;;) {
    let next: IteratorResult<Buffer>;
    try {
      next = await chunks.next();
    } catch (err) {
      // zlib's error, or yauzl's when the part inflates to more than it declared
      const code = (err as { code?: unknown }).code;
      throw new ZipEntryError(`cannot be inflated${typeof code === 'string' ? ` (${code})` : ''}`);
    }
    if (next.done === true) break;
    onBytes(next.value.length);
    const text = decoder.decode(next.value, { stream: true });
    if (text !== '') yield checked(text);
  }
  const rest = decoder.decode();
  if (rest !== '') yield checked(rest);
  // exceljs never tells its parser the text has ended: a part cut short would read as complete
  if (depth.depth > 0) throw new ZipEntryError('ends before its XML does (cut short?)');
}

/** Reads one part into the reader, when the workbook has it; `onBytes` as for {@link utf8Text}. */
async function feed(
  archive: ZipArchive,
  name: string,
  max: number,
  f: (entry: Readable) => Promise<void>,
  onBytes?: (n: number) => void,
): Promise<void> {
  if (!archive.has(name)) return;
  const stream = await archive.stream(name, max);
  try {
    // a stream of strings: exceljs's part readers listen to 'data' events
    await f(Readable.from(utf8Text(stream, onBytes)));
  } finally {
    stream.destroy();
  }
}

/**
 * Counts the XML handed to exceljs since the last thing it produced (a row, a shared string) and
 * fails with a {@link ZipEntryError} past {@link ROW_MAX_BYTES}: exceljs's SAX parser gathers a
 * text or a tag whole, so a cell of endless text (a few MB of ZIP inflate to GB) would otherwise
 * be held whole. The XML is counted as it inflates, chunk by chunk, so the bound holds to within
 * a chunk. `what()` says what came last, for the message.
 */
function xmlRunBound(what: () => string): {
  onBytes: (n: number) => void;
  produced: () => void;
} {
  let run = 0;
  return {
    onBytes: (n) => {
      run += n;
      if (run > ROW_MAX_BYTES) throw new ZipEntryError(`${what()} ${ROW_TOO_LONG}`);
    },
    produced: () => {
      run = 0;
    },
  };
}

/** `worksheets/sheet1.xml` (relative to xl/) or `/xl/worksheets/sheet1.xml` as the part's name. */
function partName(target: string): string {
  return target.startsWith('/')
    ? posix.normalize(target.slice(1))
    : posix.normalize(posix.join('xl', target));
}

/** Opens the workbook in `source` (a path, or standard input's bytes), reading its shared parts. */
async function openWorkbook(source: string | Buffer, label: string): Promise<OpenWorkbook> {
  let archive: ZipArchive;
  try {
    archive = await ZipArchive.open(source, WORKBOOK_MAX_PARTS);
  } catch (err) {
    if (err instanceof ZipEntryError) throw usageError(`${label} ${err.message}`);
    throw usageError(
      `${label} is not an .xlsx workbook (a ZIP of XML parts): an .xls, or another file renamed? Save it from Excel as "Excel Workbook (.xlsx)"`,
    );
  }
  try {
    if (!archive.has('xl/workbook.xml')) {
      throw usageError(`${label} is not an .xlsx workbook: it has no xl/workbook.xml`);
    }
    const reader = await readerOf();
    const parts: [string, string, (e: Readable) => Promise<void>][] = [
      ['xl/_rels/workbook.xml.rels', "workbook's relationships part", (e) => reader._parseRels(e)],
      ['xl/workbook.xml', 'workbook part', (e) => reader._parseWorkbook(e)],
      ['xl/styles.xml', 'styles part', (e) => reader._parseStyles(e)],
    ];
    for (const [name, part, parse] of parts) {
      try {
        await feed(archive, name, PART_MAX_BYTES, parse);
      } catch (err) {
        // exceljs's messages may quote the part's elements and attributes
        throw brokenPart(label, part, err);
      }
    }
    const table = new SharedStrings();
    const bound = xmlRunBound(() => `has a shared text (number ${table.size + 1}) that`);
    try {
      await feed(
        archive,
        'xl/sharedStrings.xml',
        SHARED_STRINGS_MAX_BYTES,
        async (e) => {
          for await (const entry of reader._parseSharedStrings(e)) {
            table.addEmitted(entry);
            bound.produced();
          }
        },
        bound.onBytes,
      );
    } catch (err) {
      throw brokenPart(label, 'shared-strings part', err);
    }
    const rels = new Map((reader.workbookRels ?? []).map((r) => [r.Id, r.Target]));
    const sheets = (reader.model?.sheets ?? []).map((s): SheetEntry => {
      const target = rels.get(s.rId);
      const part = target === undefined ? undefined : partName(target);
      return {
        name: s.name,
        state: s.state ?? 'visible',
        part,
        sheetNo: /sheet(\d+)\.xml$/.exec(part ?? '')?.[1] ?? '0',
      };
    });
    return { archive, reader, table, sheets };
  } catch (err) {
    archive.close();
    throw err;
  }
}

/**
 * The sheet `wanted` names (exactly, else ignoring case), or the first visible sheet; a usage
 * error naming the sheets when there is no such sheet.
 */
function chooseSheet(sheets: readonly SheetEntry[], wanted: string | undefined, label: string) {
  // at most 20 named: a workbook may have thousands of sheets
  const names =
    sheets
      .slice(0, 20)
      .map((s) => JSON.stringify(s.name))
      .join(', ') + (sheets.length > 20 ? ` and ${sheets.length - 20} more` : '');
  if (wanted === undefined) {
    const sheet = sheets.find((s) => s.state === 'visible') ?? sheets[0];
    if (sheet === undefined) throw usageError(`${label} has no sheet`);
    return sheet;
  }
  const sheet =
    sheets.find((s) => s.name === wanted) ??
    sheets.find((s) => s.name.toLowerCase() === wanted.toLowerCase());
  if (sheet === undefined) {
    throw usageError(`${label} has no sheet ${JSON.stringify(wanted)} (its sheets: ${names})`);
  }
  return sheet;
}

/**
 * The name of the sheet `enqueue` reads: `wanted`, or the first visible one. Opens the workbook to
 * find out (usage errors for a file that is not a workbook or has no such sheet), then closes it.
 */
export async function workbookSheet(
  source: string | Buffer,
  label: string,
  wanted: string | undefined,
): Promise<string> {
  const book = await openWorkbook(source, label);
  try {
    return chooseSheet(book.sheets, wanted, label).name;
  } finally {
    book.archive.close();
  }
}

/** A cell as a CSV field would read it, or why it cannot be one. */
export type CellText = { text: string } | { problem: string };

/** A JavaScript date as Excel shows it: `2024-03-01`, or with its time when it has one. */
function dateText(d: Date): string {
  const iso = d.toISOString();
  return iso.endsWith('T00:00:00.000Z') ? iso.slice(0, 10) : iso.slice(0, 19);
}

/**
 * A cell's value as text for `column`: strings as they are; rich text as its runs' text; a
 * formula as its saved result; a hyperlink as its text; a date as `yyyy-mm-dd` (with its time if
 * it has one); a boolean as `TRUE`/`FALSE`, as Excel shows it. A number is its decimal text,
 * except an IdentificationNumber (refused: see {@link EXCEL_NUMBER_ID}) and a TicketId beyond the
 * integers a number holds exactly. An error value (`#N/A`) is refused by its code. Undefined for
 * an empty cell.
 */
export function cellText(value: unknown, column: string): CellText | undefined {
  if (value === null || value === undefined) return undefined;
  if (typeof value === 'string') return { text: value };
  if (typeof value === 'boolean') return { text: value ? 'TRUE' : 'FALSE' };
  if (typeof value === 'number') {
    if (column === 'IdentificationNumber') return { problem: EXCEL_NUMBER_ID };
    if (column === 'TicketId' && !Number.isSafeInteger(value)) {
      return {
        problem:
          'stored by Excel as a number too large to keep exactly: format the column as Text and type the TicketIds again',
      };
    }
    return Number.isFinite(value)
      ? { text: excelNumberText(value) }
      : { problem: 'is not a number Excel can show' };
  }
  if (value instanceof Date) {
    return Number.isNaN(value.getTime())
      ? { problem: 'is not a valid date' }
      : { text: dateText(value) };
  }
  if (typeof value === 'object') {
    const v = value as Record<string, unknown>;
    if (Array.isArray(v.richText)) {
      return {
        text: (v.richText as { text?: unknown }[])
          .map((run) => (typeof run.text === 'string' ? run.text : ''))
          .join(''),
      };
    }
    if ('formula' in v || 'sharedFormula' in v) {
      if (v.result === undefined || v.result === null) {
        return {
          problem:
            'is a formula without a saved result: open the workbook in Excel and save it again',
        };
      }
      if (typeof v.result === 'number' && Number.isNaN(v.result)) {
        return { problem: 'is a formula whose result is an error' };
      }
      return cellText(v.result, column);
    }
    if ('hyperlink' in v && 'text' in v) return cellText(v.text, column);
    if (typeof v.error === 'string') {
      const code = /^#[A-Z0-9/!?]{1,8}$/.test(v.error) ? ` (${v.error})` : '';
      return { problem: `is an Excel error value${code}` };
    }
  }
  return { problem: 'holds a value that is not text' };
}

/** A streamed reading of a sheet. */
export interface SheetReading {
  rows: AsyncIterable<InputRow>;
  bytesRead(): number;
}

/** Excel's name of a column: 1 → A, 27 → AA. */
export function columnLetter(n: number): string {
  let s = '';
  for (let k = n; k > 0; k = Math.floor((k - 1) / 26)) {
    s = String.fromCharCode(65 + ((k - 1) % 26)) + s;
  }
  return s;
}

/** The cells of a row by column number (1-based), as exceljs holds them. */
function cellsOf(row: Row): unknown[] {
  const values = row.values;
  return Array.isArray(values) ? values : [];
}

/**
 * The rows of `sheet` (default the first visible one) of the workbook in `source`, one request per
 * data row; `line` is the row's number in the sheet. The first row that has a value is the header.
 */
export function readSheetRows(
  source: string | Buffer,
  label: string,
  sheet: string | undefined,
  defaultBiz: string | undefined,
): SheetReading {
  let fileSize = typeof source === 'string' ? 0 : source.length;
  let sheetSize = 1;
  let consumed = 0;
  async function* rows(): AsyncGenerator<InputRow> {
    if (typeof source === 'string') fileSize = (await stat(source)).size;
    const book = await openWorkbook(source, label);
    let stream: Readable | undefined;
    try {
      const chosen = chooseSheet(book.sheets, sheet, label);
      if (chosen.part === undefined || !book.archive.has(chosen.part)) {
        throw usageError(`${label}: the sheet ${JSON.stringify(chosen.name)} has no cells part`);
      }
      sheetSize = Math.max(1, book.archive.declaredSize(chosen.part) ?? 1);
      const opened = await book.archive.stream(chosen.part, SHEET_MAX_BYTES);
      stream = opened;
      let lastRow = 0;
      const bound = xmlRunBound(() =>
        lastRow === 0 ? 'has a first row that' : `has a row after row ${lastRow} that`,
      );
      const text = utf8Text(opened, (n) => {
        consumed += n;
        bound.onBytes(n);
      });
      // each cell naming a shared text gets its own copy, and exceljs builds every row of an
      // inflated chunk before handing one over: the texts count into the same bound, so that one
      // long text named by thousands of cells is not copied thousands of times
      book.reader.sharedStrings = book.table.indexable(bound.onBytes);
      const readers = [...book.reader._parseWorksheet(text, chosen.sheetNo)];
      const reader = readers[0]?.value;
      if (reader === undefined) throw new Error('exceljs did not read the sheet');
      let columns: Map<number, string> | undefined;
      const iterator = reader[Symbol.asyncIterator]();
      for (;;) {
        let next: IteratorResult<Row>;
        try {
          next = await iterator.next();
        } catch (err) {
          throw brokenSheet(label, err);
        }
        if (next.done === true) break;
        const row = next.value;
        lastRow = row.number;
        bound.produced();
        const cells = cellsOf(row);
        if (!cells.some((v) => v !== null && v !== undefined && v !== '')) continue;
        if (columns === undefined) {
          columns = headerOf(cells, defaultBiz);
          continue;
        }
        yield rowOf(row.number, cells, columns, defaultBiz);
      }
      if (columns === undefined)
        throw usageError(`${label}: the sheet is empty: it has no header row`);
    } finally {
      stream?.destroy();
      book.archive.close();
    }
  }
  return {
    rows: rows(),
    bytesRead: () => Math.min(fileSize, Math.round((fileSize * consumed) / sheetSize)),
  };
}

/**
 * A sheet that could not be read to its end, as a usage error that names no cell: the XML
 * parser's message could quote the text it stopped in.
 */
function brokenSheet(label: string, err: unknown): unknown {
  return brokenPart(label, 'sheet', err);
}

/** A part that could not be read to its end (see {@link brokenSheet}). */
function brokenPart(label: string, part: string, err: unknown): unknown {
  if (err instanceof CliError) return err;
  const why =
    err instanceof ZipEntryError
      ? `its ${part} ${err.message}`
      : `its ${part}'s XML is not well formed`;
  return usageError(`${label} cannot be read to its end: ${why} (save it again from Excel)`);
}

/** The header row's columns by column number, checked as a CSV header is. */
function headerOf(cells: readonly unknown[], defaultBiz: string | undefined): Map<number, string> {
  const numbers: number[] = [];
  const names: string[] = [];
  cells.forEach((value, col) => {
    const cell = cellText(value, '');
    if (cell === undefined || !('text' in cell) || cell.text.trim() === '') return;
    numbers.push(col);
    names.push(cell.text);
  });
  const checked = checkCsvHeader(names, defaultBiz !== undefined, 'sheet');
  return new Map(numbers.map((col, i) => [col, checked[i] ?? '']));
}

/** A data row as a request, with the problems of its cells. */
function rowOf(
  line: number,
  cells: readonly unknown[],
  columns: ReadonlyMap<number, string>,
  defaultBiz: string | undefined,
): InputRow {
  const names = [...columns.values()];
  const values: string[] = names.map(() => '');
  const index = new Map(names.map((name, i) => [name, i]));
  const problems: RowProblem[] = [];
  const stray: string[] = [];
  cells.forEach((value, col) => {
    const column = columns.get(col);
    const cell = cellText(value, column ?? '');
    if (cell === undefined) return;
    if (column === undefined) {
      if (!('text' in cell) || cell.text.trim() !== '') stray.push(columnLetter(col));
      return;
    }
    if ('problem' in cell) {
      problems.push({ field: fieldOfColumn(column), message: cell.problem });
      return;
    }
    values[index.get(column) ?? 0] = cell.text;
  });
  if (stray.length > 0) {
    problems.push({
      field: 'row',
      message: `has values in column${stray.length > 1 ? 's' : ''} ${stray.join(', ')}, which ${stray.length > 1 ? 'have' : 'has'} no header`,
    });
  }
  const request = csvRowToRequest(names, values, defaultBiz);
  // text cells as a CSV's are: debris in a name, an ID number typed as 1.10101E+17
  problems.push(...cellProblems(request, { format: 'xlsx' }));
  return problems.length > 0 ? { line, request, problems } : { line, request };
}
