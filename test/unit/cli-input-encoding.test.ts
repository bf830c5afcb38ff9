/**
 * The encoding of a CSV or JSONL input, decided from the whole file: files encoded by a maintained
 * encoding library (iconv-lite) in GBK and GB18030, and UTF-8 with and without a byte order mark,
 * read through `readInputRows` as `enqueue` reads them; decoding debris in a name refused by the
 * CLI with its own message, and U+FFFD refused by the shared validation (the HTTP intake's too).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import iconv from 'iconv-lite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateName } from '../../src/domain/binding.js';
import { ValidationError } from '../../src/errors.js';
import { parseTicketRequest, TicketRejectedError } from '../../src/flow/ticket-request.js';
import { CliError, ExitCode } from '../../src/cli/exit-codes.js';
import {
  describeEncoding,
  detectBufferEncoding,
  detectEncoding,
  detectFileEncoding,
  forcedEncoding,
  toUtf8,
  type EncodingChoice,
} from '../../src/cli/input-encoding.js';
import { readInputRows, type InputRow } from '../../src/cli/input-rows.js';
import { cellProblems, EXCEL_NUMBER_ID, hasDecodingDebris } from '../../src/cli/row-cells.js';
import { parseRow } from '../../src/cli/row-check.js';

const HEADER = 'TicketId,Name,IdentificationNumber';
/** A character outside GBK, in GB18030 (four bytes there): U+20000. */
const RARE = '𠀀';
const ROWS = [
  ['e-1', '王芳', '11010519491231002X'],
  ['e-2', '欧阳娜娜', '372321199103099416'],
  ['e-3', `林${RARE}`, '410381198312056511'],
];
const csv = (rows: readonly (readonly string[])[]) =>
  `${[HEADER, ...rows.map((r) => r.join(','))].join('\r\n')}\r\n`;

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cli-encoding-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function* chunks(data: Buffer, size: number) {
  for (let i = 0; i < data.length; i += size) yield data.subarray(i, i + size);
}

async function rowsOf(
  path: string,
  encoding: EncodingChoice,
  format: 'csv' | 'jsonl' = 'csv',
): Promise<InputRow[]> {
  const out: InputRow[] = [];
  for await (const row of readInputRows(path, format, 'RPMin', undefined, { encoding }).rows) {
    out.push(row);
  }
  return out;
}

const namesOf = (rows: readonly InputRow[]) =>
  rows.map((r) =>
    'request' in r ? (r.request.Binding as Record<string, unknown>).Name : undefined,
  );

