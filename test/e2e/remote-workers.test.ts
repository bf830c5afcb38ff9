/**
 * Workers that share no filesystem with the CLI: the emulator, the api and two workers, each a
 * process with a working directory and a TMPDIR of its own, on a private REDIS_PREFIX; the CLI in
 * yet another directory with nothing but PATH and the API token, sending a 200-row CSV over
 * `--api`. Its directory (the CSV and every photo) is removed as soon as `enqueue` returns, so
 * the workers can only read the photos from the staging store the api wrote them to: first a
 * directory only the api and the workers are given, then a bucket of the OSS emulator with a key
 * pair of its own. Every row must reach its verdict, both workers must have done some of them,
 * and when the tickets are finished the staging store must be empty and no process directory may
 * hold a photo.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OSS from 'ali-oss';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { idNumberCheckChar } from '../../src/domain/id-number.js';
import { runCliIsolated } from '../support/cli-process.js';
import { smallJpeg } from '../support/images.js';
import { deleteKeys } from '../support/orchestrator.js';
import {
  printedUrl,
  startRoleProcess,
  waitForOk,
  type RoleProcess,
} from '../support/role-process.js';
import { waitFor } from '../../testkit/waiting.js';

const ROWS = 200;
const DISTINCT_PHOTOS = 20;
/** On the emulator's default reject list (EMULATOR_REJECT_NAMES): judged not passed. */
const REJECTED = '拒绝';
const NAMES = ['王芳', '李伟', '张敏', '刘洋', '陈静', '杨磊', '赵丽', '黄勇', '周杰', '吴娟'];
const REGIONS = ['110101', '310104', '440106', '510107', '330106', '420102', '320102', '370102'];
const TOKEN = randomBytes(16).toString('hex');
const STAGING_BUCKET = 'remote-staging';

type Backend = 'directory' | 'oss';

/** What one row of the CSV is expected to end as. */
interface Row {
  ticketId: string;
  name: string;
  photo: string;
}

interface TicketListed {
  TicketId: string;
  state: string;
  verdict: { statusCode: number } | null;
  personalDataErasedAt: string | null;
}

/** One deployment of separate processes, and what the test must clean up after it. */
interface Deployment {
  root: string;
  prefix: string;
  processes: RoleProcess[];
  /** Each process's working directory and TMPDIR. */
  processDirs: string[];
}

let current: Deployment | undefined;

afterEach(async () => {
  const d = current;
  current = undefined;
  if (d === undefined) return;
  await Promise.all(d.processes.map((p) => p.stop('SIGKILL')));
  await deleteKeys(new Redis(inject('redisUrl')), [`${d.prefix}:*`, `{${d.prefix}:q}:*`]);
  rmSync(d.root, { recursive: true, force: true });
});

/** A valid GB 11643 number: region, a birth date spread over 1970–1999, sequence, check char. */
function idNumber(i: number): string {
  const birth = new Date(Date.UTC(1970, 0, 1) + i * 53 * 86_400_000);
  const date = birth.toISOString().slice(0, 10).replaceAll('-', '');
  const first17 = `${REGIONS[i % REGIONS.length]}${date}${String(i % 1000).padStart(3, '0')}`;
  return first17 + idNumberCheckChar(first17);
}

/** The rows: every 25th applicant is on the reject list; photos are shared by 10 rows each. */
function rowsOf(): Row[] {
  return Array.from({ length: ROWS }, (_, i) => ({
    ticketId: `rw-${String(i + 1).padStart(4, '0')}`,
    name: i % 25 === 7 ? REJECTED : (NAMES[i % NAMES.length] ?? '王芳'),
    photo: `photos/face-${String(i % DISTINCT_PHOTOS).padStart(2, '0')}.jpg`,
  }));
}

/** Writes applicants.csv and its photos into `dir`; answers the photos' bytes. */
async function writeInput(dir: string, rows: readonly Row[]): Promise<Buffer[]> {
  mkdirSync(join(dir, 'photos'));
  const photos: Buffer[] = [];
  for (let i = 0; i < DISTINCT_PHOTOS; i++) {
    const hue = (i * 360) / DISTINCT_PHOTOS;
    const photo = await smallJpeg(`hsl(${hue}, 60%, 55%)`);
    writeFileSync(join(dir, `photos/face-${String(i).padStart(2, '0')}.jpg`), photo);
    photos.push(photo);
  }
  expect(new Set(photos.map((p) => p.toString('base64'))).size).toBe(DISTINCT_PHOTOS);
  const lines = rows.map((r, i) => `${r.ticketId},${r.name},${idNumber(i)},${r.photo}`);
  writeFileSync(
    join(dir, 'applicants.csv'),
    ['TicketId,Name,IdentificationNumber,FacePic', ...lines].join('\n') + '\n',
  );
  return photos;
}

/** Every regular file under `dir`. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name));
}

/** Files under `dirs` that are a photo or hold one's bytes. */
function photoFiles(dirs: readonly string[], photos: readonly Buffer[]): string[] {
  return dirs.flatMap(filesUnder).filter((file) => {
    const bytes = readFileSync(file);
    const jpeg = bytes.subarray(0, 3).equals(Buffer.from([0xff, 0xd8, 0xff]));
    return jpeg || photos.some((p) => bytes.includes(p));
  });
}

