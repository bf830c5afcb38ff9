/**
 * What the CLI writes for a person and for a script: when colour is wanted (NO_COLOR, FORCE_COLOR,
 * CLICOLOR_FORCE, a terminal, TERM=dumb), the status view in colour and without, the report's
 * format for a file and for standard output, and one JSON document.
 */
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { CliError } from '../../src/cli/exit-codes.js';
import { COLOURED, PLAIN, colourWanted, stylesFor, writeJson } from '../../src/cli/output.js';
import { reportFormatFor } from '../../src/cli/report-command.js';
import { formatStatus, type TicketStatusView } from '../../src/cli/status-command.js';

const ESC = '\x1b';
const tty = { isTTY: true };
const pipe = { isTTY: false };

describe('colourWanted', () => {
  it('colours a terminal only, unless NO_COLOR, FORCE_COLOR or CLICOLOR_FORCE say otherwise', () => {
    const cases: [OutputCase, boolean][] = [
      [{ stream: tty, env: {} }, true],
      [{ stream: pipe, env: {} }, false],
      [{ stream: tty, env: { TERM: 'dumb' } }, false],
      [{ stream: tty, env: { NO_COLOR: '1' } }, false],
      // an empty NO_COLOR is unset (no-color.org)
      [{ stream: tty, env: { NO_COLOR: '' } }, true],
      [{ stream: pipe, env: { FORCE_COLOR: '1' } }, true],
      [{ stream: pipe, env: { CLICOLOR_FORCE: '1' } }, true],
      [{ stream: tty, env: { FORCE_COLOR: '0' } }, false],
      [{ stream: tty, env: { FORCE_COLOR: 'false' } }, false],
      // NO_COLOR wins
      [{ stream: pipe, env: { FORCE_COLOR: '1', NO_COLOR: '1' } }, false],
    ];
    for (const [{ stream, env }, wanted] of cases) {
      expect(colourWanted(stream, env), JSON.stringify({ stream, env })).toBe(wanted);
      expect(stylesFor(stream, env)).toBe(wanted ? COLOURED : PLAIN);
    }
  });
});

interface OutputCase {
  stream: { isTTY?: boolean };
  env: Record<string, string>;
}

const view: TicketStatusView = {
  ticketId: 't-1',
  biz: 'RPMin',
  flow: 'server',
  family: 'legacy',
  state: 'failed',
  attempts: 1,
  applicant: {},
  verdict: { statusCode: 2 },
  createdAt: '2025-03-01T08:00:00.000Z',
  updatedAt: '2025-03-01T08:00:02.000Z',
  history: [],
};

describe('formatStatus', () => {
  it('colours the state and the verdict by outcome, and is the plain text otherwise', () => {
    const plain = formatStatus(view);
    expect(plain).not.toContain('\x1b');
    expect(plain).toMatch(/State +failed\n/);
    const coloured = formatStatus(view, COLOURED);
    expect(coloured).toContain('State       \x1b[31mfailed\x1b[39m');
    expect(coloured).toContain('\x1b[31mnot passed\x1b[39m');
    // without its escape codes, the same text
    expect(coloured.replace(new RegExp(`${ESC}\\[\\d+m`, 'g'), '')).toBe(plain);
  });
});

describe('reportFormatFor', () => {
  it('takes --format, else the extension; for - CSV, or JSON lines with --json', () => {
    expect(reportFormatFor({ out: 'r.csv' })).toBe('csv');
    expect(reportFormatFor({ out: 'r.jsonl', json: true })).toBe('jsonl');
    expect(reportFormatFor({ out: 'r.txt', format: 'jsonl' })).toBe('jsonl');
    expect(reportFormatFor({ out: '-' })).toBe('csv');
    expect(reportFormatFor({ out: '-', json: true })).toBe('jsonl');
    expect(reportFormatFor({ out: '-', format: 'jsonl' })).toBe('jsonl');
    expect(() => reportFormatFor({ out: '-', json: true, format: 'csv' })).toThrow(CliError);
    expect(() => reportFormatFor({ out: 'r.txt' })).toThrow(CliError);
  });
});

describe('writeJson', () => {
  it('writes one document with one final newline', () => {
    let text = '';
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        text += chunk.toString();
        done();
      },
    });
    writeJson(sink, { a: [1, { b: null }] });
    expect(text.endsWith('}\n')).toBe(true);
    expect(text.split('\n').filter((l) => l === '')).toHaveLength(1);
    expect(JSON.parse(text)).toEqual({ a: [1, { b: null }] });
  });
});
