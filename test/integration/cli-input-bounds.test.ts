/**
 * Hostile batch files never make `enqueue` gather unbounded memory: a CSV quote left open, a JSONL
 * file without line breaks and a workbook whose one cell inflates past the bound (in the sheet
 * and in the shared-strings table) are refused as a whole with a usage error naming where, never
 * quoting the text; the rows before it were read. Rows carrying base64 images are checked in
 * chunks cut by their text, not only by their count (the first pass against a real store on
 * Redis). Files written to disk, the workbooks by exceljs.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import ExcelJS from 'exceljs';
import yazl from 'yazl';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RedisClient } from '../../src/adapters/redis/connection.js';
import { FieldCipher } from '../../src/adapters/redis/crypto.js';
import { RedisTicketStore } from '../../src/adapters/redis/ticket-store.js';
import { CliError, ExitCode } from '../../src/cli/exit-codes.js';
import {
  boundedLines,
  LineTooLongError,
  readInputRows,
  requestWeight,
  ROW_MAX_BYTES,
  type InputFormat,
  type InputRow,
} from '../../src/cli/input-rows.js';
import { InvalidRowLog } from '../../src/cli/invalid-rows.js';
import { CHUNK_ROWS, CHUNK_TEXT_MAX, preflight } from '../../src/cli/preflight.js';
import { ZipArchive, ZipEntryError } from '../../src/cli/zip-archive.js';
import { deleteKeys, testRedis } from '../support/redis.js';

const SECRET_NAME = '欧阳娜娜';
/** Past the bound by more than an inflated chunk: a sheet's XML is counted chunk by chunk. */
const OVER = ROW_MAX_BYTES + 256 * 1024;

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cli-bounds-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Reads every row; answers those read and the error that stopped the reading. */
async function readAll(
  path: string,
  format: InputFormat,
): Promise<{ rows: InputRow[]; error: unknown }> {
  const rows: InputRow[] = [];
  try {
    for await (const row of readInputRows(path, format, 'RPMin').rows) rows.push(row);
  } catch (error) {
    return { rows, error };
  }
  return { rows, error: undefined };
}

function expectUsage(error: unknown, pattern: RegExp): void {
  expect(error).toBeInstanceOf(CliError);
  expect((error as CliError).exitCode).toBe(ExitCode.usage);
  expect((error as CliError).message).toMatch(pattern);
  expect((error as CliError).message).not.toContain(SECRET_NAME);
  expect((error as CliError).message).not.toContain('xxxx');
}