/** The sum of `transitions_total` into a verdict, from one worker's /metrics. */
async function verdictTransitions(opsUrl: string): Promise<number> {
  const text = await (await fetch(`${opsUrl}/metrics`)).text();
  const line =
    /^cloudauth_orchestrator_transitions_total\{[^}]*to="(?:passed|not_passed)"[^}]*\} (\d+)$/gm;
  return [...text.matchAll(line)].reduce((sum, m) => sum + Number(m[1]), 0);
}

/** The "personal data erased" lines of a worker's log: which ticket, how many staged objects. */
function erasedObjects(log: string): { ticketId: string; objects: number }[] {
  return log
    .split('\n')
    .filter((line) => line.includes('"personal data erased"'))
    .map((line) => JSON.parse(line) as { ticketId: string; objects: number });
}

/**
 * Starts `role` in a working directory and with a TMPDIR of its own (under `root`), its log in
 * `root/logs`, where no assertion about photos looks.
 */
function startIsolated(
  d: Deployment,
  role: string,
  env: Record<string, string>,
  name: string,
): RoleProcess {
  const cwd = join(d.root, name, 'cwd');
  const tmp = join(d.root, name, 'tmp');
  mkdirSync(cwd, { recursive: true });
  mkdirSync(tmp, { recursive: true });
  d.processDirs.push(cwd, tmp);
  const proc = startRoleProcess(role, { ...env, TMPDIR: tmp }, join(d.root, 'logs'), name, cwd);
  d.processes.push(proc);
  return proc;
}

const everyRunning = (d: Deployment) => () =>
  d.processes.find((p) => !p.running())?.name.concat(' exited');

