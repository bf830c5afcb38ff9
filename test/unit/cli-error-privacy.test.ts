import type { CsvError } from 'csv-parse';
import { parse as parseCsv } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import {
  checkCsvHeader,
  csvSyntaxMessage,
  jsonLineToRequest,
  ticketIdOf,
} from '../../src/cli/input-rows.js';
import { columnOf, jsonSyntaxErrorOffset } from '../../src/cli/json-syntax.js';

const NAME = '李三';
const ID = '11010519491231002X';

/** Whether `text` repeats six or more consecutive characters of `secret`. */
function leaks(text: string, secret: string): boolean {
  if (secret.length < 6) return text.includes(secret);
  for (let i = 0; i + 6 <= secret.length; i++) {
    if (text.includes(secret.slice(i, i + 6))) return true;
  }
  return false;
}

function thrown(f: () => unknown): Error {
  try {
    f();
  } catch (err) {
    return err as Error;
  }
  throw new Error('nothing thrown');
}

describe('where a JSON line breaks, without quoting it', () => {
  it('finds the offset of the first character that is not JSON, or none for valid JSON', () => {
    const cases: [string, number | undefined][] = [
      ['{"a":1}', undefined],
      ['  [1, -2.5e3, "x\\u00e9", true, false, null, {}] ', undefined],
      ['{not json', 1],
      ['{"a":1,}', 7],
      ['[1,2', 4],
      ['{"a" 1}', 5],
      ['{"a":01}', 6],
      ['{"a":"x\u0001"}', 7],
      ['{"a":"\\q"}', 6],
      ['"abc', 4],
      ['{"a":1}}', 7],
      ['{"a":1} x', 8],
      ['[}', 1],
      ['{]', 1],
      ['\ufeff{}', 0],
      ['', 0],
      ['tru', 0],
    ];
    for (const [text, offset] of cases) {
      expect(jsonSyntaxErrorOffset(text), text).toBe(offset);
      if (offset === undefined) expect(() => JSON.parse(text) as unknown).not.toThrow();
      else expect(() => JSON.parse(text) as unknown).toThrow(SyntaxError);
    }
  });

  it('scans 200,000 levels of nesting without recursion', () => {
    const deep = `${'['.repeat(200_000)}${']'.repeat(200_000)}`;
    expect(jsonSyntaxErrorOffset(deep)).toBeUndefined();
    expect(jsonSyntaxErrorOffset(`${deep.slice(0, -1)}}`)).toBe(deep.length - 1);
  });

  it('reports a broken JSONL line by its column, never by JSON.parse message', () => {
    const lines = [
      `{"x":["${ID}",${NAME}]}`,
      `{"TicketId":"j-9","Binding":{"Name":${NAME},"IdentificationNumber":"${ID}"}}`,
      `{"Binding":{"Name":"${NAME}","IdentificationNumber":"${ID}"`,
    ];
    const messages = lines.map((l) => thrown(() => jsonLineToRequest(l, 'RPMin')).message);
    expect(messages).toEqual([
      `not valid JSON (column ${lines[0]!.indexOf(NAME) + 1})`,
      `not valid JSON (column ${lines[1]!.indexOf(NAME) + 1})`,
      `not valid JSON (column ${lines[2]!.length + 1})`,
    ]);
    for (const m of messages) {
      expect(leaks(m, ID)).toBe(false);
      expect(m).not.toContain(NAME);
    }
    expect(columnOf('李三🙂x', 4)).toBe(4);
  });
});

describe('CSV syntax errors by code, line and field', () => {
  it('reports a stray quote without the field it stopped in', () => {
    const header = 'TicketId,Name,IdentificationNumber,FacePic\n';
    const files = [
      `${header}c-1,${NAME}"x",${ID},a.jpg\n`,
      `${header}c-1,${NAME},${ID}"",a.jpg\n`,
      `${header}c-1,"${NAME}"${ID},a.jpg\n`,
      `${header}c-1,"${NAME},${ID},a.jpg\n`,
    ];
    const errors = files.map((text) =>
      thrown(() => parseCsv(text, { bom: true, relax_column_count: true, trim: true })),
    );
    expect(errors.map((e) => e.message).join('\n')).toContain(NAME);
    expect(errors.map((e) => csvSyntaxMessage(e as CsvError))).toEqual([
      'not valid CSV at line 2, field 2 (INVALID_OPENING_QUOTE)',
      'not valid CSV at line 2, field 3 (INVALID_OPENING_QUOTE)',
      'not valid CSV at line 2, field 2 (CSV_INVALID_CLOSING_QUOTE)',
      expect.stringMatching(/^not valid CSV at line \d+, field \d+ \(CSV_QUOTE_NOT_CLOSED\)$/),
    ]);
  });

  it('builds the message from the error code and position only', () => {
    expect(csvSyntaxMessage({ code: 'CSV_X', lines: 4, column: 0 })).toBe(
      'not valid CSV at line 4, field 1 (CSV_X)',
    );
    expect(csvSyntaxMessage({ code: `${ID} ${NAME}` })).toBe('not valid CSV (CSV_ERROR)');
  });
});

describe('CSV headers that are really data', () => {
  it('names an unknown column by position when it does not read as a column name', () => {
    const data = () => checkCsvHeader(['c-1', NAME, ID, 'faces/a.jpg'], true);
    const message = thrown(data).message;
    expect(message).toMatch(
      /^the first row is not a header row \(no TicketId column; unknown: columns 1, 2, 3, 4\): give a header row of TicketId,/,
    );
    expect(message).not.toContain(NAME);
    expect(leaks(message, ID)).toBe(false);
    // a romanised name reads as a column name: in a row that is no header it is not quoted either
    const romanised = thrown(() => checkCsvHeader(['c-2', 'Biz', 'WangFang', ID], true));
    expect(romanised.message).toContain('unknown: columns 1, 3, 4)');
    expect(romanised.message).not.toContain('WangFang');
    const mixed = thrown(() =>
      checkCsvHeader(['TicketId', 'Phone', 'Zhang San', 'id110105194912'], true),
    );
    expect(mixed.message).toMatch(/^unknown CSV columns: "Phone", column 3, column 4 \(known:/);
  });
});

describe('the TicketId an invalid row is logged with', () => {
  it('is kept only when it is a well-formed TicketId', () => {
    expect(ticketIdOf({ TicketId: 'c-1' })).toBe('c-1');
    expect(ticketIdOf({ TicketId: NAME })).toBeUndefined();
    expect(ticketIdOf({ TicketId: `${NAME} ${ID}` })).toBeUndefined();
    expect(ticketIdOf({ TicketId: 'x'.repeat(129) })).toBeUndefined();
  });
});