describe('rows past the bound', () => {
  it('a CSV quote left open: refused after the last row read, the rows before it read', async () => {
    const path = join(dir, 'open-quote.csv');
    const tail = `${SECRET_NAME}${'x'.repeat(OVER)}\n`.repeat(2);
    await writeFile(
      path,
      `TicketId,Name,IdentificationNumber\nq-1,王芳,11010519491231002X\nq-2,"${tail}`,
    );
    const { rows, error } = await readAll(path, 'csv');
    expect(rows.map((r) => r.line)).toEqual([2]);
    expectUsage(
      error,
      /open-quote\.csv: the row after line 2 is over 16 MiB, longer than any ticket's row \(a quote left open\?\)$/,
    );
  });

  it('a CSV record of endless empty fields: refused as well (they hold no text, but an array)', async () => {
    const path = join(dir, 'commas.csv');
    await writeFile(path, `TicketId,Name\nc-1,王芳\nc-2,${','.repeat(OVER)}\n`);
    const { rows, error } = await readAll(path, 'csv');
    expect(rows.map((r) => r.line)).toEqual([2]);
    expectUsage(error, /commas\.csv: the row after line 2 is over 16 MiB/);
  });

  it('a CSV line break inside quotes continues the record; outside them it ends it', async () => {
    const chunks = ['a,"x\ny', '""\n"\nb', ',c\n'].map((c) => Buffer.from(c));
    const out: Buffer[] = [];
    for await (const chunk of boundedLines(Readable.from(chunks), 10, { csvQuotes: true })) {
      out.push(chunk as Buffer);
    }
    expect(Buffer.concat(out).toString()).toBe('a,"x\ny""\n"\nb,c\n');
    // the first record is 10 bytes with its two quoted line breaks (each line under 5): over 9
    const failing = boundedLines(Readable.from(chunks), 9, { csvQuotes: true });
    const error = await (async () => {
      for await (const _ of failing) void _;
    })().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LineTooLongError);
  });

  it('a JSONL line without its line break: refused naming the line', async () => {
    const path = join(dir, 'one-line.jsonl');
    const first = JSON.stringify({ TicketId: 'j-1', Binding: { Name: '王芳' } });
    await writeFile(
      path,
      `${first}\r\n{"TicketId":"j-2","Binding":{"Name":"${SECRET_NAME}${'x'.repeat(OVER)}`,
    );
    const { rows, error } = await readAll(path, 'jsonl');
    expect(rows.map((r) => r.line)).toEqual([1]);
    expectUsage(error, /one-line\.jsonl: line 2 is over 16 MiB, longer than any ticket's row/);
  });

  it('a workbook cell that inflates past the bound, inline or in the shared-strings table', async () => {
    const huge = `${SECRET_NAME}${'x'.repeat(OVER)}`;
    // inline strings, as exceljs's streaming writer writes them
    const inline = join(dir, 'inline.xlsx');
    const streamed = new ExcelJS.stream.xlsx.WorkbookWriter({
      filename: inline,
      useSharedStrings: false,
    });
    const sheet = streamed.addWorksheet('Applicants');
    sheet.addRow(['TicketId', 'Name', 'IdentificationNumber']).commit();
    sheet.addRow(['x-1', '王芳', '11010519491231002X']).commit();
    sheet.addRow(['x-2', huge, '11010519491231002X']).commit();
    sheet.commit();
    await streamed.commit();
    // what makes it hostile: a few hundred KB that inflate to more than the bound
    expect((await stat(inline)).size).toBeLessThan(ROW_MAX_BYTES / 16);
    const a = await readAll(inline, 'xlsx');
    expect(a.rows.map((r) => r.line)).toEqual([2]);
    expectUsage(
      a.error,
      /inline\.xlsx cannot be read to its end: its sheet has a row after row 2 that is over 16 MiB/,
    );

    // a shared-strings table, as Excel and exceljs's whole-workbook writer write it
    const shared = join(dir, 'shared.xlsx');
    const book = new ExcelJS.Workbook();
    const s2 = book.addWorksheet('Applicants');
    s2.addRow(['TicketId', 'Name', 'IdentificationNumber']);
    s2.addRow(['x-1', huge, '11010519491231002X']);
    await book.xlsx.writeFile(shared);
    const b = await readAll(shared, 'xlsx');
    expect(b.rows).toEqual([]);
    expectUsage(
      b.error,
      /shared\.xlsx cannot be read to its end: its shared-strings part has a shared text \(number \d+\) that is over 16 MiB/,
    );
  });

  it('one long shared text named by many cells: counted each time it is read', async () => {
    // 1 MiB of text in the shared-strings table once, named by 40 cells: 40 MiB once read
    const path = join(dir, 'named-often.xlsx');
    const book = new ExcelJS.Workbook();
    const sheet = book.addWorksheet('Applicants');
    sheet.addRow(['TicketId', 'Name', 'IdentificationNumber']);
    const long = `${SECRET_NAME}${'x'.repeat(1024 * 1024)}`;
    for (let i = 0; i < 40; i++) sheet.addRow([`n-${i}`, long, '11010519491231002X']);
    await book.xlsx.writeFile(path);
    const { error } = await readAll(path, 'xlsx');
    expectUsage(
      error,
      /named-often\.xlsx cannot be read to its end: its sheet has a .*row.* over 16 MiB/,
    );
  });

  it('a sheet nested past the limit or cut short, and a broken part that would quote a name, refused quoting nothing', async () => {
    const source = join(dir, 'plain.xlsx');
    const book = new ExcelJS.Workbook();
    const sheet = book.addWorksheet('Applicants');
    sheet.addRow(['TicketId', 'Name', 'IdentificationNumber']);
    sheet.addRow(['p-1', '王芳', '11010519491231002X']);
    sheet.addRow(['p-2', '李三', '110101199003070011']);
    await book.xlsx.writeFile(source);
    // a few hundred KB: 3 million elements opened before row 3 and never closed
    const nested = await rewriteParts(source, 'nested.xlsx', {
      'xl/worksheets/sheet1.xml': (xml) =>
        xml.replace('<row r="3"', `${'<x>'.repeat(3_000_000)}<row r="3"`),
    });
    expect((await stat(nested)).size).toBeLessThan(1024 * 1024);
    // refused as the text arrives, before exceljs parses the chunk that holds row 2 as well
    const a = await readAll(nested, 'xlsx');
    expectUsage(
      a.error,
      /nested\.xlsx cannot be read to its end: its sheet has XML nested over 256 levels deep/,
    );
    // an element exceljs does not expect, whose attributes its message would quote
    const quoting = await rewriteParts(source, 'quoting.xlsx', {
      'xl/_rels/workbook.xml.rels': (xml) =>
        xml.replace('</Relationships>', `<Note Name="${SECRET_NAME}"/></Relationships>`),
    });
    // a sheet cut short inside row 3: exceljs alone read it as complete
    const cut = await rewriteParts(source, 'cut.xlsx', {
      'xl/worksheets/sheet1.xml': (xml) => xml.slice(0, xml.indexOf('<row r="3"') + 20),
    });
    const c = await readAll(cut, 'xlsx');
    expectUsage(c.error, /cut\.xlsx cannot be read to its end: its sheet ends before its XML does/);
    const b = await readAll(quoting, 'xlsx');
    expectUsage(
      b.error,
      /quoting\.xlsx cannot be read to its end: its workbook's relationships part's XML is not well formed/,
    );
  });

  it('an archive declaring more entries than read is refused before its index is built', async () => {
    const zip = new yazl.ZipFile();
    for (const name of ['a.jpg', 'b.jpg', 'c.jpg', 'd.jpg']) zip.addBuffer(Buffer.from(name), name);
    zip.end();
    const path = join(dir, 'four.zip');
    await pipeline(zip.outputStream, createWriteStream(path));
    await expect(ZipArchive.open(path, 3)).rejects.toThrow(
      new ZipEntryError('holds 4 entries, over the 3 read'),
    );
    const archive = await ZipArchive.open(path, 4);
    expect([...archive.names()]).toHaveLength(4);
    archive.close();
  });

  it('boundedLines passes the bytes on unchanged and counts lines as readline does', async () => {
    // lines: abc (CRLF split across chunks), def, '', gh (a lone CR), ijklm, n
    const text = ['ab', 'c\r', '\nde', 'f\n\ng', 'h\rijk', 'lm\nn'];
    const chunks = text.map((c) => Buffer.from(c));
    const lines: string[] = [];
    const readline = createInterface({
      input: boundedLines(Readable.from(chunks), 5),
      crlfDelay: Infinity,
    });
    for await (const l of readline) lines.push(l);
    expect(lines).toEqual(['abc', 'def', '', 'gh', 'ijklm', 'n']);
    // with at most 4 bytes a line, line 5 (ijklm) is the first refused
    const failing = createInterface({
      input: boundedLines(Readable.from(chunks), 4),
      crlfDelay: Infinity,
    });
    const read = async () => {
      for await (const _ of failing) void _;
    };
    const error = await read().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LineTooLongError);
    expect((error as LineTooLongError).line).toBe(5);
  });
});