describe('the encoding of a text input', () => {
  it('cannot encode the rare character in GBK, and can in GB18030: the fixture is what it claims', () => {
    expect(iconv.decode(iconv.encode(RARE, 'gbk'), 'gbk')).not.toBe(RARE);
    expect(iconv.decode(iconv.encode(RARE, 'gb18030'), 'gb18030')).toBe(RARE);
    expect(iconv.encode(RARE, 'gb18030')).toHaveLength(4);
  });

  it('reads a GBK file as GB18030, decided from the whole file, with every name right', async () => {
    const rows = ROWS.slice(0, 2);
    const path = join(dir, 'gbk.csv');
    await writeFile(path, iconv.encode(csv(rows), 'gbk'));
    const choice = await detectFileEncoding(path, path);
    expect(choice).toEqual({ encoding: 'gb18030', reason: 'not-utf-8' });
    expect(describeEncoding(choice)).toMatch(/^GB18030 \(not valid UTF-8/);
    const read = await rowsOf(path, choice);
    expect(namesOf(read)).toEqual(['王芳', '欧阳娜娜']);
    expect(read.every((r) => !('problems' in r) && !('problem' in r))).toBe(true);
  });

  it('reads a GB18030 file with a character outside GBK', async () => {
    const path = join(dir, 'gb18030.csv');
    await writeFile(path, iconv.encode(csv(ROWS), 'gb18030'));
    const choice = await detectFileEncoding(path, path);
    expect(choice.encoding).toBe('gb18030');
    expect(namesOf(await rowsOf(path, choice))).toEqual(['王芳', '欧阳娜娜', `林${RARE}`]);
  });

  it('reads UTF-8 with and without a byte order mark as UTF-8', async () => {
    const plain = join(dir, 'utf8.csv');
    const bom = join(dir, 'utf8-bom.csv');
    await writeFile(plain, Buffer.from(csv(ROWS), 'utf8'));
    await writeFile(bom, Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(csv(ROWS))]));
    expect(await detectFileEncoding(plain, plain)).toEqual({
      encoding: 'utf-8',
      reason: 'valid-utf-8',
    });
    expect(await detectFileEncoding(bom, bom)).toEqual({
      encoding: 'utf-8',
      reason: 'byte-order-mark',
    });
    for (const path of [plain, bom]) {
      const choice = await detectFileEncoding(path, path);
      expect(namesOf(await rowsOf(path, choice))).toEqual(['王芳', '欧阳娜娜', `林${RARE}`]);
    }
  });

  it('decides the same whatever the chunks, a character split between two of them included', async () => {
    const utf8 = Buffer.from(csv(ROWS));
    const gbk = iconv.encode(csv(ROWS.slice(0, 2)), 'gbk');
    for (const size of [1, 2, 3, 5, 7]) {
      expect((await detectEncoding(chunks(utf8, size), 'x')).encoding).toBe('utf-8');
      expect((await detectEncoding(chunks(gbk, size), 'x')).encoding).toBe('gb18030');
      expect(
        (await detectEncoding(chunks(Buffer.from([0xef, 0xbb, 0xbf, 0x41]), size), 'x')).reason,
      ).toBe('byte-order-mark');
      const decoded: Buffer[] = [];
      const stream = toUtf8('gb18030');
      stream.on('data', (c: Buffer) => decoded.push(c));
      for (const c of chunks(iconv.encode(csv(ROWS), 'gb18030'), size)) stream.write(c);
      stream.end();
      await new Promise((resolve) => stream.on('end', resolve));
      expect(Buffer.concat(decoded).toString('utf8')).toBe(csv(ROWS));
    }
  });

  it('does not guess name by name: the GBK bytes of 欧阳娜娜 begin as valid UTF-8', async () => {
    const bytes = iconv.encode('欧阳娜娜', 'gbk');
    // C5 B7 is ŷ in UTF-8: a per-field decoder would read part of the name without a U+FFFD
    expect(new TextDecoder().decode(bytes.subarray(0, 2))).toBe('ŷ');
    expect((await detectBufferEncoding(bytes, 'x')).encoding).toBe('gb18030');
  });

  it('refuses UTF-16 (Excel\'s "Unicode Text") with how to save the file instead', async () => {
    const utf16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(csv(ROWS), 'utf16le')]);
    const err = await detectBufferEncoding(utf16, 'list.txt').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CliError);
    expect((err as CliError).exitCode).toBe(ExitCode.usage);
    expect((err as CliError).message).toContain('save it as "CSV UTF-8 (Comma delimited)"');
  });

  it('--encoding forces one: GBK read as UTF-8 leaves debris, refused row by row without quoting the name', async () => {
    const path = join(dir, 'forced.csv');
    await writeFile(path, iconv.encode(csv(ROWS.slice(0, 2)), 'gbk'));
    const forced = forcedEncoding('utf-8');
    expect(describeEncoding(forced)).toBe('UTF-8 (--encoding utf-8)');
    expect(forcedEncoding('gbk')).toEqual({ encoding: 'gb18030', reason: 'forced', given: 'gbk' });
    const rows = await rowsOf(path, forced);
    expect(rows.map((r) => r.line)).toEqual([2, 3]);
    for (const row of rows) {
      expect(row).toMatchObject({
        problems: [
          {
            field: 'Binding.Name',
            message:
              "contains characters that did not decode (the file's encoding is not UTF-8? use --encoding)",
          },
        ],
      });
      if (!('request' in row)) continue;
      // the name is left out of the request: the parse does not report it again
      const check = parseRow(
        row.request,
        { biz: { RPMin: 'RPMin' }, baseDir: dir, batchId: 'b' },
        row.problems,
      );
      expect(check.ok ? [] : check.problems.map((p) => p.field)).toEqual([
        'Binding.Name',
        'Binding.FacePic',
      ]);
      expect(JSON.stringify(check)).not.toMatch(/[\ufffd]/);
    }
  });

  it('checks JSONL lines the same way', async () => {
    const path = join(dir, 'rows.jsonl');
    const line = (id: string, name: string) =>
      JSON.stringify({
        TicketId: id,
        Binding: { Name: name, IdentificationNumber: '1.10101E+17' },
      });
    await writeFile(
      path,
      iconv.encode(`${line('j-1', '王芳')}\n${line('j-2', '\ue000x')}\n`, 'gbk'),
    );
    const choice = await detectFileEncoding(path, path);
    const rows = await rowsOf(path, choice, 'jsonl');
    expect(namesOf(rows)).toEqual(['王芳', undefined]);
    expect(rows.map((r) => ('problems' in r ? r.problems?.map((p) => p.field) : []))).toEqual([
      ['Binding.IdentificationNumber'],
      ['Binding.Name', 'Binding.IdentificationNumber'],
    ]);
  });
});

