/**
 * The command line against a remote deployment over the HTTP API only (`--api`): the emulator, the
 * api and a worker each in a process of their own on a private REDIS_PREFIX, and the CLI as one
 * more process, in a directory of its own, with neither REDIS_URL nor ENCRYPTION_KEY nor any other
 * setting, on the sample CSV and photos the repository ships (examples/). A second api process, on
 * a redis-server of its own with a small body limit, is filled up to show how enqueue stops.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { runCliIsolated, type CliRun } from '../support/cli-process.js';
import { noiseJpeg } from '../support/images.js';
import { deleteKeys } from '../support/orchestrator.js';
import {
  printedUrl,
  startRoleProcess,
  waitForOk,
  type RoleProcess,
} from '../support/role-process.js';
import { freePort, REPO_ROOT } from '../../testkit/processes.js';
import { startRedisServer, type RedisServer } from '../../testkit/redis.js';
import { waitFor } from '../../testkit/waiting.js';

const TOKEN = randomBytes(16).toString('hex');
const prefix = `cli-api-${randomUUID().slice(0, 8)}`;
const dir = mkdtempSync(join(tmpdir(), 'cli-api-'));
const cwd = join(dir, 'cwd');
const tokenFile = join(dir, 'api.token');
const started: RoleProcess[] = [];
const BATCH = 'cli-api-1';
const IDS = Array.from({ length: 10 }, (_, i) => `example-${String(i + 1).padStart(4, '0')}`);
let redis: Redis;
let common: Record<string, string>;
let api = '';

function start(role: string, env: Record<string, string>, name = role): RoleProcess {
  const proc = startRoleProcess(role, env, dir, name);
  started.push(proc);
  return proc;
}

/** The shipped sample: applicants.csv and its photos, copied into `name` (logs go beside it). */
function samples(name: string): string {
  const input = join(dir, name);
  mkdirSync(input, { recursive: true });
  cpSync(join(REPO_ROOT, 'examples/applicants.csv'), join(input, 'applicants.csv'));
  cpSync(join(REPO_ROOT, 'examples/photos'), join(input, 'photos'), { recursive: true });
  return input;
}

function cli(args: readonly string[], env: Record<string, string> = {}): Promise<CliRun> {
  return runCliIsolated(cwd, env, args);
}

const asOperator = () => ['--api', api, '--token-file', tokenFile];

async function getJson(path: string, base = api): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } });
  return { status: res.status, body: await res.json() };
}

type View = { state: string; history: { to: string }[] };
const ticket = async (id: string) => (await getJson(`/v1/tickets/${id}`)).body as View;

/** Everything a run printed: the token must never be in it. */
const printed = (r: CliRun) => r.stdout + r.stderr;

beforeAll(async () => {
  redis = new Redis(inject('redisUrl'));
  mkdirSync(cwd);
  writeFileSync(tokenFile, `${TOKEN}\n`, { mode: 0o600 });
  common = {
    ORCHESTRATOR_MODE: 'embedded',
    REDIS_URL: inject('redisUrl'),
    REDIS_PREFIX: prefix,
    ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    // "Unregistered" is configured here but not at the emulator: its tickets fail (InvalidBiz)
    CLOUDAUTH_BIZ: 'RPMin=RPMin,RPH5BioOnly=RPH5BioOnly,Unregistered=RPMin',
    STAGING_DIR: join(dir, 'staging'),
    LOG_LEVEL: 'info',
  };
  const emulator = start('emulator', {
    CLOUDAUTH_BIZ: 'RPMin=RPMin,RPH5BioOnly=RPH5BioOnly',
    EMULATOR_CLOUDAUTH_PORT: '0',
    EMULATOR_OSS_PORT: '0',
    EMULATOR_REVIEW_MS: '0',
  });
  const apiProc = start('api', { ...common, API_PORT: '0', API_TOKENS: TOKEN });
  let emulatorUrl: string;
  [emulatorUrl, api] = await Promise.all([
    printedUrl(emulator, /Cloudauth emulator \(API [\d-]+\) +(http:\/\/\S+)/),
    printedUrl(apiProc, /HTTP API +(http:\/\/\S+)/),
  ]);
  const worker = start('worker', {
    ...common,
    CLOUDAUTH_ENDPOINT: emulatorUrl,
    CLOUDAUTH_ACCESS_KEY_ID: 'LTAIdemoOrchestrator',
    CLOUDAUTH_ACCESS_KEY_SECRET: 'demo-secret-change-me',
    CLOUDAUTH_QPS: '*=0',
    WEBHOOK_SECRET: randomBytes(16).toString('hex'),
    POLL_INITIAL_MS: '100',
    POLL_MAX_MS: '300',
    WORKER_OPS_PORT: '0',
  });
  const workerUrl = await printedUrl(worker, /worker probes +(http:\/\/\S+)\/healthz/);
  await Promise.all([
    waitForOk(emulator, `${emulatorUrl}/readyz`),
    waitForOk(apiProc, `${api}/readyz`),
    waitForOk(worker, `${workerUrl}/readyz`),
  ]);
}, 90_000);

