/**
 * The command line as a back-office operator in mainland China runs it (issue 20): lists saved by
 * Excel on Chinese Windows (a GBK CSV), a GB18030 CSV with a character outside GBK, UTF-8 CSVs
 * with and without a byte order mark, .xlsx workbooks with the ID column once as numbers and once
 * as text, and the photos handed over as one ZIP. Every file is written by a real tool in the
 * test (iconv-lite, exceljs, yazl), the CLI is a child process on the orchestrator's Redis prefix,
 * and the emulator's record of each submitted Binding shows the name that reached the provider.
 */
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import ExcelJS from 'exceljs';
import iconv from 'iconv-lite';
import yazl from 'yazl';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SOURCE_LIMIT_BYTES } from '../../src/adapters/oss/image-header.js';
import { EXCEL_NUMBER_ID } from '../../src/cli/row-cells.js';
import { runCliProcess, type CliRun } from '../support/cli-process.js';
import { smallJpeg } from '../support/images.js';
import { startTestOrchestrator, type TestOrchestrator } from '../support/orchestrator.js';

const TOKEN = 'excel-e2e-token-0123456789abcdef';
/** A character outside GBK, in GB18030: U+20000. */
const RARE = '𠀀';
const HEADER = 'TicketId,Name,IdentificationNumber,FacePic';

/** [TicketId, name, ID number]: every valid applicant, each in one input file. */
const GBK_ROWS = [
  ['g-1', '王芳', '11010519491231002X'],
  ['g-2', '欧阳娜娜', '372321199103099416'],
] as const;
const GB18030_ROWS = [['r-1', `林${RARE}`, '410381198312056511']] as const;
const UTF8_ROWS = [['u-1', '欧阳娜娜', '110101199003070011']] as const;
const BOM_ROWS = [['b-1', '王芳', '11010519491231002X']] as const;
const XLSX_ROWS = [
  ['x-1', '王芳', '11010519491231002X', 'faces/wf.jpg'],
  ['=2+3', '欧阳娜娜', '372321199103099416', 'faces\\oy.jpg'],
  ['x-3', `林${RARE}`, '410381198312056511', './faces/wf.jpg'],
] as const;

let o: TestOrchestrator;
let dir: string;

function cli(...args: string[]): Promise<CliRun> {
  return runCliProcess({ ...o.env, CAO_API_TOKEN: TOKEN }, args);
}

const csvText = (rows: readonly (readonly string[])[]) =>
  `${[HEADER, ...rows.map((r) => `${r.join(',')},faces/a.jpg`)].join('\r\n')}\r\n`;

/** The name the emulator was given for the ticket (SubmitMaterials' Name material). */
function submittedName(ticketId: string): string | undefined {
  return o.emu.cloudauth.registry.ticket('RPMin', ticketId)?.submissions.at(-1)?.materials.Name;
}

async function writeZip(path: string, entries: Record<string, Buffer>): Promise<void> {
  const zip = new yazl.ZipFile();
  for (const [name, data] of Object.entries(entries)) zip.addBuffer(data, name);
  zip.end();
  await pipeline(zip.outputStream, createWriteStream(path));
}

/** A workbook of applicants written by exceljs, the ID column as `ids` says. */
async function writeWorkbook(
  path: string,
  rows: readonly (readonly [string, string, string, string])[],
  ids: 'number' | 'text',
): Promise<void> {
  const book = new ExcelJS.Workbook();
  const sheet = book.addWorksheet('申请人');
  sheet.addRow(['TicketId', 'Name', 'IdentificationNumber', 'FacePic']);
  for (const [ticketId, name, id, pic] of rows) {
    // a number, as Excel keeps an ID typed into a General cell (15 significant digits)
    sheet.addRow([ticketId, name, ids === 'number' ? Number(id.replace('X', '0')) : id, pic]);
  }
  sheet.getColumn(3).numFmt = ids === 'number' ? 'General' : '@';
  await book.xlsx.writeFile(path);
}

beforeAll(async () => {
  o = await startTestOrchestrator({ http: true, env: { API_TOKENS: TOKEN } });
  dir = await mkdtemp(join(tmpdir(), 'cli-excel-'));
  const face = await smallJpeg('#8a6b4e');
  await mkdir(join(dir, 'faces'));
  await writeFile(join(dir, 'faces/a.jpg'), face);
  await writeFile(join(dir, 'gbk.csv'), iconv.encode(csvText(GBK_ROWS), 'gbk'));
  await writeFile(join(dir, 'gb18030.csv'), iconv.encode(csvText(GB18030_ROWS), 'gb18030'));
  await writeFile(join(dir, 'utf8.csv'), Buffer.from(csvText(UTF8_ROWS), 'utf8'));
  await writeFile(
    join(dir, 'utf8-bom.csv'),
    Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(csvText(BOM_ROWS), 'utf8')]),
  );
  await writeWorkbook(join(dir, 'ids-as-numbers.xlsx'), XLSX_ROWS, 'number');
  await writeWorkbook(
    join(dir, 'ids-as-text.xlsx'),
    [
      ...XLSX_ROWS,
      ['x-4', '赵六', '410381198312056511', '../evil.jpg'],
      ['x-5', '钱七', '110101199003070011', 'big.jpg'],
      ['x-6', '孙八', '11010519491231002X', 'faces/none.jpg'],
    ],
    'text',
  );
  await writeZip(join(dir, 'photos.zip'), {
    'faces/wf.jpg': face,
    'faces/oy.jpg': await smallJpeg('#6b4e8a'),
    'big.jpg': Buffer.alloc(SOURCE_LIMIT_BYTES + 1),
    // yazl refuses to write a `..` name: written under one of the same length, renamed below
    'xx/evil.jpg': face,
  });
  const zip = await readFile(join(dir, 'photos.zip'));
  const [from, to] = [Buffer.from('xx/evil.jpg'), Buffer.from('../evil.jpg')];
  for (let i = zip.indexOf(from); i !== -1; i = zip.indexOf(from, i + 1)) to.copy(zip, i);
  await writeFile(join(dir, 'photos.zip'), zip);
}, 60_000);