describe.each<Backend>(['directory', 'oss'])(
  'two workers sharing no filesystem with the CLI, staging in a %s',
  (backend) => {
    it('every one of 200 rows reaches its verdict; staging ends empty; no process dir holds a photo', async () => {
      const d: Deployment = {
        root: mkdtempSync(join(tmpdir(), `remote-workers-${backend}-`)),
        prefix: `remote-workers-${randomUUID().slice(0, 8)}`,
        processes: [],
        processDirs: [],
      };
      current = d;
      mkdirSync(join(d.root, 'logs'));
      const ossKey = { id: 'LTAIremoteStaging', secret: randomBytes(18).toString('base64url') };

      const emulator = startIsolated(
        d,
        'emulator',
        {
          EMULATOR_CLOUDAUTH_PORT: '0',
          EMULATOR_OSS_PORT: '0',
          EMULATOR_REVIEW_MS: '0',
          ...(backend === 'oss'
            ? {
                EMULATOR_OSS_BUCKETS: STAGING_BUCKET,
                EMULATOR_OSS_ACCESS_KEYS: `${ossKey.id}:${ossKey.secret}`,
              }
            : {}),
        },
        'emulator',
      );
      const [cloudauthUrl, ossUrl] = await Promise.all([
        printedUrl(emulator, /Cloudauth emulator \(API [\d-]+\) +(http:\/\/\S+)/),
        printedUrl(emulator, /OSS emulator +(http:\/\/\S+)/),
      ]);

      // Given to the api and the workers only: the CLI knows neither the directory nor the bucket.
      const stagingDir = join(d.root, 'shared-staging');
      const staging: Record<string, string> =
        backend === 'directory'
          ? { STAGING_BACKEND: 'directory', STAGING_DIR: stagingDir }
          : {
              STAGING_BACKEND: 'oss',
              STAGING_OSS_ENDPOINT: ossUrl,
              STAGING_OSS_BUCKET: STAGING_BUCKET,
              STAGING_OSS_PREFIX: 'staging/',
              STAGING_OSS_ACCESS_KEY_ID: ossKey.id,
              STAGING_OSS_ACCESS_KEY_SECRET: ossKey.secret,
            };
      const common = {
        ORCHESTRATOR_MODE: 'embedded',
        REDIS_URL: inject('redisUrl'),
        REDIS_PREFIX: d.prefix,
        ENCRYPTION_KEY: randomBytes(32).toString('base64'),
        LOG_LEVEL: 'info',
        ...staging,
      };
      const api = startIsolated(d, 'api', { ...common, API_PORT: '0', API_TOKENS: TOKEN }, 'api');
      const workerEnv = {
        ...common,
        CLOUDAUTH_ENDPOINT: cloudauthUrl,
        CLOUDAUTH_ACCESS_KEY_ID: 'LTAIdemoOrchestrator',
        CLOUDAUTH_ACCESS_KEY_SECRET: 'demo-secret-change-me',
        CLOUDAUTH_QPS: '*=0',
        WEBHOOK_SECRET: randomBytes(16).toString('hex'),
        WORKER_CONCURRENCY: '10',
        POLL_INITIAL_MS: '100',
        POLL_MAX_MS: '300',
        WORKER_OPS_PORT: '0',
      };
      const workers = [
        startIsolated(d, 'worker', workerEnv, 'worker-1'),
        startIsolated(d, 'worker', workerEnv, 'worker-2'),
      ];
      const [apiUrl, ...opsUrls] = await Promise.all([
        printedUrl(api, /HTTP API +(http:\/\/\S+)/),
        ...workers.map((w) => printedUrl(w, /worker probes +(http:\/\/\S+)\/healthz/)),
      ]);
      await Promise.all([
        waitForOk(emulator, `${cloudauthUrl}/readyz`),
        waitForOk(api, `${apiUrl}/readyz`),
        ...workers.map((w, i) => waitForOk(w, `${opsUrls[i]}/readyz`)),
      ]);

      // The operator's machine: the CSV and its photos, and the token; nothing else.
      const cliDir = mkdtempSync(join(tmpdir(), 'remote-workers-cli-'));
      const rows = rowsOf();
      const batch = `remote-${backend}`;
      let photos: Buffer[];
      try {
        photos = await writeInput(cliDir, rows);
        const r = await runCliIsolated(cliDir, { CAO_API_TOKEN: TOKEN }, [
          'enqueue',
          'applicants.csv',
          '--api',
          apiUrl ?? '',
          '--biz',
          'RPMin',
          '--batch',
          batch,
          '--yes',
        ]);
        expect(r.code, r.stderr).toBe(0);
        expect(r.stdout).toContain(`Enqueued ${ROWS} tickets into batch ${batch}.`);
      } finally {
        rmSync(cliDir, { recursive: true, force: true });
      }

      const get = async <T>(path: string): Promise<T> => {
        const res = await fetch(`${apiUrl}${path}`, {
          headers: { authorization: `Bearer ${TOKEN}` },
        });
        if (res.status !== 200) throw new Error(`GET ${path}: ${res.status}`);
        return (await res.json()) as T;
      };
      type Summary = { batch: { total: number; finished: number } };
      await waitFor(
        `all ${ROWS} tickets of ${batch} finished`,
        () => get<Summary>(`/v1/summary?batch=${batch}`),
        (s) => s.batch.finished === ROWS,
        { timeoutMs: 180_000, everyMs: 500, abortIf: everyRunning(d) },
      );
      const { tickets, nextCursor } = await get<{
        tickets: TicketListed[];
        nextCursor?: string;
      }>(`/v1/tickets?batch=${batch}&limit=500`);
      expect(nextCursor).toBeUndefined();
      const byId = new Map(tickets.map((t) => [t.TicketId, t]));
      expect(byId.size).toBe(ROWS);
      for (const row of rows) {
        const expected =
          row.name === REJECTED
            ? { state: 'not_passed', verdict: { statusCode: 2 } }
            : { state: 'passed', verdict: { statusCode: 1 } };
        expect(byId.get(row.ticketId), row.ticketId).toMatchObject(expected);
      }
      expect(rows.filter((r) => r.name === REJECTED)).toHaveLength(8);

      // Both workers took part, between them every verdict, and both are still ready.
      const counts = await Promise.all(opsUrls.map(verdictTransitions));
      expect(counts[0], 'verdicts of worker-1').toBeGreaterThan(0);
      expect(counts[1], 'verdicts of worker-2').toBeGreaterThan(0);
      expect((counts[0] ?? 0) + (counts[1] ?? 0)).toBe(ROWS);
      for (const [i, w] of workers.entries()) {
        expect(w.running(), w.name).toBe(true);
        expect((await fetch(`${opsUrls[i]}/readyz`)).status, w.name).toBe(200);
      }

      // Personal data erased on finishing: the tickets say so, and the staging store is empty.
      await waitFor(
        'every ticket erased',
        () => get<{ tickets: TicketListed[] }>(`/v1/tickets?batch=${batch}&limit=500`),
        (page) => page.tickets.every((t) => t.personalDataErasedAt !== null),
        { timeoutMs: 30_000, everyMs: 200 },
      );
      if (backend === 'directory') {
        await waitFor(
          'the staging directory empty',
          () => filesUnder(stagingDir),
          (files) => files.length === 0,
          { timeoutMs: 30_000, everyMs: 200 },
        );
      } else {
        const bucket = new OSS({
          endpoint: ossUrl ?? '',
          bucket: STAGING_BUCKET,
          region: 'oss-cn-hangzhou',
          accessKeyId: ossKey.id,
          accessKeySecret: ossKey.secret,
        });
        await waitFor(
          'the staging bucket empty',
          async () => (await bucket.listV2({ 'max-keys': '1000' })).objects ?? [],
          (objects) => objects.length === 0,
          { timeoutMs: 30_000, everyMs: 200 },
        );
      }
      // What the workers erased is what the api staged: one object per ticket.
      const erased = workers.flatMap((w) => erasedObjects(w.output()));
      expect(new Set(erased.map((e) => e.ticketId)).size).toBe(ROWS);
      expect(erased.reduce((sum, e) => sum + e.objects, 0)).toBe(ROWS);
      expect(photoFiles(d.processDirs, photos)).toEqual([]);
    }, 300_000);
  },
);