afterAll(async () => {
  await Promise.all(started.map((p) => p.stop('SIGKILL')));
  await deleteKeys(redis, [`${prefix}:*`, `{${prefix}:q}:*`]);
  rmSync(dir, { recursive: true, force: true });
});

describe('the CLI over the HTTP API, with no Redis or ENCRYPTION_KEY of its own', () => {
  let csv: string;
  beforeAll(() => {
    csv = join(samples('input'), 'applicants.csv');
  });

  it('enqueue --dry-run checks every row and prints the plan, and sends nothing', async () => {
    const r = await cli([
      'enqueue',
      csv,
      '--biz',
      'RPMin',
      '--batch',
      BATCH,
      '--dry-run',
      ...asOperator(),
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/rows read +10\n/);
    expect(r.stdout).toMatch(
      /valid, new +10 \(10 whose Biz and required fields the API checks\)\n/,
    );
    expect(r.stdout).toMatch(/already enqueued +0\n/);
    expect(r.stdout).toContain("expected duration set by the workers' CLOUDAUTH_QPS");
    expect(r.stdout).toContain('Dry run: nothing enqueued.');
    const summary = await getJson(`/v1/summary?batch=${BATCH}`);
    expect(summary.body).toMatchObject({ batch: { total: 0 } });
  }, 30_000);

  it('enqueue sends each photo as bytes; every row is accepted and reaches its verdict', async () => {
    const r = await cli([
      'enqueue',
      csv,
      '--biz',
      'RPMin',
      '--batch',
      BATCH,
      '--yes',
      '--wait',
      ...asOperator(),
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`Enqueued 10 tickets into batch ${BATCH}.`);
    expect(r.stdout).toMatch(/invalid rows +0\n/);
    expect(r.stdout).toContain('Final: 10 tickets: passed 9, not_passed 1');
    expect(r.stderr).toContain(`batch ${BATCH}: 10 tickets: passed 9, not_passed 1`);
    for (const id of IDS) {
      expect((await ticket(id)).state).toBe(id === 'example-0010' ? 'not_passed' : 'passed');
    }
    expect(printed(r)).not.toContain(TOKEN);
    // nothing of embedded mode's local state: no data/ with a generated key
    expect(existsSync(join(cwd, 'data'))).toBe(false);
  }, 60_000);

  it('status shows a ticket as direct mode does, masked, with the token from CAO_API_TOKEN', async () => {
    const r = await cli(['status', 'example-0001', '--api', api], { CAO_API_TOKEN: TOKEN });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^TicketId +example-0001$/m);
    expect(r.stdout).toMatch(/^Biz +RPMin \(server flow\)$/m);
    expect(r.stdout).toMatch(/^State +passed$/m);
    expect(r.stdout).toMatch(new RegExp(`^Batch +${BATCH}$`, 'm'));
    expect(r.stdout).toMatch(/^Applicant +王\* +\S*\*+\S*$/m);
    expect(r.stdout).toMatch(/^Verdict +passed \(StatusCode 1\)/m);
    expect(r.stdout).toMatch(/^Emulated +yes/m);
    expect(r.stdout).toMatch(/ queued → token_issued /);
    expect(r.stdout).not.toContain('王芳');
    expect(r.stdout).not.toContain('11010119900307002X');

    const json = await cli(['status', 'example-0010', '--json', ...asOperator()]);
    expect(json.code, json.stderr).toBe(0);
    const view = JSON.parse(json.stdout) as Record<string, unknown>;
    expect(view).toMatchObject({
      ticketId: 'example-0010',
      biz: 'RPMin',
      flow: 'server',
      state: 'not_passed',
      batchId: BATCH,
      verdict: { statusCode: 2 },
      emulated: true,
      applicant: { name: '拒*' },
    });
    expect(Object.keys(view)).toEqual(
      expect.arrayContaining(['attempts', 'createdAt', 'updatedAt', 'finishedAt', 'history']),
    );

    const unknown = await cli(['status', 'no-such-ticket', ...asOperator()]);
    expect(unknown.code).toBe(5);
    expect(unknown.stderr).toContain('no ticket "no-such-ticket"');
  }, 30_000);

  it('report writes one row per ticket of the batch, without personal data', async () => {
    const r = await cli(['report', '--batch', BATCH, '--out', 'results.csv', ...asOperator()]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`Wrote 10 tickets of batch ${BATCH} to ${join(cwd, 'results.csv')}`);
    const text = readFileSync(join(cwd, 'results.csv'), 'utf8');
    const rows = parse<Record<string, string>>(text, { columns: true });
    expect(rows.map((row) => row.TicketId).sort()).toEqual(IDS);
    expect(rows.find((row) => row.TicketId === 'example-0010')).toMatchObject({
      state: 'not_passed',
      statusCode: '2',
      emulated: 'true',
    });
    expect(rows.filter((row) => row.state === 'passed')).toHaveLength(9);
    expect(text).not.toContain('王芳');

    const none = await cli([
      'report',
      '--batch',
      'no-such-batch',
      '--out',
      'none.jsonl',
      ...asOperator(),
    ]);
    expect(none.code).toBe(5);
    expect(existsSync(join(cwd, 'none.jsonl'))).toBe(false);
  }, 30_000);

  it('enqueue of the same file again finds every row known and sends nothing', async () => {
    const r = await cli(['enqueue', csv, '--biz', 'RPMin', '--yes', ...asOperator()]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/valid, new +0\n/);
    expect(r.stdout).toMatch(/already enqueued +10\n/);
    expect(r.stdout).toContain('Nothing new to enqueue.');
  }, 30_000);

  it('rows the API refuses are invalid rows; cancel and retry act on tickets through the API', async () => {
    const jsonl = join(dir, 'input', 'more.jsonl');
    const line = (id: string, biz: string, binding: Record<string, string>) =>
      JSON.stringify({ TicketId: id, Biz: biz, Binding: binding });
    writeFileSync(
      jsonl,
      [
        line('h5-1', 'RPH5BioOnly', { Name: '王芳', IdentificationNumber: '11010119900307002X' }),
        line('fails-1', 'Unregistered', {
          Name: '李伟',
          IdentificationNumber: '310104198511220153',
          FacePic: 'photos/face-02.jpg',
        }),
        line('nobiz-1', 'NoSuchBiz', { Name: '张敏', IdentificationNumber: '440106199306140281' }),
      ].join('\n'),
    );
    const r = await cli(['enqueue', jsonl, '--batch', 'cli-api-2', '--yes', ...asOperator()]);
    expect(r.code, r.stderr).toBe(3);
    expect(r.stdout).toContain('Enqueued 2 tickets into batch cli-api-2.');
    expect(r.stdout).toMatch(/invalid rows +1 \(all in .*more\.jsonl\.invalid\.jsonl\)/);
    const invalid = readFileSync(`${jsonl}.invalid.jsonl`, 'utf8').trim().split('\n');
    expect(invalid.map((l) => JSON.parse(l) as unknown)).toEqual([
      {
        line: 3,
        ticketId: 'nobiz-1',
        problems: [{ field: 'Biz', message: expect.stringContaining('is not a configured Biz') }],
      },
    ]);

    await waitFor(
      'h5-1 awaiting_user',
      () => ticket('h5-1'),
      (t) => t.state === 'awaiting_user',
      { timeoutMs: 30_000 },
    );
    await waitFor(
      'fails-1 failed',
      () => ticket('fails-1'),
      (t) => t.state === 'failed',
      { timeoutMs: 30_000 },
    );

    const cancel = await cli(['cancel', 'h5-1', ...asOperator()]);
    expect(cancel.code, cancel.stderr).toBe(0);
    expect(cancel.stdout).toBe('Ticket h5-1 is cancelled.\n');
    expect((await ticket('h5-1')).state).toBe('cancelled');
    const again = await cli(['cancel', 'h5-1', ...asOperator()]);
    expect(again.code).toBe(6);
    expect(again.stderr).toContain(
      'the ticket is cancelled: only a ticket that has not ended can be cancelled',
    );
    const notFailed = await cli(['retry', 'h5-1', ...asOperator()]);
    expect(notFailed.code).toBe(6);
    expect(notFailed.stderr).toContain(
      'the ticket is cancelled: only a failed or expired ticket can be retried',
    );
    const unknown = await cli(['cancel', 'no-such-ticket', ...asOperator()]);
    expect(unknown.code).toBe(5);

    const retry = await cli(['retry', 'fails-1', ...asOperator()]);
    expect(retry.code, retry.stderr).toBe(0);
    expect(retry.stdout).toBe('Ticket fails-1 is queued again.\n');
    const failedTwice = (t: View) =>
      t.state === 'failed' && t.history.filter((h) => h.to === 'failed').length === 2;
    await waitFor('fails-1 failed again', () => ticket('fails-1'), failedTwice, {
      timeoutMs: 30_000,
    });
    const all = await cli(['retry', '--failed', '--batch', 'cli-api-2', ...asOperator()]);
    expect(all.code, all.stderr).toBe(0);
    expect(all.stdout).toBe('Retried 1 failed ticket of batch cli-api-2.\n');
    const history = (await ticket('fails-1')).history.map((h) => h.to);
    expect(history.filter((to) => to === 'queued').length).toBeGreaterThanOrEqual(2);
  }, 90_000);

  it('a token the API refuses ends with exit 2, naming where the token came from, never the token', async () => {
    const wrong = `wrong-${randomBytes(12).toString('hex')}`;
    const fromEnv = await cli(['status', 'example-0001', '--api', api], { CAO_API_TOKEN: wrong });
    expect(fromEnv.code).toBe(2);
    expect(fromEnv.stderr).toContain('401');
    expect(fromEnv.stderr).toContain(
      'The bearer token from CAO_API_TOKEN is not one the API accepts',
    );
    expect(printed(fromEnv)).not.toContain(wrong);

    const wrongFile = join(dir, 'wrong.token');
    writeFileSync(wrongFile, wrong);
    const enqueue = await cli([
      'enqueue',
      csv,
      '--biz',
      'RPMin',
      '--yes',
      '--api',
      api,
      '--token-file',
      wrongFile,
    ]);
    expect(enqueue.code).toBe(2);
    expect(enqueue.stderr).toContain(
      `The bearer token from --token-file ${wrongFile} is not one the API accepts`,
    );
    expect(enqueue.stderr).toContain('Nothing was sent: no row of');
    expect(printed(enqueue)).not.toContain(wrong);

    const none = await cli(['status', 'example-0001', '--api', api]);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('give --token-file <path>, or set CAO_API_TOKEN');
  }, 30_000);

  it('an API that does not answer: enqueue says no row was accepted and exits 1', async () => {
    const port = await freePort();
    const r = await cli(
      ['enqueue', csv, '--biz', 'RPMin', '--yes', '--api', `http://127.0.0.1:${port}`],
      {
        CAO_API_TOKEN: TOKEN,
      },
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`cannot reach the API at http://127.0.0.1:${port} (ECONNREFUSED)`);
    expect(r.stderr).toContain(`Nothing was sent: no row of ${csv} was accepted`);
    expect(printed(r)).not.toContain(TOKEN);
  }, 30_000);
});

describe('enqueue over an API with a small body limit whose store fills up', () => {
  const smallPrefix = `${prefix}-small`;
  let server: RedisServer;
  let admin: Redis;
  let small = '';
  let input: string;

  beforeAll(async () => {
    server = await startRedisServer({ name: 'redis-cli-api' });
    admin = new Redis(server.url);
    const proc = start(
      'api',
      {
        ...common,
        REDIS_URL: server.url,
        REDIS_PREFIX: smallPrefix,
        STAGING_DIR: join(dir, 'staging-small'),
        API_PORT: '0',
        API_TOKENS: TOKEN,
        // two sample tickets fit, three do not
        API_BODY_LIMIT_BYTES: '36000',
      },
      'api-small',
    );
    small = await printedUrl(proc, /HTTP API +(http:\/\/\S+)/);
    await waitForOk(proc, `${small}/readyz`);
    input = samples('input-small');
    writeFileSync(join(input, 'photos/big.jpg'), await noiseJpeg(300, 300));
  }, 60_000);

  afterAll(async () => {
    admin?.disconnect();
    await server?.stop();
  });

  const operator = () => ['--api', small, '--token-file', tokenFile];

  it('splits a request over the limit, and refuses a ticket too large to go alone as invalid', async () => {
    const lines = readFileSync(join(input, 'applicants.csv'), 'utf8').trim().split('\n');
    const first = join(input, 'first.csv');
    writeFileSync(
      first,
      [...lines.slice(0, 4), 'big-0001,王芳,11010119900307002X,photos/big.jpg'].join('\n'),
    );
    const r = await cli([
      'enqueue',
      first,
      '--biz',
      'RPMin',
      '--batch',
      'small-1',
      '--yes',
      ...operator(),
    ]);
    expect(r.code, r.stderr).toBe(3);
    expect(r.stdout).toContain('Enqueued 3 tickets into batch small-1.');
    expect(r.stdout).toMatch(/invalid rows +1 /);
    const [invalid] = readFileSync(`${first}.invalid.jsonl`, 'utf8').trim().split('\n');
    expect(JSON.parse(invalid ?? '')).toEqual({
      line: 5,
      ticketId: 'big-0001',
      problems: [{ field: 'row', message: expect.stringContaining('as too large (413)') }],
    });
  }, 60_000);

  it('a full store stops enqueue (exit 7) listing the rows not accepted; run again, it sends only those', async () => {
    const csv = join(input, 'applicants.csv');
    await admin.config('SET', 'maxmemory', '1');
    let r: CliRun;
    try {
      r = await cli([
        'enqueue',
        csv,
        '--biz',
        'RPMin',
        '--batch',
        'small-2',
        '--yes',
        ...operator(),
      ]);
    } finally {
      await admin.config('SET', 'maxmemory', '0');
    }
    expect(r.code, r.stderr).toBe(7);
    expect(r.stdout).toMatch(/already enqueued +3\n/);
    expect(r.stdout).toMatch(/not accepted +7 \(all in .*applicants\.csv\.not-accepted\.jsonl\)/);
    for (const [i, id] of IDS.slice(3).entries()) {
      expect(r.stdout).toContain(`    line ${i + 5}  ${id}\n`);
    }
    expect(r.stderr).toContain('STORE_FULL');
    expect(r.stderr).toContain('Enqueue stopped: 7 rows were not accepted');
    const log = readFileSync(`${csv}.not-accepted.jsonl`, 'utf8').trim().split('\n');
    expect(log.map((l) => (JSON.parse(l) as { ticketId: string }).ticketId)).toEqual(IDS.slice(3));

    const again = await cli([
      'enqueue',
      csv,
      '--biz',
      'RPMin',
      '--batch',
      'small-2',
      '--yes',
      ...operator(),
    ]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/already enqueued +3\n/);
    expect(again.stdout).toContain('Enqueued 7 tickets into batch small-2.');
    expect(existsSync(`${csv}.not-accepted.jsonl`)).toBe(false);
  }, 60_000);

  it('a store that does not answer: the API says STORE_UNAVAILABLE, status exits 1', async () => {
    admin.disconnect();
    await server.stop();
    const r = await cli(['status', 'example-0001', ...operator()]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('503 STORE_UNAVAILABLE');
  }, 60_000);
});