describe('decoding debris and numbers Excel stored', () => {
  it.each([
    ['U+FFFD', 'a\ufffdb'],
    ['a C0 control', 'a\u0001b'],
    ['a C1 control', 'a\u0085b'],
    ['a lone surrogate', 'a\ud800b'],
    ['a private-use character', '王\ue000'],
    ['a supplementary private-use character', '王\u{F0001}'],
  ])('finds %s in a name', (_what, name) => {
    expect(hasDecodingDebris(name)).toBe(true);
  });

  it('finds none in real names, rare characters and middle dots included', () => {
    for (const name of ['王芳', '欧阳娜娜', `林${RARE}`, '买买提·艾力', 'Zoë Ångström']) {
      expect(hasDecodingDebris(name)).toBe(false);
    }
  });

  it('refuses an ID number in scientific notation with how to fix it in Excel', () => {
    const request = {
      TicketId: 't',
      Binding: { Name: '王芳', IdentificationNumber: '1.10101E+17' },
    };
    expect(cellProblems(request, { format: 'csv', encoding: 'utf-8' })).toEqual([
      { field: 'Binding.IdentificationNumber', message: EXCEL_NUMBER_ID },
    ]);
    expect(request.Binding).toEqual({ Name: '王芳' });
    expect(EXCEL_NUMBER_ID).toContain('format the column as Text');
  });

  it('the shared validation (the HTTP intake) refuses U+FFFD and lone surrogates in a name too', () => {
    for (const name of ['王\ufffd', '王\udc00']) {
      expect(() => validateName('Binding.Name', name)).toThrow(ValidationError);
      expect(() => validateName('Binding.Name', name)).toThrow(/did not decode/);
      let refused: unknown;
      try {
        parseTicketRequest(
          {
            TicketId: 't',
            Biz: 'RPBasic',
            Binding: { Name: name, IdentificationNumber: '11010519491231002X' },
          },
          { biz: { RPBasic: 'RPBasic' } },
        );
      } catch (err) {
        refused = err;
      }
      expect(refused).toBeInstanceOf(TicketRejectedError);
      expect((refused as TicketRejectedError).problems.map((p) => p.field)).toEqual([
        'Binding.Name',
      ]);
      expect((refused as Error).message).not.toContain(name);
    }
  });
});
