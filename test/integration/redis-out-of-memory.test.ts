/**
 * The orchestrator on a Redis that runs out of memory: its own `redis-server` (a free port,
 * `maxmemory` 8 MB under `noeviction`, nothing on disk, never the shared one), filled with keys of
 * another prefix until it refuses writes. Intake must answer 503 `STORE_FULL` (HTTP, batch,
 * producer, CLI) and keep nothing it refused, also when a ticket's own write went through and the
 * writes after it did not; tickets in flight must survive; once memory is freed every accepted
 * ticket reaches a verdict and no ticket is left without its index entries, job or expiry.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/program.js';
import { isTerminal } from '../../src/domain/ticket.js';
import { StoreFullError } from '../../src/errors.js';
import { createTicketProducer } from '../../src/flow/producer.js';
import { jobIdOf } from '../../src/adapters/bullmq/queues.js';
import { TicketReconciler } from '../../src/flow/ticket-reconciler.js';
import { isOutOfMemoryReply } from '../../src/adapters/redis/store-full.js';
import { ticketStoreKeys } from '../../src/adapters/redis/ticket-store.js';
import { smallJpeg } from '../support/images.js';
import { startTestOrchestrator, type TestOrchestrator } from '../support/orchestrator.js';
import { startRedisServer, type RedisServer } from '../../testkit/redis.js';
import { waitUntil } from '../../testkit/waiting.js';

const TOKEN = 'oom-token-0123456789abcdef0123';
const NAME = '李三';
const ID_NUMBER = '11010519491231002X';
const MAXMEMORY = 8 * 1024 * 1024;
const FILLER = 'oom-filler:';
const FILLER_BYTES = 64 * 1024;

let dir: string;
let server: RedisServer;
let url: string;
let admin: Redis;
let o: TestOrchestrator;
let api: string;
let smallFace: string;
let bigUserData: Record<string, string>;
/** The room {@link justUnder} leaves under maxmemory. */
const ROOM_BYTES = 3 * 1024;
/** Tickets of large UserData sent at once just under the limit. */
const EDGE_BATCH = 30;
let fillers = 0;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'redis-oom-'));
  server = await startRedisServer({ name: 'redis-oom', dir, maxmemoryBytes: MAXMEMORY });
  url = server.url;
  admin = new Redis(url);
  o = await startTestOrchestrator({
    http: true,
    env: {
      REDIS_URL: url,
      API_TOKENS: TOKEN,
      RECONCILE_INTERVAL_SECONDS: '1',
      // BullMQ cannot renew a job's lock while Redis refuses writes: the in-flight jobs' locks must
      // outlast their slow GetVerifyToken (8 s below) and the move to the delayed set after it
      WORKER_LOCK_MS: '20000',
      WORKER_STALLED_INTERVAL_MS: '1000',
      WORKER_CONCURRENCY: '8',
    },
  });
  api = o.app.apiUrl ?? '';
  smallFace = (await smallJpeg('#8a6b4e')).toString('base64');
  // UserData whose ticket alone is larger than the room `justUnder` leaves (photos are staged
  // outside Redis: only the ticket's own fields count)
  bigUserData = { pad: randomBytes(3800).toString('hex') };
  expect(JSON.stringify(bigUserData).length).toBeGreaterThan(2 * ROOM_BYTES);
}, 30_000);

afterAll(async () => {
  await freeAll().catch(() => undefined);
  await o?.close();
  admin?.disconnect();
  await server?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
}, 30_000);

async function usedMemory(): Promise<number> {
  const info = await admin.info('memory');
  return Number(/used_memory:(\d+)/.exec(info)?.[1]);
}

const setMaxmemory = async (bytes: number) => {
  await admin.config('SET', 'maxmemory', String(bytes));
};

