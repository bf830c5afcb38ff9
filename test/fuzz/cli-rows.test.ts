/**
 * Fuzzing the CLI's input rows (fast-check): random CSV headers and cells, whole random CSV and
 * JSONL files read as the CLI streams them, and each row checked as `enqueue` checks it. A row
 * is a ticket request or problems naming fields; a file the CLI cannot read is a usage error
 * (exit 2); nothing else is ever thrown.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join, relative } from 'node:path';
import { Readable } from 'node:stream';
import { text as streamText } from 'node:stream/consumers';
import { parse as parseCsv } from 'csv-parse/sync';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CliError, ExitCode } from '../../src/cli/exit-codes.js';
import {
  CSV_COLUMNS,
  checkCsvHeader,
  csvRowToRequest,
  readInputRows,
  type InputFormat,
} from '../../src/cli/input-rows.js';
import { jsonSyntaxErrorOffset } from '../../src/cli/json-syntax.js';
import { reportEncoder, reportRow } from '../../src/cli/report-command.js';
import { checkLocalFiles, parseRow, type RowCheck } from '../../src/cli/row-check.js';
import { USERDATA_MAX_BYTES, USERDATA_MAX_DEPTH } from '../../src/domain/user-data.js';
import { canonicalJson } from '../../src/flow/ticket-intake.js';
import type { ListedTicket } from '../../src/adapters/redis/ticket-store.js';
import { PDF, smallJpeg } from '../support/images.js';
import { deepText } from '../support/hostile-json.js';

const VALID_ID = '11010519491231002X';
const KNOWN_TOP = new Set(['TicketId', 'Biz', 'Binding', 'UserData', 'callbackUrl', '(body)']);

/** Every problem a row of a file can have: none quotes the row. */
const ROW_PROBLEM =
  /^(not valid JSON( \(column \d+\))?|is not a JSON object|has \d+ fields; the header has \d+)$/;
/** A CSV syntax error: code, line and field only. */
const CSV_SYNTAX = /: not valid CSV( at line \d+(, field \d+)?)? \([A-Z_]+\)$/;

let dir: string;
let fileCount = 0;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'fuzz-cli-'));
  writeFileSync(join(dir, 'face.jpg'), await smallJpeg('#102030'));
  writeFileSync(join(dir, 'doc.pdf'), PDF);
  writeFileSync(join(dir, 'empty.jpg'), Buffer.alloc(0));
  mkdirSync(join(dir, 'photos'));
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

const ctx = () => ({
  biz: { RPMin: 'RPMin', RPH5BioOnly: 'RPH5BioOnly', RPBasic: 'RPBasic' } as const,
  baseDir: dir,
  batchId: 'fuzz',
});

