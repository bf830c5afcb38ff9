import { describe, expect, it } from 'vitest';
import { defaultBatchId } from '../../src/cli/enqueue-command.js';
import { CliError, ExitCode } from '../../src/cli/exit-codes.js';
import {
  checkCsvHeader,
  csvRowToRequest,
  formatOf,
  jsonLineToRequest,
  ticketIdOf,
} from '../../src/cli/input-rows.js';
import { parseRow, problemOf } from '../../src/cli/row-check.js';
import { ValidationError } from '../../src/errors.js';

const HEADER = ['TicketId', 'Name', 'IdentificationNumber', 'FacePic', 'IdCardFrontPic'];
const ctx = {
  biz: { RPMin: 'RPMin', RPBasic: 'RPBasic' } as const,
  baseDir: '/data',
  batchId: 'b',
};

function usage(f: () => unknown): string {
  try {
    f();
  } catch (err) {
    expect(err).toBeInstanceOf(CliError);
    expect((err as CliError).exitCode).toBe(ExitCode.usage);
    return (err as CliError).message;
  }
  throw new Error('no usage error');
}

describe('input files', () => {
  it('tells CSV, JSONL and workbooks apart by the extension and refuses any other with a usage error', () => {
    expect(formatOf('/x/a.CSV')).toBe('csv');
    expect(formatOf('a.jsonl')).toBe('jsonl');
    expect(formatOf('a.ndjson')).toBe('jsonl');
    expect(formatOf('a.XLSX')).toBe('xlsx');
    expect(usage(() => formatOf('a.xls'))).toContain(
      'save it from Excel as "Excel Workbook (.xlsx)"',
    );
    expect(usage(() => formatOf('a.txt'))).toContain('unknown file type ".txt"');
    expect(usage(() => formatOf('rows'))).toContain('"(none)"');
  });

  it('accepts the documented CSV columns, trimmed, in any order', () => {
    expect(checkCsvHeader([' TicketId', 'Biz', 'Name ', 'callbackUrl'], false)).toEqual([
      'TicketId',
      'Biz',
      'Name',
      'callbackUrl',
    ]);
  });

  it('names unknown, repeated and missing CSV columns', () => {
    expect(usage(() => checkCsvHeader(['TicketId', 'Phone', 'Email'], true))).toMatch(
      /^unknown CSV columns: "Phone", "Email" \(known: TicketId, Biz, Name/,
    );
    expect(usage(() => checkCsvHeader(['TicketId', 'Name', 'Name'], true))).toBe(
      'repeated CSV columns: Name',
    );
    expect(usage(() => checkCsvHeader(['Name'], true))).toBe('the CSV has no TicketId column');
    expect(usage(() => checkCsvHeader(['TicketId', 'Name'], false))).toBe(
      'give --biz, or a Biz column in the CSV',
    );
  });

  it('turns a CSV row into the HTTP shape, leaving empty cells out', () => {
    const request = csvRowToRequest(
      HEADER,
      ['t-1', ' 李三 ', '11010519491231002X', 'faces/a.jpg', ''],
      'RPMin',
    );
    expect(request).toEqual({
      TicketId: 't-1',
      Biz: 'RPMin',
      Binding: { Name: '李三', IdentificationNumber: '11010519491231002X', FacePic: 'faces/a.jpg' },
    });
    expect(csvRowToRequest(['TicketId', 'Biz'], ['t-2', 'RPBasic'], 'RPMin').Biz).toBe('RPBasic');
    expect(csvRowToRequest(['TicketId', 'Biz'], ['t-3', ''], 'RPMin').Biz).toBe('RPMin');
  });

  it('reads a JSONL line, with its own Biz over the default, and names what is wrong', () => {
    expect(jsonLineToRequest('{"TicketId":"t","Binding":{}}', 'RPMin')).toEqual({
      TicketId: 't',
      Biz: 'RPMin',
      Binding: {},
    });
    expect(jsonLineToRequest('{"TicketId":"t","Biz":"RPBasic"}', 'RPMin').Biz).toBe('RPBasic');
    expect(() => jsonLineToRequest('{oops', undefined)).toThrow(/^not valid JSON \(/);
    expect(() => jsonLineToRequest('[1]', undefined)).toThrow('is not a JSON object');
    expect(ticketIdOf({ TicketId: 7 })).toBeUndefined();
    expect(ticketIdOf({ TicketId: '' })).toBeUndefined();
  });

  it('names a default batch after the file and the UTC time', () => {
    expect(defaultBatchId('/in/march intake.csv', new Date('2025-03-01T08:09:10.123Z'))).toBe(
      'march_intake-20250301T080910Z',
    );
    expect(defaultBatchId('/in/.csv', new Date(0))).toBe('.csv-19700101T000000Z');
  });
});

describe('row checks without I/O', () => {
  it('reports the seed ID number by its failed check, never repeating the number', () => {
    const check = parseRow(
      {
        TicketId: 't',
        Biz: 'RPMin',
        Binding: { Name: '李三', IdentificationNumber: '630546198009090099', FacePic: 'a.jpg' },
      },
      ctx,
    );
    expect(check).toEqual({
      ok: false,
      problems: [
        {
          field: 'Binding.IdentificationNumber',
          message: 'check digit does not match (GB 11643)',
        },
      ],
    });
  });

  it('resolves a relative image path against the input file directory', () => {
    const check = parseRow(
      {
        TicketId: 't',
        Biz: 'RPMin',
        Binding: { Name: '李三', IdentificationNumber: '11010519491231002X', FacePic: 'f/a.jpg' },
      },
      ctx,
    );
    expect(check.ok && check.input.binding.materials.FacePic).toEqual({
      kind: 'file',
      path: '/data/f/a.jpg',
    });
    expect(check.ok && check.input.batchId).toBe('b');
  });

  it('refuses a callback URL to an internal address, and plain http where the policy wants https', () => {
    const row = (callbackUrl: string) => ({
      TicketId: 't',
      Biz: 'RPMin',
      Binding: { Name: '李三', IdentificationNumber: '11010519491231002X', FacePic: 'a.jpg' },
      callbackUrl,
    });
    const production = { ...ctx, callbackPolicy: { allowedHosts: ['10.1.2.3'], httpsOnly: true } };
    const fieldsOf = (check: ReturnType<typeof parseRow>) =>
      check.ok ? [] : check.problems.map((p) => p.field);
    expect(fieldsOf(parseRow(row('http://10.0.0.7/hook'), production))).toEqual(['callbackUrl']);
    expect(fieldsOf(parseRow(row('http://hooks.example.test/'), production))).toEqual([
      'callbackUrl',
    ]);
    expect(fieldsOf(parseRow(row('http://10.1.2.3/hook'), production))).toEqual([]);
    expect(fieldsOf(parseRow(row('https://hooks.example.test/'), production))).toEqual([]);
  });

  it('asks for a Biz when the row names none and there is no --biz', () => {
    expect(parseRow({ TicketId: 't', Binding: {} }, ctx)).toEqual({
      ok: false,
      problems: [{ field: 'Biz', message: 'is missing: give --biz or a Biz' }],
    });
  });

  it('strips the field name from a validation message once', () => {
    expect(problemOf(new ValidationError('Binding.Name', 'is empty'))).toEqual({
      field: 'Binding.Name',
      message: 'is empty',
    });
  });
});