/**
 * Writes filler keys (another prefix) until Redis refuses one for want of memory, then lowers
 * maxmemory 2 MB under what is used: no write passes until memory is freed. The margin covers
 * what Redis frees by itself: the workers' churn, and the clients' query buffers (a pipeline of
 * large tickets leaves one of several hundred KB, which Redis shrinks a moment later; with half a
 * megabyte, an in-flight ticket once wrote its way to `passed` through such a dip).
 */
async function fill(): Promise<void> {
  for (;;) {
    try {
      await admin.set(`${FILLER}${fillers}`, 'x'.repeat(FILLER_BYTES));
      fillers++;
    } catch (err) {
      if (isOutOfMemoryReply(err)) break;
      throw err;
    }
  }
  await setMaxmemory((await usedMemory()) - 2 * 1024 * 1024);
}

/** Redis just under its limit: less room than one large ticket takes. */
async function justUnder(): Promise<void> {
  await setMaxmemory((await usedMemory()) + ROOM_BYTES);
}

async function freeAll(): Promise<void> {
  while (fillers > 0) {
    const from = Math.max(0, fillers - 500);
    const keys = Array.from({ length: fillers - from }, (_, i) => `${FILLER}${from + i}`);
    await admin.del(...keys);
    fillers = from;
  }
  await setMaxmemory(MAXMEMORY);
}

const newId = (tag: string) => `oom-${tag}-${randomUUID().slice(0, 8)}`;

const request = (ticketId: string, userData?: Record<string, string>) => ({
  TicketId: ticketId,
  Biz: 'RPMin',
  Binding: { Name: NAME, IdentificationNumber: ID_NUMBER, FacePic: smallFace },
  ...(userData === undefined ? {} : { UserData: userData }),
});

interface Answer {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
  text: string;
}