/** A row's check keeps its promise: a request, or problems each naming a field. */
function expectRowCheck(check: RowCheck, request: Record<string, unknown>): void {
  if (check.ok) {
    expect(check.input.ticketId).toBe(request.TicketId);
    return;
  }
  expect(check.problems.length).toBeGreaterThan(0);
  for (const p of check.problems) {
    expect(p.field.length, JSON.stringify(p)).toBeGreaterThan(0);
    expect(p.message.length, JSON.stringify(p)).toBeGreaterThan(0);
    const top = /^[^.[]+/.exec(p.field)?.[0] ?? '';
    if (p.message !== 'is not a known field') expect(KNOWN_TOP, p.field).toContain(top);
  }
}

/** Checks a row as `enqueue` does; local files only when they stay inside the fixture folder. */
function checkAsEnqueueDoes(request: Record<string, unknown>): void {
  const check = parseRow(request, ctx());
  expectRowCheck(check, request);
  if (!check.ok) return;
  const inside = Object.values(check.input.binding.materials).every(
    (s) => s.kind !== 'file' || (!relative(dir, s.path).startsWith('..') && isAbsolute(s.path)),
  );
  if (!inside) return;
  for (const p of checkLocalFiles(check.input)) {
    expect(p.field).toMatch(/^Binding\.\w+$/);
    expect(p.message.length).toBeGreaterThan(0);
  }
}

/** Cells as a spreadsheet export may have them, plus garbage. */
const cell = fc.oneof(
  fc.constantFrom(
    '',
    ' ',
    '李三',
    '王五',
    '拒绝',
    VALID_ID,
    VALID_ID.toLowerCase(),
    '630546198009090099',
    'RPMin',
    'RPH5BioOnly',
    'Nope',
    'face.jpg',
    './face.jpg',
    'doc.pdf',
    'empty.jpg',
    'photos',
    'missing.jpg',
    '../outside.jpg',
    'https://example.com/a.jpg',
    'oss://bucket:key.jpg',
    'data:image/jpeg;base64,AAAA',
    'base64://AAAA',
    'https://hooks.example.com/x',
    '=cmd|" /C calc"!A0',
    '"quoted"',
    'a,b',
    'line\nbreak',
    '\ufeff',
  ),
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
);

const header = fc.oneof(
  fc
    .shuffledSubarray([...CSV_COLUMNS], { minLength: 1 })
    .map((cols) => (cols.includes('TicketId') ? cols : ['TicketId', ...cols])),
  fc.array(fc.oneof(fc.constantFrom(...CSV_COLUMNS), fc.string({ maxLength: 12 })), {
    minLength: 1,
    maxLength: 8,
  }),
);

function csvQuote(value: string): string {
  return /[",\r\n]/.test(value) || value !== value.trim()
    ? `"${value.replaceAll('"', '""')}"`
    : value;
}

async function readAll(
  text: string,
  format: InputFormat,
  defaultBiz: string | undefined,
): Promise<{ rows: number; error?: unknown }> {
  const path = join(dir, `in-${fileCount++}.${format}`);
  writeFileSync(path, text);
  let rows = 0;
  try {
    for await (const row of readInputRows(path, format, defaultBiz).rows) {
      rows++;
      expect(row.line).toBeGreaterThan(0);
      if ('problem' in row) expect(row.problem).toMatch(ROW_PROBLEM);
      else checkAsEnqueueDoes(row.request);
    }
    return { rows };
  } catch (error) {
    return { rows, error };
  } finally {
    rmSync(path, { force: true });
  }
}

function expectUsageErrorOrNone(error: unknown): void {
  if (error === undefined) return;
  expect(error, error instanceof Error ? error.message : 'not an Error').toBeInstanceOf(CliError);
  expect((error as CliError).exitCode).toBe(ExitCode.usage);
  const message = (error as CliError).message;
  if (message.includes('not valid CSV')) expect(message).toMatch(CSV_SYNTAX);
}

describe('CLI rows under random input', () => {
  it('turns any header and cells into a request or problems naming fields', () => {
    fc.assert(
      fc.property(
        header,
        fc.array(cell, { maxLength: 10 }),
        fc.option(fc.constantFrom('RPMin', 'RPH5BioOnly', 'Nope')),
        (columns, values, defaultBiz) => {
          let checked: string[];
          try {
            checked = checkCsvHeader(columns, defaultBiz !== null);
          } catch (err) {
            expectUsageErrorOrNone(err);
            return;
          }
          const request = csvRowToRequest(checked, values, defaultBiz ?? undefined);
          checkAsEnqueueDoes(request);
        },
      ),
      { numRuns: 1500 },
    );
  });

  it('reads random CSV files row by row, or refuses them with a usage error', async () => {
    const row = (width: number) =>
      fc
        .array(cell, { minLength: width, maxLength: width + 1 })
        .map((cells) => cells.map(csvQuote));
    const csv = fc.oneof(
      header.chain((cols) =>
        fc
          .array(row(cols.length), { maxLength: 6 })
          .map((rows) => [cols.map(csvQuote), ...rows].map((r) => r.join(',')).join('\r\n')),
      ),
      fc.string({ maxLength: 300 }),
      fc.string({ unit: 'binary', maxLength: 300 }),
      fc.constantFrom('', '\ufeff', 'TicketId\n"unterminated', 'TicketId,Name\n"a"b,c\n', '\n\n\n'),
    );
    await fc.assert(
      fc.asyncProperty(csv, fc.option(fc.constant('RPMin')), async (text, defaultBiz) => {
        const { error } = await readAll(text, 'csv', defaultBiz ?? undefined);
        expectUsageErrorOrNone(error);
      }),
      { numRuns: 300 },
    );
  });

  it('reads random JSONL files line by line, each line a request or a problem', async () => {
    const line = fc.oneof(
      fc
        .record(
          {
            TicketId: fc.oneof(fc.stringMatching(/^t-[a-z0-9]{1,8}$/), fc.jsonValue()),
            Biz: fc.oneof(fc.constantFrom('RPMin', 'RPH5BioOnly'), fc.jsonValue()),
            Binding: fc.oneof(
              fc.record(
                {
                  Name: fc.oneof(fc.constant('李三'), fc.jsonValue()),
                  IdentificationNumber: fc.oneof(fc.constant(VALID_ID), fc.jsonValue()),
                  FacePic: fc.oneof(
                    fc.constantFrom('face.jpg', 'doc.pdf', 'photos'),
                    fc.jsonValue(),
                  ),
                },
                { requiredKeys: [] },
              ),
              fc.jsonValue(),
            ),
            '': fc.jsonValue(),
          },
          { requiredKeys: [] },
        )
        .map((v) => JSON.stringify(v)),
      fc.json(),
      fc.string(),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(line, { maxLength: 8 }), async (lines) => {
        const { error } = await readAll(lines.join('\n'), 'jsonl', 'RPMin');
        expectUsageErrorOrNone(error);
      }),
      { numRuns: 300 },
    );
  });
});

/** Text cells as a report may carry them: formulas in every form, odd whitespace, plain text. */
const reportText = fc.oneof(
  fc
    .tuple(
      fc.constantFrom('=', '+', '-', '@', '\t', '\r', '＝', '＋', '－', '＠', ' ', "'", ''),
      fc.constantFrom(
        'HYPERLINK("https://evil.example","x")',
        'SUM(1+1)',
        'cmd|" /C calc"!A0',
        '1',
        '',
      ),
    )
    .map(([head, rest]) => `${head}${rest}`),
  fc.string({ maxLength: 30 }),
  fc.string({ unit: 'binary', maxLength: 30 }),
);

describe('CLI rows and reports under deep, wide and formula input', () => {
  it('refuses JSONL lines whose UserData is too deep or too large by naming UserData, and fingerprints the rest', async () => {
    const userData = fc.oneof(
      fc
        .tuple(
          fc.oneof(fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 30_000 })),
          fc.constantFrom('object', 'array', 'mixed'),
        )
        .map(([depth, kind]) => ({ text: `{"x":${deepText(depth, kind)}}`, depth: depth + 1 })),
      fc.integer({ min: 0, max: 5_000 }).map((keys) => ({
        text: `{${Array.from({ length: keys }, (_, i) => `"k${i}":${i}`).join(',')}}`,
        depth: 1,
      })),
      fc.integer({ min: 0, max: 20_000 }).map((n) => ({
        text: JSON.stringify({ s: 'x'.repeat(n) }),
        depth: 1,
      })),
    );
    await fc.assert(
      fc.asyncProperty(userData, async ({ text, depth }) => {
        const line = `{"TicketId":"t-deep","Binding":{"Name":"李三","IdentificationNumber":"${VALID_ID}","FacePic":"face.jpg"},"UserData":${text}}`;
        const path = join(dir, `deep-${fileCount++}.jsonl`);
        writeFileSync(path, `${line}\n${deepText(depth * 10, 'array')}\n`);
        try {
          const rows = [];
          for await (const row of readInputRows(path, 'jsonl', 'RPMin').rows) rows.push(row);
          const [ticket, bare] = rows;
          expect(bare).toMatchObject({ line: 2, problem: 'is not a JSON object' });
          if (ticket === undefined || !('request' in ticket)) throw new Error('line 1 not read');
          const check = parseRow(ticket.request, ctx());
          const tooBig = Buffer.byteLength(text) > USERDATA_MAX_BYTES;
          if (depth > USERDATA_MAX_DEPTH || tooBig) {
            expect(check.ok).toBe(false);
            if (!check.ok) expect(check.problems.map((p) => p.field)).toContain('UserData');
          } else {
            expect(check.ok).toBe(true);
            if (check.ok) expect(() => canonicalJson(check.input)).not.toThrow();
          }
        } finally {
          rmSync(path, { force: true });
        }
      }),
      { numRuns: 150 },
    );
  });

  it('finds a JSON syntax error exactly when JSON.parse refuses the text', () => {
    const texts = fc.oneof(
      fc.json(),
      fc
        .json()
        .chain((j) =>
          fc
            .tuple(fc.nat({ max: j.length }), fc.string({ maxLength: 3 }), fc.nat({ max: 3 }))
            .map(([at, insert, cut]) => `${j.slice(0, at)}${insert}${j.slice(at + cut)}`),
        ),
      fc.string({ maxLength: 40 }),
      fc.string({ unit: 'binary', maxLength: 40 }),
    );
    fc.assert(
      fc.property(texts, (text) => {
        let valid = true;
        try {
          JSON.parse(text);
        } catch {
          valid = false;
        }
        const offset = jsonSyntaxErrorOffset(text);
        if (valid) expect(offset, text).toBeUndefined();
        else {
          expect(offset, text).toBeGreaterThanOrEqual(0);
          expect(offset, text).toBeLessThanOrEqual(text.length);
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('writes report CSVs in which no cell starts a formula, each cell its value or the value quoted', async () => {
    const row = fc.record({
      ticketId: fc.oneof(reportText, fc.stringMatching(/^[=+\-@][\x21-\x7e]{0,20}$/)),
      auditConclusions: reportText,
      errorMessage: reportText,
      // the financial family's provider strings, and its tickets' OuterOrderNo
      financial: fc.boolean(),
      subCode: reportText,
      certifyId: reportText,
      score: fc.oneof(fc.double({ noNaN: true, noDefaultInfinity: true }), fc.integer()),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(row, { minLength: 1, maxLength: 20 }), async (tickets) => {
        const rows = tickets.map((t) =>
          reportRow({
            ticketId: t.ticketId,
            biz: 'RPMin',
            flow: 'server',
            ...(t.financial ? { family: 'financial' } : {}),
            state: 'failed',
            version: 1,
            attempts: 1,
            createdAt: 0,
            updatedAt: 0,
            verdict: {
              statusCode: 2,
              similarityScore: t.score,
              auditConclusions: t.auditConclusions,
              ...(t.financial ? { subCode: t.subCode, certifyId: t.certifyId } : {}),
            },
            lastError: { code: 'X', message: t.errorMessage, retryable: false, at: 0 },
          } as ListedTicket),
        );
        const text = await streamText(Readable.from(rows).pipe(reportEncoder('csv')));
        const read = parseCsv<Record<string, string>>(text, { columns: true });
        expect(read).toHaveLength(rows.length);
        for (const [i, cells] of read.entries()) {
          const written = rows[i]!;
          for (const column of [
            'TicketId',
            'auditConclusions',
            'errorMessage',
            'family',
            'outerOrderNo',
            'subCode',
            'certifyId',
          ] as const) {
            const cell = cells[column] ?? '';
            const value = String(written[column]);
            expect(cell).not.toMatch(/^[=+\-@\t\r＝＋－＠]/);
            expect([value, `'${value}`]).toContain(cell);
          }
          expect(Number(cells.similarityScore) === tickets[i]!.score).toBe(true);
        }
      }),
      { numRuns: 300 },
    );
  });
});
