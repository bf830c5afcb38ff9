/**
 * Workbooks as `enqueue` reads them: .xlsx files written by a spreadsheet library (exceljs, both
 * its whole-workbook writer, which keeps text in a shared-strings table, and its streaming writer,
 * which writes inline strings), read back through `readInputRows` row by row. Cells of every kind
 * become text as a CSV field would (never `[object Object]`); an ID number stored as a number, or
 * typed as scientific notation, is refused with how to fix it in Excel.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import ExcelJS from 'exceljs';
import yazl from 'yazl';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CliError, ExitCode } from '../../src/cli/exit-codes.js';
import { readInputRows, type InputRow } from '../../src/cli/input-rows.js';
import { EXCEL_NUMBER_ID } from '../../src/cli/row-cells.js';
import { cellText, columnLetter, workbookSheet } from '../../src/cli/xlsx-rows.js';

const HEADER = ['TicketId', 'Name', 'IdentificationNumber', 'FacePic'];

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cli-xlsx-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function rowsOf(path: string | Buffer, sheet?: string): Promise<InputRow[]> {
  const out: InputRow[] = [];
  const label = typeof path === 'string' ? path : '(standard input)';
  const data = typeof path === 'string' ? undefined : path;
  for await (const row of readInputRows(label, 'xlsx', 'RPMin', data, { sheet }).rows) {
    out.push(row);
  }
  return out;
}

const bindingOf = (row: InputRow | undefined) =>
  row !== undefined && 'request' in row ? row.request.Binding : undefined;

describe('a workbook written by exceljs', () => {
  let path: string;

  beforeAll(async () => {
    const book = new ExcelJS.Workbook();
    book.addWorksheet('Notes', { state: 'hidden' }).addRow(['not the list']);
    const sheet = book.addWorksheet('Applicants');
    sheet.addRow(HEADER);
    // 2: all text, as a column formatted as Text holds it
    sheet.addRow(['x-1', '王芳', '11010519491231002X', 'faces/a.jpg']);
    // 3: the ID number typed into a General cell: Excel keeps it as a number
    sheet.addRow([
      'x-2',
      { richText: [{ text: '欧阳' }, { font: { bold: true }, text: '娜娜' }] },
      // what the cell holds: the nearest double, the last digits gone
      Number('372321199103099416'),
      'faces/a.jpg',
    ]);
    // 4: a TicketId typed as a number, a hyperlinked name, an ID number from a formula
    sheet.addRow([
      12345,
      { text: '李三', hyperlink: 'https://example.test/' },
      { formula: '"110101"&"199003070011"', result: '110101199003070011' },
      'faces/a.jpg',
    ]);
    // 5: a date and a boolean where text belongs
    sheet.addRow(['x-4', new Date(Date.UTC(2024, 2, 1)), true, 'faces/a.jpg']);
    // 6: a TicketId too large for a number to keep, an error value, scientific notation as text
    sheet.addRow([
      Number('123456789012345678901'),
      { error: '#N/A' },
      '1.10101E+17',
      'faces/a.jpg',
    ]);
    // 7: blank; 8: a value under no header
    sheet.addRow([]);
    sheet.getRow(8).values = [
      'x-8',
      '赵六',
      '410381198312056511',
      'faces/a.jpg',
      undefined,
      'stray',
    ];
    path = join(dir, 'applicants.xlsx');
    await book.xlsx.writeFile(path);
  });

  it('chooses the first visible sheet, or the one --sheet names (ignoring case), and names the sheets when there is none', async () => {
    expect(await workbookSheet(path, path, undefined)).toBe('Applicants');
    expect(await workbookSheet(path, path, 'notes')).toBe('Notes');
    const err = await workbookSheet(path, path, 'March').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CliError);
    expect((err as CliError).exitCode).toBe(ExitCode.usage);
    expect((err as CliError).message).toContain(
      'has no sheet "March" (its sheets: "Notes", "Applicants")',
    );
  });

  it('reads every row by its row number, cells as text, with the problems of the cells Excel mangled', async () => {
    const rows = await rowsOf(path);
    expect(rows.map((r) => r.line)).toEqual([2, 3, 4, 5, 6, 8]);
    expect(rows[0]).toEqual({
      line: 2,
      request: {
        TicketId: 'x-1',
        Biz: 'RPMin',
        Binding: {
          Name: '王芳',
          IdentificationNumber: '11010519491231002X',
          FacePic: 'faces/a.jpg',
        },
      },
    });
    expect(rows[1]).toEqual({
      line: 3,
      request: {
        TicketId: 'x-2',
        Biz: 'RPMin',
        Binding: { Name: '欧阳娜娜', FacePic: 'faces/a.jpg' },
      },
      problems: [{ field: 'Binding.IdentificationNumber', message: EXCEL_NUMBER_ID }],
    });
    expect(rows[2]).toMatchObject({
      request: {
        TicketId: '12345',
        Binding: { Name: '李三', IdentificationNumber: '110101199003070011' },
      },
    });
    expect(rows[2]).not.toHaveProperty('problems');
    expect(bindingOf(rows[3])).toEqual({
      Name: '2024-03-01',
      IdentificationNumber: 'TRUE',
      FacePic: 'faces/a.jpg',
    });
    expect(rows[4]).toMatchObject({
      problems: [
        { field: 'TicketId', message: expect.stringContaining('format the column as Text') },
        { field: 'Binding.Name', message: 'is an Excel error value (#N/A)' },
        { field: 'Binding.IdentificationNumber', message: EXCEL_NUMBER_ID },
      ],
    });
    expect(rows[5]).toMatchObject({
      line: 8,
      problems: [{ field: 'row', message: 'has values in column F, which has no header' }],
    });
    expect(JSON.stringify(rows)).not.toContain('[object Object]');
  });

  it('reads the same bytes from standard input, and a named sheet', async () => {
    const rows = await rowsOf(await readFile(path));
    expect(rows).toHaveLength(6);
    await expect(rowsOf(path, 'Notes')).rejects.toThrow('the first row is not a header row');
  });
});

describe('workbooks of every shape', () => {
  it('reads a workbook of inline strings (no shared-strings part), as the streaming writer writes it', async () => {
    const path = join(dir, 'streamed.xlsx');
    const book = new ExcelJS.stream.xlsx.WorkbookWriter({
      filename: path,
      useSharedStrings: false,
    });
    const sheet = book.addWorksheet('名单');
    sheet.addRow(HEADER).commit();
    sheet.addRow(['s-1', '欧阳娜娜', '372321199103099416', 'a.jpg']).commit();
    sheet.commit();
    await book.commit();
    expect(await workbookSheet(path, path, undefined)).toBe('名单');
    const rows = await rowsOf(path);
    expect(bindingOf(rows[0])).toEqual({
      Name: '欧阳娜娜',
      IdentificationNumber: '372321199103099416',
      FacePic: 'a.jpg',
    });
  });

  it('keeps every Chinese name whole across the inflated chunks of a large sheet', async () => {
    const path = join(dir, 'large.xlsx');
    const book = new ExcelJS.Workbook();
    const sheet = book.addWorksheet('Applicants');
    sheet.addRow(HEADER);
    const names = Array.from(
      { length: 6000 },
      (_, i) => `欧阳娜娜${'王芳林'.repeat(1 + (i % 5))}${i}`,
    );
    names.forEach((name, i) => sheet.addRow([`l-${i}`, name, '11010519491231002X', 'a.jpg']));
    await book.xlsx.writeFile(path);
    const rows = await rowsOf(path);
    expect(rows.map((r) => (bindingOf(r) as { Name?: string } | undefined)?.Name)).toEqual(names);
    expect(rows.some((r) => 'problems' in r)).toBe(false);
  });

  it('refuses a file that is not a workbook, and an empty sheet', async () => {
    const notZip = Buffer.from('TicketId,Name\nt,王芳\n');
    await expect(rowsOf(notZip)).rejects.toThrow(/is not an \.xlsx workbook/);
    const empty = new ExcelJS.Workbook();
    empty.addWorksheet('Empty');
    const bytes = Buffer.from(await empty.xlsx.writeBuffer());
    await expect(rowsOf(bytes)).rejects.toThrow('the sheet is empty: it has no header row');
  });

  it('refuses a sheet whose XML breaks off with a usage error that quotes no cell', async () => {
    const path = join(dir, 'broken.xlsx');
    const zip = new yazl.ZipFile();
    const part = (name: string, xml: string) => zip.addBuffer(Buffer.from(xml), name);
    part(
      'xl/workbook.xml',
      '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="A" sheetId="1" r:id="rId1"/></sheets></workbook>',
    );
    part(
      'xl/_rels/workbook.xml.rels',
      '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>',
    );
    part(
      'xl/worksheets/sheet1.xml',
      '<worksheet><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>TicketId</t></is></c></row>' +
        '<row r="2"><c r="A2" t="inlineStr"><is><t>王芳 11010519491231002X</t></is></c></row><row <<<',
    );
    zip.end();
    await pipeline(zip.outputStream, createWriteStream(path));
    const err = await rowsOf(path).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CliError);
    expect((err as CliError).exitCode).toBe(ExitCode.usage);
    expect((err as CliError).message).toBe(
      `${path} cannot be read to its end: its sheet's XML is not well formed (save it again from Excel)`,
    );
  });

  it('turns cells into text the way a CSV would hold them', () => {
    expect(cellText(null, 'Name')).toBeUndefined();
    expect(cellText(false, 'Name')).toEqual({ text: 'FALSE' });
    expect(cellText(new Date(Date.UTC(2024, 0, 2, 3, 4, 5)), 'Name')).toEqual({
      text: '2024-01-02T03:04:05',
    });
    expect(cellText(7, 'TicketId')).toEqual({ text: '7' });
    expect(cellText(Number('110101199003070011'), 'IdentificationNumber')).toEqual({
      problem: EXCEL_NUMBER_ID,
    });
    expect(cellText({ formula: 'A1' }, 'Name')).toEqual({
      problem: 'is a formula without a saved result: open the workbook in Excel and save it again',
    });
    expect(cellText({ sharedFormula: 'A1', result: 12 }, 'IdentificationNumber')).toEqual({
      problem: EXCEL_NUMBER_ID,
    });
    expect(cellText({ some: 'object' }, 'Name')).toEqual({
      problem: 'holds a value that is not text',
    });
    expect([1, 26, 27, 52, 703].map(columnLetter)).toEqual(['A', 'Z', 'AA', 'AZ', 'AAA']);
  });
});