async function post(path: string, body: unknown): Promise<Answer> {
  const res = await fetch(`${api}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: JSON.parse(text) as never, text };
}

function expectStoreFull(answer: Answer): void {
  expect(answer.status, answer.text).toBe(503);
  expect(answer.headers.get('retry-after')).toMatch(/^[1-9]\d*$/);
  expect(answer.headers.get('content-type')).toBe('application/problem+json; charset=utf-8');
  expect(answer.body).toEqual({
    type: 'urn:cloudauth-orchestrator:problem:store-full',
    title: 'The ticket store is full',
    status: 503,
    code: 'STORE_FULL',
    detail: expect.any(String),
    instance: expect.stringMatching(/^urn:cloudauth-orchestrator:request:/),
  });
  for (const secret of [NAME, ID_NUMBER, 'OOM', 'maxmemory']) {
    expect(answer.text).not.toContain(secret);
  }
}

/** Nothing of the ticket anywhere: no hash, no history, no index entry, no job. */
async function expectAbsent(ticketId: string): Promise<void> {
  const keys = ticketStoreKeys(o.prefix);
  expect(await admin.exists(keys.ticket(ticketId), keys.history(ticketId)), ticketId).toBe(0);
  expect(await admin.zscore(keys.all, ticketId), ticketId).toBeNull();
  expect(await admin.zscore(keys.state('queued'), ticketId), ticketId).toBeNull();
  expect(await o.app.queue.getJobState(jobIdOf(ticketId)), ticketId).toBe('unknown');
}

/** Every ticket hash under the prefix, found by SCAN (not by the indexes). */
async function ticketHashes(): Promise<string[]> {
  const head = `${o.prefix}:t:{`;
  const ids: string[] = [];
  let cursor = '0';
  do {
    const [next, found] = await admin.scan(cursor, 'MATCH', `${head}*}`, 'COUNT', 1000);
    cursor = next;
    ids.push(...found.map((k) => k.slice(head.length, -1)));
  } while (cursor !== '0');
  return ids;
}

describe('a Redis out of memory', () => {
  it('refuses intake with 503 STORE_FULL keeping nothing, and every accepted ticket passes once memory is freed', async () => {
    const accepted: string[] = [];
    const refused: string[] = [];

    // tickets in flight when memory runs out: their workers sit in a slow GetVerifyToken, slow
    // enough to answer only once memory is full for good, after the moments just under the limit
    // below (an answer inside one of those lets the ticket write and run on; checked below)
    o.emu.cloudauth.setFaults({ GetVerifyToken: { latencyMs: 8000 } });
    const inFlight = [newId('flight'), newId('flight'), newId('flight')];
    for (const id of inFlight) {
      expect((await post('/v1/tickets', request(id))).status).toBe(202);
      accepted.push(id);
    }
    await waitUntil('jobs active', async () =>
      (await Promise.all(inFlight.map((id) => o.app.queue.getJobState(jobIdOf(id))))).every(
        (s) => s === 'active',
      ),
    );
    await fill();
    o.emu.cloudauth.setFaults({});

    // over maxmemory: the ticket's own write is refused (it used to go through, after a DEL)
    for (let i = 0; i < 5; i++) {
      const id = newId('full');
      expectStoreFull(await post('/v1/tickets', request(id)));
      refused.push(id);
    }
    const batch = [newId('batch'), newId('batch'), newId('batch')];
    expectStoreFull(await post('/v1/tickets/batch', { tickets: batch.map((id) => request(id)) }));
    refused.push(...batch);

    const producer = createTicketProducer({
      redis: admin,
      prefix: o.prefix,
      encryptionKey: o.env.ENCRYPTION_KEY ?? '',
      biz: { RPMin: 'RPMin' },
      staging: { dir: o.stagingDir },
    });
    const produced = newId('producer');
    const err: unknown = await producer
      .enqueue({
        TicketId: produced,
        Biz: 'RPMin',
        Binding: { Name: NAME, IdentificationNumber: ID_NUMBER, FacePic: smallFace },
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreFullError);
    expect(err).toMatchObject({ code: 'STORE_FULL', retryable: true, fault: 'internal' });
    expect((err as StoreFullError).retryAfterMs).toBeGreaterThan(0);
    refused.push(produced);
    await producer.close();

    // just under maxmemory: the first tickets' writes go through, the rest, their index entries
    // and jobs do not; the intake takes back what it wrote. A batch, so that what it writes
    // (some 300 KB: photos are staged outside Redis, a ticket is its fields) stays far over the
    // limit whatever Redis frees meanwhile (a client's query buffer shrinking)
    for (let i = 0; i < 3; i++) {
      await justUnder();
      const ids = Array.from({ length: EDGE_BATCH }, () => newId('edge'));
      const answer = await post('/v1/tickets/batch', {
        tickets: ids.map((id) => request(id, bigUserData)),
      });
      expectStoreFull(answer);
      refused.push(...ids);
      await fill();
    }
    for (const id of refused) await expectAbsent(id);
    // the premise: the in-flight tickets' GetVerifyToken is still unanswered, memory full for good
    expect(o.emu.cloudauth.counters().GetVerifyToken?.ok ?? 0).toBe(0);

    // the in-flight tickets' writes were refused: each job waits in the delayed set without
    // spending an attempt, its ticket not failed
    await waitUntil(
      'in-flight tickets waiting',
      async () =>
        (await Promise.all(inFlight.map((id) => o.app.queue.getJobState(jobIdOf(id))))).every(
          (s) => s === 'delayed',
        ),
      { timeoutMs: 20_000, everyMs: 50 },
    );
    for (const id of inFlight) {
      const job = await o.app.queue.getJob(jobIdOf(id));
      expect(job?.attemptsMade, id).toBe(0);
      const t = await o.app.store.get(id);
      expect(t && !isTerminal(t.state), id).toBe(true);
    }

    await freeAll();
    for (let i = 0; i < 3; i++) {
      const id = newId('after');
      expect((await post('/v1/tickets', request(id))).status).toBe(202);
      accepted.push(id);
    }
    const finished = await Promise.all(accepted.map((id) => o.waitFor(id, undefined, 60_000)));
    expect(finished.map((t) => [t.ticketId, t.state])).toEqual(
      accepted.map((id) => [id, 'passed']),
    );
    for (const id of refused) await expectAbsent(id);
    // no orphan: every ticket hash is an accepted ticket, indexed, and finished with an expiry
    const keys = ticketStoreKeys(o.prefix);
    expect((await ticketHashes()).sort()).toEqual([...accepted].sort());
    for (const id of accepted) {
      const t = await o.app.store.get(id);
      expect(t && isTerminal(t.state), id).toBe(true);
      expect(await admin.zscore(keys.all, id), id).not.toBeNull();
      expect(await admin.zscore(keys.state('passed'), id), id).not.toBeNull();
      expect(await admin.ttl(keys.ticket(id)), id).toBeGreaterThan(0);
    }
    // and the reconciler's walk finds nothing to repair
    const reconciler = new TicketReconciler({
      store: o.app.store,
      lifecycle: o.app.lifecycle,
      queue: o.app.queue,
      redis: o.app.redis,
      prefix: o.prefix,
      jobs: { attempts: 3, keepCompletedSeconds: 3600, keepFailedSeconds: 3600 },
      logger: pino({ level: 'silent' }),
      scanKeysPerRound: 1_000_000,
      clock: () => Date.now() + 3_600_000,
    });
    expect(await reconciler.scanRound()).toEqual({
      tickets: accepted.length,
      reindexed: 0,
      readded: 0,
      expiring: 0,
      passComplete: true,
    });
  }, 120_000);

  it('takes back the tickets a createMany wrote when a later one of the call is refused', async () => {
    await fill();
    await justUnder();
    // the large ones first: what they write stays far over the limit whatever Redis frees meanwhile
    const big = Array.from({ length: EDGE_BATCH }, () => newId('many-big'));
    const small = newId('many-small');
    const binding = {
      name: NAME,
      idNumber: ID_NUMBER,
      materials: { FacePic: { kind: 'bytes' as const, base64: smallFace } },
    };
    const err: unknown = await o.app.intake
      .enqueueMany([
        ...big.map((ticketId) => ({ ticketId, biz: 'RPMin', binding, userData: bigUserData })),
        { ticketId: small, biz: 'RPMin', binding },
      ])
      .catch((e: unknown) => e);
    await freeAll();
    expect(err).toBeInstanceOf(StoreFullError);
    for (const id of big) await expectAbsent(id);
    await expectAbsent(small);
  });

  it('stops `enqueue` with exit code 7 and a clear message, and stores nothing', async () => {
    const files = join(dir, 'cli');
    await mkdir(files, { recursive: true });
    await writeFile(join(files, 'a.jpg'), Buffer.from(smallFace, 'base64'));
    const ids = [newId('cli'), newId('cli')];
    const csv = join(files, 'applicants.csv');
    await writeFile(
      csv,
      [
        'TicketId,Name,IdentificationNumber,FacePic,IdCardFrontPic,IdCardBackPic',
        ...ids.map((id) => `${id},${NAME},${ID_NUMBER},a.jpg,,`),
      ].join('\n') + '\n',
    );
    await fill();
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    let out = '';
    let errText = '';
    stdout.on('data', (c: Buffer) => (out += c.toString()));
    stderr.on('data', (c: Buffer) => (errText += c.toString()));
    const code = await runCli(['node', 'cli', 'enqueue', csv, '--biz', 'RPMin', '--yes'], {
      env: { ...o.env, LOG_LEVEL: 'silent' },
      stdout,
      stderr,
      stdin: new PassThrough(),
      cwd: files,
    });
    await freeAll();
    expect(code, `${out}\n${errText}`).toBe(7);
    expect(errText).toContain('Redis is out of memory');
    expect(errText).toContain('run the same command again');
    expect(errText).not.toContain(ID_NUMBER);
    for (const id of ids) await expectAbsent(id);
  }, 60_000);
});
