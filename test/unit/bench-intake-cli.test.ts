import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliBenchSizes } from '../../bench/intake-cli.js';
import {
  APPLICANT_COLUMNS,
  APPLICANT_SHEET,
  applicantCsvLines,
  applicantRows,
  benchTicketId,
  FACE_BUCKET,
  parseBaselineReport,
  parseProcStatus,
  perSecond,
  writeApplicantCsv,
  writeApplicantXlsx,
} from '../../bench/intake-cli-support.js';
import {
  checkCsvHeader,
  csvRowToRequest,
  readInputRows,
  type InputRow,
} from '../../src/cli/input-rows.js';
import { workbookSheet } from '../../src/cli/xlsx-rows.js';
import { checkLocalFiles, parseRow } from '../../src/cli/row-check.js';
import { checkIdNumber } from '../../src/domain/id-number.js';

const ctx = { biz: { RPMin: 'RPMin' } as const, baseDir: '/nowhere', batchId: 'b' };

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bench-intake-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Every row `enqueue` reads out of `path`, as the CLI reads it. */
async function readRows(path: string, format: 'csv' | 'xlsx'): Promise<InputRow[]> {
  const rows: InputRow[] = [];
  for await (const row of readInputRows(path, format, 'RPMin').rows) rows.push(row);
  return rows;
}

describe('the CLI intake benchmark', () => {
  it('writes rows the CLI accepts without reading any file: valid numbers, oss:// photos', () => {
    const columns = checkCsvHeader([...APPLICANT_COLUMNS], true);
    const lines = [...applicantCsvLines(200, 7)];
    expect(lines).toHaveLength(200);
    for (const [i, line] of lines.entries()) {
      const values = line.split(',');
      expect(values).toHaveLength(APPLICANT_COLUMNS.length);
      expect(checkIdNumber(values[2] ?? '').ok).toBe(true);
      const parsed = parseRow(csvRowToRequest(columns, values, 'RPMin'), ctx);
      if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
      expect(parsed.input.ticketId).toBe(benchTicketId(i));
      expect(parsed.input.binding.materials.FacePic).toEqual({
        kind: 'oss',
        ref: `oss://${FACE_BUCKET}:faces/${benchTicketId(i)}.jpg`,
      });
      expect(checkLocalFiles(parsed.input)).toEqual([]);
    }
  });

  it('draws the same rows from the same seed, with distinct TicketIds', () => {
    const a = [...applicantCsvLines(1000, 3)];
    expect([...applicantCsvLines(1000, 3)]).toEqual(a);
    expect(new Set(a.map((l) => l.split(',')[0])).size).toBe(1000);
    expect(benchTicketId(99_999)).toBe('bench-0099999');
  });

  it('writes the CSV lines as the rows joined, the same rows the workbook gets', () => {
    const rows = [...applicantRows(50, 11)];
    expect(rows.every((r) => r.length === APPLICANT_COLUMNS.length)).toBe(true);
    expect([...applicantCsvLines(50, 11)]).toEqual(rows.map((r) => r.join(',')));
  });

  it.each([
    ['shared strings, as Excel saves it', true],
    ['inline strings', false],
  ])(
    'writes a workbook (%s) that the CLI reads back as the same requests as the CSV',
    async (_, sharedStrings) => {
      const count = 40;
      const xlsx = join(dir, `applicants-${String(sharedStrings)}.xlsx`);
      const csv = join(dir, `applicants-${String(sharedStrings)}.csv`);
      const bytes = await writeApplicantXlsx(xlsx, count, 5, { sharedStrings });
      expect(bytes).toBeGreaterThan(0);
      await writeApplicantCsv(csv, count, 5);
      expect(await workbookSheet(xlsx, xlsx, undefined)).toBe(APPLICANT_SHEET);
      const fromXlsx = await readRows(xlsx, 'xlsx');
      const fromCsv = await readRows(csv, 'csv');
      expect(fromXlsx).toHaveLength(count);
      const expected = [...applicantRows(count, 5)];
      for (const [i, row] of fromXlsx.entries()) {
        // the header is the sheet's row 1: the applicants start at row 2, with no problems
        expect(row.line).toBe(i + 2);
        if (!('request' in row)) throw new Error(row.problem);
        expect(row.problems).toBeUndefined();
        const csvRow = fromCsv[i];
        if (csvRow === undefined || !('request' in csvRow)) throw new Error(`CSV row ${i}`);
        expect(row.request).toEqual(csvRow.request);
        const [ticketId, name, idNumber] = expected[i] ?? [];
        expect(row.request.TicketId).toBe(ticketId);
        expect(row.request.Binding).toMatchObject({ Name: name, IdentificationNumber: idNumber });
        const parsed = parseRow(row.request, ctx);
        if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
        expect(parsed.input.ticketId).toBe(benchTicketId(i));
      }
    },
  );

  it('reads the peak and current resident set sizes out of /proc/<pid>/status', () => {
    const status = 'Name:\tnode\nVmPeak:\t 1200000 kB\nVmHWM:\t  263512 kB\nVmRSS:\t  201000 kB\n';
    expect(parseProcStatus(status)).toEqual({ peakRss: 263512 * 1024, rss: 201000 * 1024 });
    expect(parseProcStatus('Name:\tnode\nState:\tZ (zombie)\n')).toEqual({
      peakRss: undefined,
      rss: undefined,
    });
  });

  it("takes the baseline's report from the last line that reads as one", () => {
    const output = [
      '{"level":40,"msg":"Redis runs without an AOF"}',
      '{"jobs":100000,"addMs":7483.5,"payloadBytes":28}',
      '',
    ].join('\n');
    expect(parseBaselineReport(output)).toEqual({ jobs: 100000, addMs: 7483.5, payloadBytes: 28 });
    expect(parseBaselineReport('Error: connect ECONNREFUSED\n')).toBeUndefined();
  });

  it('counts rows per second, and nothing in no time', () => {
    expect(perSecond(100_000, 50_000)).toBe(2000);
    expect(perSecond(10, 0)).toBe(0);
  });

  it('compares peak RSS at two sizes ten times apart in a full run; quick runs are smaller', () => {
    const full = cliBenchSizes(false);
    expect(full.large).toBe(100_000);
    expect(full.large / full.small).toBe(10);
    const quick = cliBenchSizes(true);
    expect(quick.large).toBeLessThan(full.large);
    expect(quick.small).toBeLessThan(quick.large);
    expect(quick.rounds).toBeGreaterThanOrEqual(2);
  });
});
