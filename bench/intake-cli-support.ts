/**
 * The pure parts of the CLI intake benchmark (`intake-cli.ts`): the synthetic applicants' CSV
 * (valid GB 11643 numbers drawn from a seeded generator, face photos as `oss://` references that
 * the preflight does not read) and the same applicants as an `.xlsx` workbook, the TicketIds both
 * sides enqueue, `/proc/<pid>/status` figures, and the baseline child's report line.
 */
import { createWriteStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { once } from 'node:events';
import ExcelJS from 'exceljs';
import { anIdNumber, seededRandom } from '../testkit/generators.js';

/** The CSV's header: the columns the CLI needs for RPMin (Biz comes from `--biz`). */
export const APPLICANT_COLUMNS = ['TicketId', 'Name', 'IdentificationNumber', 'FacePic'] as const;

/** The bucket of the face photos' `oss://` references (never read by the preflight). */
export const FACE_BUCKET = 'bench-faces';

const SURNAMES = ['张', '王', '李', '赵', '陈', '杨', '黄', '周', '吴', '徐', '孙', '马'];
const GIVEN = ['伟', '芳', '娜', '敏', '静', '磊', '洋', '艳', '勇', '军', '杰', '涛', '明'];

/** The TicketId of row `index` (0-based), the same for the CLI's file and the baseline's jobs. */
export function benchTicketId(index: number): string {
  return `bench-${String(index).padStart(7, '0')}`;
}

/**
 * The cells of `count` synthetic applicants, in {@link APPLICANT_COLUMNS}' order: the one source of
 * both the CSV and the workbook, so that the two files hold the same rows for the same seed.
 */
export function* applicantRows(count: number, seed: number): Generator<string[]> {
  const random = seededRandom(seed);
  for (let i = 0; i < count; i++) {
    // the name draws from `random` before the ID number does (the order the CSV always had)
    const name = `${SURNAMES[i % SURNAMES.length] ?? '王'}${GIVEN[Math.floor(random() * GIVEN.length)] ?? '伟'}`;
    const id = benchTicketId(i);
    yield [id, name, anIdNumber(random), `oss://${FACE_BUCKET}:faces/${id}.jpg`];
  }
}

/** The data lines of a CSV of `count` synthetic applicants (no header, no line breaks). */
export function* applicantCsvLines(count: number, seed: number): Generator<string> {
  // no cell holds a comma, a quote or a line break: joined as they are
  for (const cells of applicantRows(count, seed)) yield cells.join(',');
}

/** Writes the CSV of `count` applicants to `path`; resolves with its size in bytes. */
export async function writeApplicantCsv(
  path: string,
  count: number,
  seed: number,
): Promise<number> {
  const out = createWriteStream(path);
  let bytes = 0;
  let chunk = `${APPLICANT_COLUMNS.join(',')}\n`;
  const write = async (text: string) => {
    bytes += Buffer.byteLength(text);
    if (!out.write(text)) await once(out, 'drain');
  };
  for (const line of applicantCsvLines(count, seed)) {
    chunk += `${line}\n`;
    if (chunk.length >= 64 * 1024) {
      await write(chunk);
      chunk = '';
    }
  }
  await write(chunk);
  out.end();
  await once(out, 'finish');
  return bytes;
}

/** How {@link writeApplicantXlsx} lays out the workbook. */
export interface ApplicantXlsxOptions {
  /**
   * Text in a shared-strings table (`t="s"` cells), as Excel and WPS save a workbook; false for
   * inline strings, as exceljs's streaming writer does by default. Default true: the reader must
   * then hold the table (every distinct text) in memory, the case that could grow with the rows.
   */
  sharedStrings?: boolean;
}

/** The sheet's name in the workbook (the only sheet: `enqueue` reads it without `--sheet`). */
export const APPLICANT_SHEET = 'Applicants';

/**
 * Writes the same applicants as {@link writeApplicantCsv} as an `.xlsx` workbook of one sheet
 * (header row, then one row per applicant, every cell a string), with exceljs's streaming
 * WorkbookWriter: each row is committed to the zipped sheet as it is added, so writing 100,000
 * rows holds no row objects (only the shared-strings table, when there is one). The TicketId and
 * IdentificationNumber columns carry Excel's Text format (`@`), as a back office that typed the ID
 * numbers into Excel had to give them. Resolves with the file's size in bytes.
 */
export async function writeApplicantXlsx(
  path: string,
  count: number,
  seed: number,
  options: ApplicantXlsxOptions = {},
): Promise<number> {
  const book = new ExcelJS.stream.xlsx.WorkbookWriter({
    filename: path,
    useSharedStrings: options.sharedStrings ?? true,
    useStyles: true,
  });
  const sheet = book.addWorksheet(APPLICANT_SHEET);
  // set before any row is added: a new cell takes its column's style
  for (const column of ['TicketId', 'IdentificationNumber'] as const) {
    sheet.getColumn(APPLICANT_COLUMNS.indexOf(column) + 1).numFmt = '@';
  }
  sheet.addRow([...APPLICANT_COLUMNS]).commit();
  for (const cells of applicantRows(count, seed)) sheet.addRow(cells).commit();
  sheet.commit();
  await book.commit();
  return (await stat(path)).size;
}

/** The memory figures of `/proc/<pid>/status`, in bytes (undefined when a line is absent). */
export interface ProcMemory {
  /** `VmHWM`: the peak resident set size so far. */
  peakRss: number | undefined;
  /** `VmRSS`: the resident set size now. */
  rss: number | undefined;
}

/** Reads `VmHWM` and `VmRSS` (given in kB) out of a `/proc/<pid>/status` text. */
export function parseProcStatus(text: string): ProcMemory {
  const kb = (name: string): number | undefined => {
    const match = new RegExp(`^${name}:\\s+(\\d+)\\s+kB$`, 'm').exec(text);
    return match?.[1] === undefined ? undefined : Number(match[1]) * 1024;
  };
  return { peakRss: kb('VmHWM'), rss: kb('VmRSS') };
}

/** What the baseline child prints as its last line of output. */
export interface BaselineReport {
  /** Jobs added. */
  jobs: number;
  /** The `addBulk` calls alone (connection and start-up excluded), in ms. */
  addMs: number;
  /** Bytes of one job's data as JSON (the payload size both sides enqueue). */
  payloadBytes: number;
}

/** The baseline's report out of its output (the last line that reads as one), or undefined. */
export function parseBaselineReport(output: string): BaselineReport | undefined {
  const lines = output.trim().split('\n').reverse();
  for (const line of lines) {
    try {
      const value = JSON.parse(line) as Partial<BaselineReport>;
      if (
        typeof value.jobs === 'number' &&
        typeof value.addMs === 'number' &&
        typeof value.payloadBytes === 'number'
      ) {
        return { jobs: value.jobs, addMs: value.addMs, payloadBytes: value.payloadBytes };
      }
    } catch {
      // not the report line
    }
  }
  return undefined;
}

/** Rows per second of `rows` in `ms`. */
export function perSecond(rows: number, ms: number): number {
  return ms > 0 ? (rows * 1000) / ms : 0;
}
