/**
 * The command line's flags for people and scripts, run as an operator runs them (the package's
 * command in a child process, its standard input piped): `--version`, `enqueue -` (rows on
 * standard input, CSV or JSONL), `--json` on every command a script reads (one JSON document on
 * stdout), `report --out -` (CSV or JSON lines on stdout and nothing else there), and colour only
 * where it is wanted (`NO_COLOR` wins over `FORCE_COLOR`; none into a pipe).
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../testkit/processes.js';
import type { CliRun } from '../support/cli-process.js';
import { smallJpeg } from '../support/images.js';
import { startTestOrchestrator, type TestOrchestrator } from '../support/orchestrator.js';

const ESC = '\x1b';
const VERSION = (
  JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as {
    version: string;
  }
).version;
/** Colour settings of the runner's own environment, blanked unless a test sets them. */
const COLOUR_ENV = ['NO_COLOR', 'FORCE_COLOR', 'CLICOLOR_FORCE'];

let o: TestOrchestrator;
let dir: string;

/** Runs the CLI in `dir` with `input` piped to its standard input (closed at once without). */
function cli(
  args: readonly string[],
  options: { input?: string; env?: Record<string, string> } = {},
): Promise<CliRun> {
  const env: Record<string, string | undefined> = { ...process.env, ...o.env };
  for (const key of COLOUR_ENV) delete env[key];
  const child = spawn(
    process.execPath,
    [join(REPO_ROOT, 'bin/cloudauth-orchestrator.js'), ...args],
    {
      cwd: dir,
      env: { ...env, ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  child.stdin.end(options.input ?? '');
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** stdout is exactly one JSON document; answers it. */
function oneJson(r: CliRun): Record<string, unknown> {
  expect(r.stdout.endsWith('}\n'), r.stdout).toBe(true);
  return JSON.parse(r.stdout) as Record<string, unknown>;
}

const CSV_HEADER = 'TicketId,Name,IdentificationNumber,FacePic';
const jsonl = (id: string, name: string, idNumber: string) =>
  JSON.stringify({
    TicketId: id,
    Binding: { Name: name, IdentificationNumber: idNumber, FacePic: 'faces/a.jpg' },
  });

beforeAll(async () => {
  o = await startTestOrchestrator();
  dir = await mkdtemp(join(tmpdir(), 'cli-flags-'));
  await mkdir(join(dir, 'faces'));
  await writeFile(join(dir, 'faces/a.jpg'), await smallJpeg('#7b5a44'));
}, 30_000);

afterAll(async () => {
  await o?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('--version', () => {
  it("prints package.json's version, and nothing else", async () => {
    for (const flag of ['--version', '-V']) {
      const r = await cli([flag]);
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(`${VERSION}\n`);
      expect(r.stderr).toBe('');
    }
  });
});

describe('enqueue - (standard input)', () => {
  it('--dry-run reads CSV from standard input (the default format), images relative to the working directory', async () => {
    const input = [
      CSV_HEADER,
      'in-1,李三,11010519491231002X,faces/a.jpg',
      'in-2,王五,372321199103099416,faces/a.jpg',
      'in-3,赵六,11010519491231002Y,faces/a.jpg',
    ].join('\n');
    const r = await cli(['enqueue', '-', '--biz', 'RPMin', '--batch', 'stdin-dry', '--dry-run'], {
      input,
    });
    expect(r.code, r.stderr).toBe(3);
    expect(r.stdout).toContain('Plan for (standard input)');
    expect(r.stdout).toMatch(/rows read +3\n/);
    expect(r.stdout).toMatch(/valid, new +2 /);
    expect(r.stdout).toContain('line 4: Binding.IdentificationNumber');
    expect(r.stdout).toContain('Dry run: nothing enqueued.');
    expect(r.stdout).not.toContain('李三');
    expect(await o.app.store.existing(['in-1', 'in-2'])).toEqual(new Set());
    const log = await readFile(join(dir, 'stdin.invalid.jsonl'), 'utf8');
    expect(log.trim().split('\n')).toHaveLength(1);
  }, 30_000);

  it('--format jsonl --yes --wait --json enqueues from standard input and prints one JSON document', async () => {
    const input = [
      jsonl('in-4', '冯二', '372321199103099416'),
      jsonl('in-5', '陈三', '410381198312056511'),
    ].join('\n');
    const r = await cli(
      ['enqueue', '-', '--format', 'jsonl', '--biz', 'RPMin', '--batch', 'stdin-1'].concat([
        '--yes',
        '--wait',
        '--json',
      ]),
      { input },
    );
    expect(r.code, r.stderr).toBe(0);
    const doc = oneJson(r);
    expect(doc).toMatchObject({
      file: '(standard input)',
      batchId: 'stdin-1',
      format: 'jsonl',
      outcome: 'enqueued',
      plan: { rowsRead: 2, validNew: 2, alreadyKnown: 0, invalid: 0, invalidRows: [] },
      enqueued: { enqueued: 2, invalid: 0 },
      invalid: 0,
      final: { passed: 2 },
    });
    // progress went to stderr
    expect(r.stderr).toContain('batch stdin-1: 2 tickets: passed 2');
    expect(r.stdout).not.toContain('冯二');
  }, 60_000);

  it('refuses a format other than csv or jsonl', async () => {
    const r = await cli(['enqueue', '-', '--format', 'xlsx', '--biz', 'RPMin', '--dry-run']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('xlsx');
  });
});

describe('report --out -', () => {
  it('writes CSV to stdout and nothing else; the count goes to stderr', async () => {
    const r = await cli(['report', '--batch', 'stdin-1', '--out', '-']);
    expect(r.code, r.stderr).toBe(0);
    const rows = parse<Record<string, string>>(r.stdout, { columns: true });
    expect(rows.map((row) => row.TicketId).sort()).toEqual(['in-4', 'in-5']);
    for (const row of rows) expect(row).toMatchObject({ state: 'passed', statusCode: '1' });
    expect(r.stderr).toContain('Wrote 2 tickets of batch stdin-1 to standard output');
  }, 30_000);

  it('--json (or --format jsonl) writes JSON lines to stdout', async () => {
    for (const flags of [['--json'], ['--format', 'jsonl']]) {
      const r = await cli(['report', '--batch', 'stdin-1', '--out', '-', ...flags]);
      expect(r.code, r.stderr).toBe(0);
      const rows = r.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(rows.map((row) => row.TicketId).sort()).toEqual(['in-4', 'in-5']);
      expect(rows[0]).toMatchObject({ state: 'passed', statusCode: 1, emulated: true });
    }
    const contradiction = await cli([
      'report',
      '--batch',
      'stdin-1',
      '--out',
      '-',
      '--json',
      '--format',
      'csv',
    ]);
    expect(contradiction.code).toBe(2);
    expect(contradiction.stdout).toBe('');
  }, 30_000);

  it('an unknown batch exits 5 with nothing on stdout', async () => {
    const r = await cli(['report', '--batch', 'no-such-batch', '--out', '-']);
    expect(r.code).toBe(5);
    expect(r.stdout).toBe('');
  });

  it('with a file, --json prints the summary as one JSON document', async () => {
    const r = await cli(['report', '--batch', 'stdin-1', '--out', 'r.csv', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(oneJson(r)).toEqual({
      batch: 'stdin-1',
      tickets: 2,
      out: join(dir, 'r.csv'),
      format: 'csv',
    });
    expect(await readFile(join(dir, 'r.csv'), 'utf8')).toMatch(/^TicketId,/);
  }, 30_000);
});

describe('--json on status, retry, cancel, erase and webhooks', () => {
  it('prints one JSON document each', async () => {
    const status = oneJson(await cli(['status', 'in-4', '--json']));
    expect(status).toMatchObject({ ticketId: 'in-4', state: 'passed', batchId: 'stdin-1' });

    expect(oneJson(await cli(['retry', '--failed', '--batch', 'stdin-1', '--json']))).toEqual({
      retried: 0,
      batch: 'stdin-1',
    });

    await o.app.intake.enqueue({
      ticketId: 'json-h5',
      biz: 'RPH5BioOnly',
      binding: { name: '王五', idNumber: '11010519491231002X', materials: {} },
    });
    await o.waitFor('json-h5', (t) => t.state === 'awaiting_user');
    expect(oneJson(await cli(['cancel', 'json-h5', '--json']))).toEqual({
      ticketId: 'json-h5',
      state: 'cancelled',
    });
    const erased = oneJson(await cli(['erase', 'json-h5', '--json']));
    expect(erased).toMatchObject({ ticketId: 'json-h5', state: 'cancelled' });
    expect(erased.personalDataErasedAt).toMatch(/^\d{4}-\d\d-\d\dT/);

    expect(oneJson(await cli(['webhooks', 'dead-letters', '--json']))).toEqual({
      events: [],
      count: 0,
    });
    expect(oneJson(await cli(['webhooks', 'replay', '--json']))).toEqual({ replayed: 0 });
  }, 60_000);
});

describe('colour', () => {
  it('none into a pipe; FORCE_COLOR forces it; NO_COLOR wins over FORCE_COLOR', async () => {
    const piped = await cli(['status', 'in-4']);
    expect(piped.stdout).toMatch(/State +passed/);
    expect(piped.stdout).not.toContain(ESC);

    const forced = await cli(['status', 'in-4'], { env: { FORCE_COLOR: '1' } });
    expect(forced.stdout).toContain(`${ESC}[32mpassed${ESC}[39m`);
    const helpForced = await cli(['--help'], { env: { FORCE_COLOR: '1' } });
    expect(helpForced.stdout).toContain(`${ESC}[1mUsage:`);

    const args = [['status', 'in-4'], ['--help'], ['enqueue', '--help']];
    const runs = await Promise.all(
      args.map((a) => cli(a, { env: { FORCE_COLOR: '1', NO_COLOR: '1' } })),
    );
    for (const r of runs) {
      expect(r.code).toBe(0);
      expect(r.stdout.length).toBeGreaterThan(0);
      expect(r.stdout + r.stderr).not.toContain(ESC);
    }
  }, 30_000);
});
