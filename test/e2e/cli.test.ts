/**
 * The command line as an operator runs it: a child process on the same Redis prefix as the
 * workers of an in-process orchestrator, a CSV of applicants with photos next to it, good rows
 * and every kind of bad row.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PDF, smallJpeg, smallPng } from '../support/images.js';
import { runCliProcess, type CliRun } from '../support/cli-process.js';
import { startTestOrchestrator, TEST_BIZ, type TestOrchestrator } from '../support/orchestrator.js';
import { outerOrderNoOf } from '../../src/domain/biz.js';
import { StartLinks } from '../../src/flow/start-links.js';

const GOOD = [
  ['c-1', '李三', '11010519491231002X', 'faces/a.jpg'],
  ['c-2', '王五', '372321199103099416', 'faces/b.png'],
  ['c-3', '赵六', '410381198312056511', 'faces/a.jpg'],
  ['c-4', '钱七', '110101199003070011', 'faces/c.jpg'],
] as const;
const GOOD_IDS = GOOD.map(([id]) => id);
const BAD_REASONS = [
  'line 6: Binding.IdentificationNumber: check digit does not match (GB 11643)',
  'line 7: Binding.FacePic: file does not exist',
  'line 8: Binding.FacePic: it is a PDF, not an image',
  'line 9: Binding.FacePic: the file is empty',
  'line 10: TicketId: repeats the TicketId of line 2',
  'line 11: Binding.Name: is required by RPMin',
];

let o: TestOrchestrator;
let dir: string;
let csv: string;

function cli(...args: string[]): Promise<CliRun> {
  return runCliProcess(o.env, args);
}

beforeAll(async () => {
  o = await startTestOrchestrator();
  dir = await mkdtemp(join(tmpdir(), 'cli-e2e-'));
  await mkdir(join(dir, 'faces'));
  await writeFile(join(dir, 'faces/a.jpg'), await smallJpeg('#8a6b4e'));
  await writeFile(join(dir, 'faces/b.png'), await smallPng('#6b4e8a'));
  await writeFile(join(dir, 'faces/c.jpg'), await smallJpeg('#4e8a6b'));
  await writeFile(join(dir, 'faces/doc.pdf'), PDF);
  await writeFile(join(dir, 'faces/empty.jpg'), Buffer.alloc(0));
  csv = join(dir, 'applicants.csv');
  const rows = [
    'TicketId,Name,IdentificationNumber,FacePic,IdCardFrontPic,IdCardBackPic',
    ...GOOD.map((r) => `${r.join(',')},,`),
    'c-5,孙八,630546198009090099,faces/a.jpg,,',
    'c-6,周九,11010519491231002X,faces/missing.jpg,,',
    'c-7,吴十,372321199103099416,faces/doc.pdf,,',
    'c-8,郑一,410381198312056511,faces/empty.jpg,,',
    'c-1,李三,11010519491231002X,faces/a.jpg,,',
    'c-9,,110101199003070011,faces/a.jpg,,',
  ];
  await writeFile(csv, `${rows.join('\n')}\n`);
}, 30_000);

afterAll(async () => {
  await o?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('enqueue', () => {
  it('--dry-run prints the plan with every bad row and its reason, enqueues nothing, exits 3', async () => {
    const r = await cli('enqueue', csv, '--biz', 'RPMin', '--batch', 'dry', '--dry-run');
    expect(r.code).toBe(3);
    expect(r.stdout).toMatch(/rows read +10\n/);
    expect(r.stdout).toMatch(/valid, new +4 \(server flow 4\)\n/);
    expect(r.stdout).toMatch(/already enqueued +0\n/);
    expect(r.stdout).toMatch(/invalid +6\n/);
    for (const reason of BAD_REASONS) expect(r.stdout).toContain(reason);
    expect(r.stdout).toContain('Dry run: nothing enqueued.');
    expect(await o.app.store.existing(GOOD_IDS)).toEqual(new Set());
    const log = await readFile(`${csv}.invalid.jsonl`, 'utf8');
    expect(log.trim().split('\n')).toHaveLength(6);
    expect(log).not.toContain('孙八');
  }, 30_000);

  it('enqueues the valid rows with progress, follows the batch to the end, and exits 3 for the invalid rows', async () => {
    const r = await cli('enqueue', csv, '--biz', 'RPMin', '--batch', 'b1', '--yes', '--wait');
    expect(r.code).toBe(3);
    expect(r.stdout).toContain('Enqueued 4 tickets into batch b1.');
    expect(r.stdout).toMatch(/invalid rows +6 \(all in .*applicants\.csv\.invalid\.jsonl\)/);
    expect(r.stdout).toContain('Final: 4 tickets: passed 4');
    expect(r.stderr).toContain('enqueuing: 4/4 tickets');
    expect(r.stderr).toContain('batch b1: 4 tickets: passed 4');
    for (const id of GOOD_IDS) {
      const t = await o.app.store.get(id);
      expect(t).toMatchObject({ state: 'passed', batchId: 'b1' });
    }
    expect(await o.app.store.existing(['c-5', 'c-6', 'c-7', 'c-8', 'c-9'])).toEqual(new Set());
  }, 60_000);

  it('a second run of the same file enqueues nothing new: every valid row is already enqueued', async () => {
    const r = await cli('enqueue', csv, '--biz', 'RPMin', '--yes');
    expect(r.code).toBe(3);
    expect(r.stdout).toMatch(/valid, new +0\n/);
    expect(r.stdout).toMatch(/already enqueued +4\n/);
    expect(r.stdout).toMatch(/invalid +6\n/);
    expect(r.stdout).toContain('Nothing new to enqueue.');
  }, 30_000);

  it('reads JSONL in the HTTP shape, reports a line that is not JSON, and exits 3', async () => {
    const file = join(dir, 'more.jsonl');
    const line = (id: string, name: string, idNumber: string) =>
      JSON.stringify({
        TicketId: id,
        Binding: { Name: name, IdentificationNumber: idNumber, FacePic: 'faces/c.jpg' },
      });
    await writeFile(
      file,
      [
        line('j-1', '冯二', '372321199103099416'),
        '{not json',
        line('j-2', '陈三', '410381198312056511'),
      ].join('\n'),
    );
    const r = await cli('enqueue', file, '--biz', 'RPMin', '--batch', 'j');
    expect(r.code).toBe(3);
    expect(r.stdout).toMatch(/line 2: row: not valid JSON/);
    expect(r.stdout).toContain('Enqueued 2 tickets into batch j.');
    expect(await o.app.store.existing(['j-1', 'j-2'])).toEqual(new Set(['j-1', 'j-2']));
  }, 30_000);

  it('refuses an unknown file type, a missing file, unknown CSV columns and options with exit 2; --help exits 0', async () => {
    const odd = join(dir, 'odd.csv');
    await writeFile(odd, 'TicketId,Name,Phone,Email\nx,y,z,w\n');
    const [txt, missing, columns, biz, option, help, top, role] = await Promise.all([
      cli('enqueue', join(dir, 'x.txt'), '--biz', 'RPMin'),
      cli('enqueue', join(dir, 'nope.csv'), '--biz', 'RPMin'),
      cli('enqueue', odd, '--biz', 'RPMin'),
      cli('enqueue', csv, '--biz', 'NoSuchBiz'),
      cli('enqueue', csv, '--biz', 'RPMin', '--bogus'),
      cli('enqueue', '--help'),
      cli('--help'),
      cli('worker', '--help'),
    ]);
    expect(txt.code).toBe(2);
    expect(txt.stderr).toContain('unknown file type ".txt"');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('does not exist');
    expect(columns.code).toBe(2);
    expect(columns.stderr).toContain('unknown CSV columns: "Phone", "Email"');
    expect(biz.code).toBe(2);
    expect(biz.stderr).toContain('--biz "NoSuchBiz" is not configured');
    expect(option.code).toBe(2);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Examples:');
    expect(help.stdout).toContain('3  some rows invalid');
    // the process roles are commands too, with their own exit codes
    expect(top.code).toBe(0);
    expect(top.stdout).toMatch(/^ {2}api +serve the HTTP API/m);
    expect(top.stdout).toMatch(/^ {2}worker +run ticket and webhook workers/m);
    expect(top.stdout).toMatch(/^ {2}emulator +run the Cloudauth and OSS emulators/m);
    expect(top.stdout).toMatch(/^ {2}all +everything in one process/m);
    expect(role.code).toBe(0);
    expect(role.stdout).toContain('130  a second SIGINT');
  }, 60_000);
});

describe('report, status, retry, cancel', () => {
  it('report --batch writes one CSV row per ticket of the batch, without personal data', async () => {
    const out = join(dir, 'results.csv');
    const r = await cli('report', '--batch', 'b1', '--out', out);
    expect(r.code).toBe(0);
    const text = await readFile(out, 'utf8');
    const rows = parse<Record<string, string>>(text, { columns: true });
    expect(rows.map((row) => row.TicketId).sort()).toEqual(GOOD_IDS);
    for (const row of rows) {
      expect(row).toMatchObject({
        Biz: 'RPMin',
        state: 'passed',
        statusCode: '1',
        emulated: 'true',
      });
      expect(Number(row.similarityScore)).toBeGreaterThan(0);
      expect(row.finishedAt).toMatch(/^\d{4}-\d\d-\d\dT/);
    }
    for (const [, name, idNumber] of GOOD) {
      expect(text).not.toContain(name);
      expect(text).not.toContain(idNumber);
    }
    const unknown = await cli('report', '--batch', 'no-such-batch', '--out', join(dir, 'x.csv'));
    expect(unknown.code).toBe(5);
  }, 30_000);

  it('status shows the state, verdict and masked applicant; --json too; unknown is 5', async () => {
    // its personal data goes right after its verdict is written
    await o.waitFor('c-1', (t) => t.erasedAt !== undefined);
    const r = await cli('status', 'c-1');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/State +passed/);
    expect(r.stdout).toMatch(/Emulated +yes: reached in embedded mode on the Cloudauth emulator/);
    expect(r.stdout).toContain('李*  1101**********002X');
    expect(r.stdout).toContain('queued → token_issued');
    expect(r.stdout).not.toContain('11010519491231002X');
    // passed: its personal data went when it finished; the masked applicant stays
    expect(r.stdout).toMatch(/Erased +name, ID number and photos, \S+ \(finished\)/);
    const json = await cli('status', 'c-1', '--json');
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({
      ticketId: 'c-1',
      state: 'passed',
      applicant: { name: '李*', idNumber: '1101**********002X' },
      verdict: { statusCode: 1 },
      emulated: true,
    });
    expect((await cli('status', 'no-such-ticket')).code).toBe(5);
    // in production the command line needs REDIS_URL and ENCRYPTION_KEY only: no WEBHOOK_SECRET,
    // no API_TOKENS (and the Cloudauth settings are not judged)
    expect(o.env).not.toHaveProperty('WEBHOOK_SECRET');
    const production = await runCliProcess({ ...o.env, ORCHESTRATOR_MODE: 'production' }, [
      'status',
      'c-1',
    ]);
    expect(production.code, production.stderr).toBe(0);
    expect(production.stdout).toMatch(/State +passed/);
  }, 30_000);

  it('retry and cancel answer 5 for unknown ids and 6 for a ticket that has ended', async () => {
    const [unknownRetry, unknownCancel, unknownBatch, retry, cancel, failed, bare] =
      await Promise.all([
        cli('retry', 'no-such-ticket'),
        cli('cancel', 'no-such-ticket'),
        cli('retry', '--failed', '--batch', 'no-such-batch'),
        cli('retry', 'c-1'),
        cli('cancel', 'c-1'),
        cli('retry', '--failed', '--batch', 'b1'),
        cli('retry'),
      ]);
    expect(unknownRetry.code).toBe(5);
    expect(unknownCancel.code).toBe(5);
    expect(unknownCancel.stderr).toContain('no ticket "no-such-ticket"');
    expect(unknownBatch.code).toBe(5);
    expect(retry.code).toBe(6);
    expect(retry.stderr).toContain('the ticket is passed');
    expect(cancel.code).toBe(6);
    expect(failed.code).toBe(0);
    expect(failed.stdout).toContain('Retried 0 failed tickets of batch b1.');
    expect(bare.code).toBe(2);
    expect((await o.app.store.get('c-1'))?.state).toBe('passed');
  }, 60_000);

  it('erase erases a running ticket on request (cancelled first) and says so; unknown is 5', async () => {
    await o.app.intake.enqueue({
      ticketId: 'h5-erase',
      biz: 'RPH5BioOnly',
      binding: { name: '王五', idNumber: '11010519491231002X', materials: {} },
    });
    await o.waitFor('h5-erase', (t) => t.state === 'awaiting_user');
    const r = await cli('erase', 'h5-erase');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/Ticket h5-erase \(cancelled\): .* erased/);
    const t = await o.app.store.get('h5-erase');
    expect(t).toMatchObject({ state: 'cancelled', erasedAt: expect.any(Number) });
    const status = await cli('status', 'h5-erase', '--json');
    expect(JSON.parse(status.stdout)).toMatchObject({
      applicant: { name: '王*', idNumber: '1101**********002X' },
      personalDataErased: { reason: 'request' },
    });
    expect((await cli('erase', 'no-such-ticket')).code).toBe(5);
  }, 30_000);

  it('retry of a failed ticket whose data was erased answers 6, saying why', async () => {
    await o.app.intake.enqueue({
      ticketId: 'failed-erased',
      biz: 'RPMin',
      binding: {
        name: '王五',
        idNumber: '11010519491231002X',
        materials: {
          FacePic: { kind: 'bytes', base64: Buffer.from('%PDF-1.4').toString('base64') },
        },
      },
    });
    expect((await o.waitFor('failed-erased')).state).toBe('failed');
    expect((await cli('erase', 'failed-erased')).code).toBe(0);
    const retry = await cli('retry', 'failed-erased');
    expect(retry.code).toBe(6);
    expect(retry.stderr).toContain('personal data was erased');
    expect(retry.stderr).not.toContain('王五');
    expect((await o.app.store.get('failed-erased'))?.state).toBe('failed');
  }, 30_000);

  it('cancel cancels a ticket that has not ended', async () => {
    await o.app.intake.enqueue({
      ticketId: 'h5-1',
      biz: 'RPH5BioOnly',
      binding: { name: '李三', idNumber: '11010519491231002X', materials: {} },
    });
    await o.waitFor('h5-1', (t) => t.state === 'awaiting_user');
    const r = await cli('cancel', 'h5-1');
    expect(r.code).toBe(0);
    expect((await o.app.store.get('h5-1'))?.state).toBe('cancelled');
  }, 30_000);
});

describe('the financial-grade family', () => {
  // its own orchestrator, without workers: the tickets wait where intake leaves them
  let f: TestOrchestrator;
  let file: string;
  const PUBLIC_URL = 'https://kyc.example.com';
  const fcli = (env: Record<string, string>, ...args: string[]) =>
    runCliProcess({ ...f.env, ...env }, args);
  /** The start link in `text`, checked as the API checks it: this orchestrator's, for `ticketId`. */
  const startLinkIn = (text: string, ticketId: string) => {
    const url = new RegExp(`${PUBLIC_URL}/v1/start/([\\w.-]+)`).exec(text);
    expect(url, 'a start link').not.toBeNull();
    const links = new StartLinks(Buffer.from(f.env.ENCRYPTION_KEY ?? '', 'base64'), () => '');
    const checked = links.verify(url?.[1] ?? '', Date.now());
    expect(checked).toMatchObject({ ticketId });
    return checked as { ticketId: string; startBy: number };
  };

  beforeAll(async () => {
    f = await startTestOrchestrator({
      workers: false,
      env: {
        CLOUDAUTH_BIZ: `${TEST_BIZ},FaceH5=financial:ID_PRO:1000000006,FaceServer=financial:ID_MIN:1000000007:precheck`,
        CLOUDAUTH_QPS: 'ContrastFaceVerify=1,*=0',
      },
    });
    file = join(dir, 'financial.csv');
    await writeFile(
      file,
      [
        'TicketId,Biz,Name,IdentificationNumber,FacePic',
        'fin-1,FaceServer,李三,11010519491231002X,faces/a.jpg',
        'fin2,FaceH5,王五,372321199103099416,',
        'fin-3,FaceH5,赵六,410381198312056511,faces/a.jpg',
        'fin-4,FaceServer,钱七,110101199003070011,',
      ].join('\n') + '\n',
    );
  }, 30_000);
  afterAll(async () => {
    await f?.close();
  });

  it('enqueue --dry-run counts each flow, its provider calls and start links, and refuses an ID_PRO photo', async () => {
    const r = await fcli({}, 'enqueue', file, '--batch', 'fin-dry', '--dry-run');
    expect(r.code, r.stderr).toBe(3);
    expect(r.stdout).toMatch(/rows read +4\n/);
    expect(r.stdout).toMatch(/valid, new +2 \(server flow 1, interactive flow 1\)\n/);
    expect(r.stdout).toMatch(/of which ID_PRO +1 \(/);
    expect(r.stdout).toMatch(/invalid +2\n/);
    expect(r.stdout).toContain(
      "line 4: Binding.FacePic: is not used by financial:ID_PRO:1000000006 (the person takes their photo on the provider's page)",
    );
    expect(r.stdout).toContain(
      'line 5: Binding.FacePic: is required by financial:ID_MIN:1000000007:precheck',
    );
    // the financial actions, under their own limits; no GetVerifyToken for these tickets
    expect(r.stdout).toContain(
      'about 1 s (ContrastFaceVerify: 1 calls at 1 QPS is the bottleneck), plus the time people take to open their start link',
    );
    expect(r.stdout).not.toContain('GetVerifyToken');
    expect(await f.app.store.existing(['fin-1', 'fin2'])).toEqual(new Set());
    expect(r.stdout + (await readFile(`${file}.invalid.jsonl`, 'utf8'))).not.toMatch(/赵六|钱七/);
  }, 30_000);

  it('status shows the family and OuterOrderNo, and the start link of an ID_PRO ticket that the API accepts', async () => {
    const enqueued = await fcli({}, 'enqueue', file, '--batch', 'fin-b', '--yes');
    expect(enqueued.code, enqueued.stderr).toBe(3);
    expect(enqueued.stdout).toContain('Enqueued 2 tickets into batch fin-b.');
    const stored = await f.app.store.get('fin2');
    expect(stored).toMatchObject({ family: 'financial', state: 'queued' });

    const r = await fcli({ API_PUBLIC_URL: PUBLIC_URL }, 'status', 'fin2');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('Biz         FaceH5 (financial-grade, interactive flow)\n');
    expect(r.stdout).toContain('OuterOrderNo fin2\n');
    expect(r.stdout).toMatch(/Start link +https:\/\/kyc\.example\.com\/v1\/start\//);
    expect(startLinkIn(r.stdout, 'fin2').startBy).toBe(stored?.startBy);

    const json = await fcli({ API_PUBLIC_URL: PUBLIC_URL }, 'status', 'fin2', '--json');
    expect(JSON.parse(json.stdout)).toMatchObject({
      family: 'financial',
      outerOrderNo: 'fin2',
      state: 'queued',
      startUrl: expect.stringMatching(/^https:\/\/kyc\.example\.com\/v1\/start\//),
    });
    // the API's public URL unknown here (API_PORT=0, no API_PUBLIC_URL): no link, and why
    const unknown = await fcli({}, 'status', 'fin2', '--json');
    expect(unknown.code).toBe(0);
    expect(JSON.parse(unknown.stdout)).not.toHaveProperty('startUrl');
    expect(unknown.stderr).toContain('the start link is not shown: API_PUBLIC_URL is not set here');
    // the server flow has no start link
    const server = await fcli({ API_PUBLIC_URL: PUBLIC_URL }, 'status', 'fin-1', '--json');
    expect(JSON.parse(server.stdout)).toMatchObject({
      family: 'financial',
      outerOrderNo: outerOrderNoOf('fin-1'),
      flow: 'server',
    });
    expect(server.stdout).not.toContain('/v1/start/');
  }, 30_000);

  it('report writes the family and OuterOrderNo columns, and no start link', async () => {
    const out = join(dir, 'financial-results.csv');
    const r = await fcli(
      { API_PUBLIC_URL: PUBLIC_URL },
      'report',
      '--batch',
      'fin-b',
      '--out',
      out,
    );
    expect(r.code, r.stderr).toBe(0);
    const text = await readFile(out, 'utf8');
    const rows = parse<Record<string, string>>(text, { columns: true });
    expect(
      rows
        .map((row) => [row.TicketId, row.family, row.outerOrderNo, row.subCode, row.certifyId])
        .sort(),
    ).toEqual([
      ['fin-1', 'financial', outerOrderNoOf('fin-1'), '', ''],
      ['fin2', 'financial', 'fin2', '', ''],
    ]);
    expect(text).not.toContain('/v1/start/');
    expect(text).not.toContain('王五');
  }, 30_000);

  it('retry of an expired ID_PRO ticket prints its new start link, with a new end (the old link no longer matches the ticket)', async () => {
    const t = await f.app.store.get('fin2');
    if (t === undefined) throw new Error('fin2 is not stored');
    const before = await fcli({ API_PUBLIC_URL: PUBLIC_URL }, 'status', 'fin2');
    const oldLink = startLinkIn(before.stdout, 'fin2');
    // the start link ran out unopened (what a worker does at its end)
    await f.app.lifecycle.advance(t, { type: 'token_expired' });
    expect((await f.app.store.get('fin2'))?.state).toBe('expired');
    const expired = await fcli({ API_PUBLIC_URL: PUBLIC_URL }, 'status', 'fin2');
    expect(expired.stdout).not.toContain('Start link');

    const r = await fcli({ API_PUBLIC_URL: PUBLIC_URL }, 'retry', 'fin2');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('Ticket fin2 is queued again.\n');
    expect(r.stdout).toContain('New start link (the ones sent before no longer open): ');
    const fresh = startLinkIn(r.stdout, 'fin2');
    expect(fresh.startBy).toBe((await f.app.store.get('fin2'))?.startBy);
    expect(fresh.startBy).toBeGreaterThan(oldLink.startBy);
  }, 30_000);
});
