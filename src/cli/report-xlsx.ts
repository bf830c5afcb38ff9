/**
 * `report --out results.xlsx`: the report as a workbook of one sheet, written with exceljs's
 * streaming WorkbookWriter (rows are committed as they come, inline strings rather than a shared
 * table: memory stays flat in the number of tickets).
 *
 * The cells are the CSV's, typed: text as text, scores and status codes as numbers, `emulated` as
 * a boolean. The identifier columns (TicketId, OuterOrderNo, CertifyId, …) are text cells in
 * columns formatted as Text (`@`), so that Excel never turns a numeric TicketId into 1.2E+17.
 * Every text cell goes through the CSV's formula-cell protection ({@link csvSafeCell}): a string
 * cell of an .xlsx is not evaluated as it stands, but one copied, re-saved as CSV or edited is, and
 * readers of both reports see the same values.
 */
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { csvSafeCell, REPORT_COLUMNS, type ReportRow } from './report-command.js';

/** The columns whose cells are numbers or booleans; every other is written as Text. */
const VALUE_COLUMNS: ReadonlySet<(typeof REPORT_COLUMNS)[number]> = new Set([
  'statusCode',
  'similarityScore',
  'trustedScore',
  'authorityComparisonScore',
  'emulated',
] as const);

/**
 * Columns written as Text: identifiers, whatever digits they hold, and any column added to the
 * report later (Text is the side that never mangles an ID).
 */
const TEXT_COLUMNS: ReadonlySet<string> = new Set(
  REPORT_COLUMNS.filter((column) => !VALUE_COLUMNS.has(column)),
);

/** Column widths, in characters, for a sheet that reads without resizing. */
const WIDTHS: Partial<Record<(typeof REPORT_COLUMNS)[number], number>> = {
  TicketId: 24,
  errorMessage: 40,
  createdAt: 25,
  finishedAt: 25,
  outerOrderNo: 34,
  certifyId: 34,
};

/**
 * What the sheet's XML is written into, to wait for when it is full. exceljs writes a sheet into a
 * buffer of its own (`StreamBuf`) that passes every chunk on to the ZIP archiver's input without
 * heeding its answer, so a fast source of rows fills that input (measured: +150 MB over 400,000
 * rows); waiting for the input's `drain` whenever it asks for one keeps memory flat. Found through
 * the writer's internals (`stream.pipes[0]`, a readable-stream PassThrough): when exceljs holds them
 * otherwise, there is nothing to wait for and rows are written as before.
 */
function sheetSink(sheet: unknown): { needsDrain(): boolean; drained(): Promise<unknown> } {
  type Sink = NodeJS.EventEmitter & { _writableState?: { needDrain?: unknown } };
  const pipes = (sheet as { stream?: { pipes?: unknown } }).stream?.pipes;
  const sink = Array.isArray(pipes) ? (pipes[0] as Sink | undefined) : undefined;
  return {
    needsDrain: () => sink?._writableState?.needDrain === true,
    drained: () => (sink === undefined ? Promise.resolve() : once(sink, 'drain')),
  };
}

/** A report row as the sheet's cells: empty cells left out, text protected. Pure. */
export function xlsxCells(row: ReportRow): Record<string, string | number | boolean | null> {
  const cells: Record<string, string | number | boolean | null> = {};
  for (const column of REPORT_COLUMNS) {
    const value = row[column];
    cells[column] = typeof value === 'string' ? (value === '' ? null : csvSafeCell(value)) : value;
  }
  return cells;
}

/** Writes `rows` to `out` as a workbook; resolves when `out` has taken the whole file. */
export async function writeXlsxReport(
  rows: AsyncIterable<ReportRow>,
  out: Writable,
): Promise<void> {
  const { default: ExcelJS } = await import('exceljs');
  const workbook = new ExcelJS.stream.xlsx.WorkbookWriter({
    stream: out,
    useStyles: true,
    useSharedStrings: false,
  });
  const sheet = workbook.addWorksheet('Report');
  sheet.columns = REPORT_COLUMNS.map((key) => ({
    header: key,
    key,
    width: WIDTHS[key] ?? Math.max(10, key.length + 2),
    ...(TEXT_COLUMNS.has(key) ? { style: { numFmt: '@' } } : {}),
  }));
  try {
    for await (const row of rows) {
      sheet.addRow(xlsxCells(row)).commit();
      // the sheet's XML goes to the zip through a buffer that does not push back (see sheetSink)
      const sink = sheetSink(sheet);
      if (sink.needsDrain()) await sink.drained();
    }
    sheet.commit();
    await workbook.commit();
  } catch (err) {
    // the rows failed (the store, the API) or the output did: nothing more is written
    out.destroy();
    throw err;
  }
}