describe('chunks cut by their text', () => {
  let redis: RedisClient;
  const prefix = `test:bounds:${randomUUID()}`;
  beforeAll(() => {
    redis = testRedis();
  });
  afterAll(async () => {
    await deleteKeys(redis, [`${prefix}*`]);
    redis.disconnect();
  });

  it('weighs a request by its strings and keys, nested ones too', () => {
    expect(requestWeight({ TicketId: 'abc', Binding: { Name: '王芳' } })).toBe(
      8 + 'TicketId'.length + 3 + 'Binding'.length + 8 + 'Name'.length + 2,
    );
    // the object and its key; the array and its three indices; 1; null; { b: 'xy' }
    expect(requestWeight({ a: [1, null, { b: 'xy' }] })).toBe(
      8 + 1 + (8 + 3) + 8 + 8 + (8 + 1 + 2),
    );
  });

  it('checks rows carrying base64 images in chunks of at most CHUNK_TEXT_MAX of text', async () => {
    // 80 rows of a 1 MiB base64 picture each: 80 MiB, far below CHUNK_ROWS rows
    const picture = randomBytes(768 * 1024).toString('base64');
    const rowCount = 80;
    expect(rowCount).toBeLessThan(CHUNK_ROWS);
    const lines = Array.from({ length: rowCount }, (_, i) =>
      JSON.stringify({
        TicketId: `b-${i}`,
        Binding: { Name: '王芳', IdentificationNumber: '11010519491231002X', FacePic: picture },
      }),
    );
    const path = join(dir, 'pictures.jsonl');
    await writeFile(path, `${lines.join('\n')}\n`);
    const store = new RedisTicketStore({
      redis,
      prefix,
      cipher: new FieldCipher(randomBytes(32)),
      retentionSeconds: 60,
    });
    const chunks: number[] = [];
    const log = new InvalidRowLog(path, dir);
    const result = await preflight(readInputRows(path, 'jsonl', 'RPMin').rows, {
      store,
      ctx: { biz: { RPMin: 'RPMin' }, baseDir: dir, batchId: 'bounds' },
      log,
      onChunk: (rowsRead) => chunks.push(rowsRead),
    });
    await log.close();
    expect(result.rowsRead).toBe(rowCount);
    // every chunk but the last reached the bound; none held more than the bound and one row
    const rowsPerChunk = chunks.map((n, i) => n - (chunks[i - 1] ?? 0));
    const perRow = requestWeight(JSON.parse(lines[0] ?? '{}'));
    const bound = Math.ceil(CHUNK_TEXT_MAX / perRow);
    expect(rowsPerChunk.slice(0, -1).every((n) => n === bound)).toBe(true);
    expect(chunks.at(-1)).toBe(rowCount);
    expect(rowsPerChunk.length).toBeGreaterThan(1);
  });
});

/** A copy of the workbook `source` as `name` (written with yazl), some parts' XML edited. */
async function rewriteParts(
  source: string,
  name: string,
  edits: Record<string, (xml: string) => string>,
): Promise<string> {
  const archive = await ZipArchive.open(source);
  const zip = new yazl.ZipFile();
  try {
    for (const part of [...archive.names()]) {
      const bytes = await archive.read(part, 64 * 1024 * 1024);
      const edit = edits[part];
      zip.addBuffer(edit === undefined ? bytes : Buffer.from(edit(bytes.toString('utf8'))), part);
    }
  } finally {
    archive.close();
  }
  zip.end();
  const path = join(dir, name);
  await pipeline(zip.outputStream, createWriteStream(path));
  return path;
}