afterAll(async () => {
  await o?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('CSV files in the encodings Excel and other tools write', () => {
  it('reads a GBK CSV as GB18030, says so in the plan, and finds every row valid', async () => {
    const r = await cli('enqueue', join(dir, 'gbk.csv'), '--biz', 'RPMin', '--dry-run');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/encoding +GB18030 \(not valid UTF-8: read as GBK\/GB18030/);
    expect(r.stdout).toMatch(/valid, new +2 \(server flow 2\)\n/);
    expect(r.stdout).toMatch(/invalid +0\n/);
    const json = await cli(
      'enqueue',
      join(dir, 'utf8-bom.csv'),
      '--biz',
      'RPMin',
      '--dry-run',
      '--json',
    );
    expect(JSON.parse(json.stdout)).toMatchObject({
      encoding: { encoding: 'utf-8', reason: 'byte-order-mark' },
      sheet: null,
      plan: { validNew: 1, invalid: 0 },
    });
  }, 30_000);

  it('--encoding forces one: the GBK file read as UTF-8 has every row refused by line, never quoting a name', async () => {
    const r = await cli(
      'enqueue',
      join(dir, 'gbk.csv'),
      '--biz',
      'RPMin',
      '--dry-run',
      '--encoding',
      'utf-8',
    );
    expect(r.code).toBe(3);
    expect(r.stdout).toMatch(/encoding +UTF-8 \(--encoding utf-8\)/);
    const message =
      "Binding.Name: contains characters that did not decode (the file's encoding is not UTF-8? use --encoding)";
    expect(r.stdout).toContain(`line 2: ${message}`);
    expect(r.stdout).toContain(`line 3: ${message}`);
    expect(r.stdout).not.toContain('\ufffd');
    const log = await readFile(join(dir, 'gbk.csv.invalid.jsonl'), 'utf8');
    expect(log.trim().split('\n')).toHaveLength(2);
    expect(log).not.toContain('\ufffd');
    const gbk = await cli(
      'enqueue',
      join(dir, 'gbk.csv'),
      '--biz',
      'RPMin',
      '--dry-run',
      '--encoding',
      'gbk',
    );
    expect(gbk.code).toBe(0);
    expect(gbk.stdout).toMatch(/encoding +GB18030 \(--encoding gbk\)/);
  }, 30_000);

  it('enqueues GBK, GB18030, UTF-8 and UTF-8 with BOM: every ticket passes with its name as written', async () => {
    const runs = await Promise.all(
      ['gbk.csv', 'gb18030.csv', 'utf8.csv', 'utf8-bom.csv'].map((file) =>
        cli(
          'enqueue',
          join(dir, file),
          '--biz',
          'RPMin',
          '--batch',
          `enc-${file}`,
          '--yes',
          '--wait',
        ),
      ),
    );
    for (const r of runs) {
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/Final: \d tickets?: passed \d/);
    }
    for (const [ticketId, name] of [...GBK_ROWS, ...GB18030_ROWS, ...UTF8_ROWS, ...BOM_ROWS]) {
      expect(await o.app.store.get(ticketId)).toMatchObject({ state: 'passed' });
      expect(submittedName(ticketId)).toBe(name);
    }
  }, 90_000);
});

describe('.xlsx workbooks and a ZIP of photos', () => {
  it('refuses every ID number Excel stored as a number, by line, with how to fix it', async () => {
    const r = await cli(
      'enqueue',
      join(dir, 'ids-as-numbers.xlsx'),
      '--biz',
      'RPMin',
      '--photos',
      join(dir, 'photos.zip'),
      '--dry-run',
    );
    expect(r.code).toBe(3);
    expect(r.stdout).toMatch(/sheet +"申请人"\n/);
    expect(r.stdout).toMatch(
      /photos +.*photos\.zip \(archive of 3 files; 1 entry left out: its name is absolute or goes up/,
    );
    expect(r.stdout).toMatch(/valid, new +0\n/);
    for (const line of [2, 3, 4]) {
      expect(r.stdout).toContain(`line ${line}: Binding.IdentificationNumber: ${EXCEL_NUMBER_ID}`);
    }
  }, 30_000);

  it('--sheet names the sheet; a missing sheet, --sheet on a CSV and --encoding on a workbook exit 2', async () => {
    const book = join(dir, 'ids-as-numbers.xlsx');
    const [named, missing, sheetOnCsv, encodingOnBook] = await Promise.all([
      cli('enqueue', book, '--biz', 'RPMin', '--sheet', '申请人', '--dry-run'),
      cli('enqueue', book, '--biz', 'RPMin', '--sheet', 'March', '--dry-run'),
      cli('enqueue', join(dir, 'utf8.csv'), '--biz', 'RPMin', '--sheet', 'A', '--dry-run'),
      cli('enqueue', book, '--biz', 'RPMin', '--encoding', 'gbk', '--dry-run'),
    ]);
    expect(named.code).toBe(3);
    expect(named.stdout).toMatch(/sheet +"申请人"\n/);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('has no sheet "March" (its sheets: "申请人")');
    expect(sheetOnCsv.code).toBe(2);
    expect(sheetOnCsv.stderr).toContain('--sheet is for .xlsx workbooks');
    expect(encodingOnBook.code).toBe(2);
    expect(encodingOnBook.stderr).toContain('--encoding is for CSV and JSONL');
  }, 30_000);

  it('enqueues the workbook with the ID column as text, its photos from the ZIP, and reports the broken rows', async () => {
    const r = await cli(
      'enqueue',
      join(dir, 'ids-as-text.xlsx'),
      '--biz',
      'RPMin',
      '--photos',
      join(dir, 'photos.zip'),
      '--batch',
      'xlsx-zip',
      '--yes',
      '--wait',
    );
    expect(r.code).toBe(3);
    expect(r.stdout).toContain('Enqueued 3 tickets into batch xlsx-zip.');
    expect(r.stdout).toContain('Final: 3 tickets: passed 3');
    expect(r.stdout).toContain('line 5: Binding.FacePic: leads outside the photos archive (..)');
    expect(r.stdout).toContain('line 6: Binding.FacePic: is over 50 MB in the photos archive');
    expect(r.stdout).toContain('line 7: Binding.FacePic: is not in the photos archive');
    for (const [ticketId, name] of XLSX_ROWS) {
      expect(await o.app.store.get(ticketId)).toMatchObject({
        state: 'passed',
        batchId: 'xlsx-zip',
      });
      expect(submittedName(ticketId)).toBe(name);
    }
  }, 90_000);

  it('report --out results.xlsx writes the batch as a workbook, IDs as text and the formula cell protected', async () => {
    const out = join(dir, 'results.xlsx');
    const r = await cli('report', '--batch', 'xlsx-zip', '--out', out);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`Wrote 3 tickets of batch xlsx-zip to ${out}`);
    const book = new ExcelJS.Workbook();
    await book.xlsx.readFile(out);
    const sheet = book.worksheets[0];
    if (sheet === undefined) throw new Error('no sheet');
    const header = sheet.getRow(1).values as unknown[];
    expect(header.slice(1, 4)).toEqual(['TicketId', 'Biz', 'state']);
    const rows: Record<string, unknown>[] = [];
    sheet.eachRow((row, n) => {
      if (n === 1) return;
      const values = row.values as unknown[];
      const cells = header.map((h, i): [string, unknown] => [String(h), values[i]]);
      rows.push(Object.fromEntries(cells.slice(1)));
    });
    expect(rows.map((row) => row.TicketId).sort()).toEqual(["'=2+3", 'x-1', 'x-3']);
    for (const row of rows) {
      expect(row).toMatchObject({ Biz: 'RPMin', state: 'passed', statusCode: 1, emulated: true });
      expect(typeof row.similarityScore).toBe('number');
    }
    const cells = JSON.stringify(rows);
    for (const [, name, id] of XLSX_ROWS) {
      expect(cells).not.toContain(id);
      expect(cells).not.toContain(name);
    }
  }, 30_000);

  it('sends the same workbook and ZIP over --api: the photos go as bytes, the tickets pass', async () => {
    const file = join(dir, 'over-api.xlsx');
    await writeWorkbook(
      file,
      [
        ['a-1', '欧阳娜娜', '372321199103099416', 'faces/oy.jpg'],
        ['a-2', '王芳', '11010519491231002X', '../evil.jpg'],
      ],
      'text',
    );
    const r = await cli(
      'enqueue',
      file,
      '--biz',
      'RPMin',
      '--photos',
      join(dir, 'photos.zip'),
      '--batch',
      'over-api',
      '--yes',
      '--wait',
      '--api',
      o.app.apiUrl ?? '',
    );
    expect(r.code).toBe(3);
    expect(r.stdout).toContain('Enqueued 1 ticket into batch over-api.');
    expect(r.stdout).toContain('line 3: Binding.FacePic: leads outside the photos archive (..)');
    expect(r.stdout).toContain('Final: 1 ticket: passed 1');
    expect(submittedName('a-1')).toBe('欧阳娜娜');
  }, 60_000);
});
