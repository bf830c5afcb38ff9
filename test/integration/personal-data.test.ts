/**
 * Data minimisation and the staging store in the ticket flow: what a ticket keeps of its applicant
 * in each outcome, the retention sweep, erasure on request, the orphan sweep, a staged object that
 * vanished before a worker read it, and intake refused (503, nothing kept) when the staging store
 * cannot take the photos.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { PersonalDataErasedError } from '../../src/errors.js';
import { PersonalDataEraser } from '../../src/flow/personal-data.js';
import { ticketStoreKeys } from '../../src/adapters/redis/ticket-store.js';
import { ticketView } from '../../src/api/views.js';
import { noiseJpeg } from '../support/images.js';
import {
  aBinding,
  startTestOrchestrator,
  testHttpApi,
  type TestOrchestrator,
} from '../support/orchestrator.js';
import { testProcessor, testWorker, type Cleanups } from '../support/processor.js';
import { waitUntil } from '../../testkit/waiting.js';

const TOKEN = 'personal-data-token-0123456789abcdef';
const DAY = 86_400_000;
const logger = pino({ level: 'silent' });

let o: TestOrchestrator;
let face: Buffer;
const cleanups: Cleanups = [];

beforeAll(async () => {
  o = await startTestOrchestrator();
  face = await noiseJpeg(160, 160, 7);
});
afterAll(async () => {
  await o.close();
});
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

/** Files the staging directory holds, for every ticket. */
function stagedFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && !e.name.startsWith('.probe.'))
    .map((e) => join(e.parentPath, e.name));
}

/** The staging directory's files of one ticket (its directory is base64url of the TicketId). */
function stagedFilesOf(dir: string, ticketId: string): string[] {
  const name = Buffer.from(ticketId).toString('base64url');
  return stagedFiles(dir).filter((f) => f.split('/').includes(name));
}

/** An eraser over the orchestrator's store and staging with its clock moved on by `aheadMs`. */
function eraserAhead(t: TestOrchestrator, aheadMs: number): PersonalDataEraser {
  return new PersonalDataEraser({
    store: t.app.store,
    staging: t.app.staging,
    logger,
    retentionMs: t.app.config.staging.materialRetentionSeconds * 1000,
    orphanGraceMs: t.app.config.staging.orphanGraceSeconds * 1000,
    clock: () => Date.now() + aheadMs,
  });
}

describe('a ticket that passes', () => {
  it('keeps its masked applicant, verdict and history, and neither its binding nor its photo', async () => {
    const id = `pd-pass-${randomUUID().slice(0, 8)}`;
    await o.app.intake.enqueue({
      ticketId: id,
      biz: 'RPMin',
      binding: aBinding(face),
      userData: { orderId: 'order-1' },
    });
    const staged = stagedFilesOf(o.stagingDir, id);
    const t = await o.waitFor(id, (x) => x.erasedAt !== undefined);
    expect(staged).toHaveLength(1);
    expect(t).toMatchObject({ state: 'passed', erasure: 'finished' });
    const key = ticketStoreKeys(o.prefix).ticket(id);
    const hash = await o.app.redis.hgetall(key);
    expect(hash.binding).toBeUndefined();
    expect(hash.userData).toBeUndefined();
    expect(hash.lease).toBeUndefined();
    // what remains is rewritten compact, and still expires with the retention
    expect(await o.app.redis.object('ENCODING', key)).toBe('listpack');
    expect(await o.app.redis.ttl(key)).toBeGreaterThan(0);
    // the objects go after the binding, and the schedule's entry last
    await waitUntil(
      'the erasure done',
      async () => (await o.app.redis.zscore(ticketStoreKeys(o.prefix).eraseDue, id)) === null,
      { timeoutMs: 5000, everyMs: 20 },
    );
    expect(stagedFilesOf(o.stagingDir, id)).toEqual([]);
    const api = testHttpApi(o, { tokens: [TOKEN] });
    try {
      const view = await api.inject({
        method: 'GET',
        url: `/v1/tickets/${id}`,
        headers: { authorization: `Bearer ${TOKEN}` },
      });
      expect(view.statusCode).toBe(200);
      expect(view.json()).toMatchObject({
        state: 'passed',
        applicant: { name: '李*', idNumber: '1101**********002X' },
        erasure: 'finished',
        personalDataErasedAt: expect.any(String),
        verdict: expect.objectContaining({ statusCode: 1 }),
      });
      expect(view.json<{ history: unknown[] }>().history.length).toBeGreaterThan(0);
    } finally {
      await api.close();
    }
  });
});

describe('a ticket that fails', () => {
  it('keeps its data for MATERIAL_RETENTION_SECONDS; then the sweep erases it and a retry is refused', async () => {
    const id = `pd-fail-${randomUUID().slice(0, 8)}`;
    const pdf = Buffer.from('%PDF-1.4 not a face');
    await o.app.intake.enqueue({
      ticketId: id,
      biz: 'RPMin',
      binding: {
        ...aBinding(face),
        materials: { FacePic: { kind: 'bytes', base64: pdf.toString('base64') } },
      },
    });
    const failed = await o.waitFor(id);
    expect(failed.state).toBe('failed');
    const keys = ticketStoreKeys(o.prefix);
    expect(await o.app.redis.zscore(keys.eraseDue, id)).toBe(
      String(failed.updatedAt + o.app.config.staging.materialRetentionSeconds * 1000),
    );
    // within the retention: kept, and the sweep leaves it
    expect(await eraserAhead(o, 0).sweep()).toMatchObject({ erased: 0 });
    expect((await o.app.store.getBinding(id)).name).toBe('李三');
    expect(stagedFilesOf(o.stagingDir, id)).toHaveLength(1);

    const report = await eraserAhead(o, 8 * DAY).sweep();
    expect(report.erased).toBeGreaterThanOrEqual(1);
    const erased = await o.app.store.get(id);
    expect(erased).toMatchObject({ state: 'failed', erasure: 'retention' });
    expect(stagedFilesOf(o.stagingDir, id)).toEqual([]);
    expect(await o.app.redis.zscore(keys.eraseDue, id)).toBeNull();
    const retry = await o.app.operations.retry(id).catch((e: unknown) => e);
    expect(retry).toBeInstanceOf(PersonalDataErasedError);
    expect(retry).toMatchObject({ code: 'PERSONAL_DATA_ERASED', reason: 'retention' });
    expect(await o.app.store.getBinding(id).catch((e: unknown) => e)).toBeInstanceOf(
      PersonalDataErasedError,
    );
  });
});

describe('erasure on request', () => {
  it('cancels a ticket still running, erases it and records why', async () => {
    const quiet = await startTestOrchestrator({ workers: false });
    try {
      const id = `pd-req-${randomUUID().slice(0, 8)}`;
      await quiet.app.intake.enqueue({ ticketId: id, biz: 'RPMin', binding: aBinding(face) });
      expect(stagedFilesOf(quiet.stagingDir, id)).toHaveLength(1);
      const t = await quiet.app.operations.erase(id);
      // the cancellation on the way to the erasure is recorded as the request it was
      expect(t).toMatchObject({ state: 'cancelled', erasure: 'request' });
      expect(stagedFilesOf(quiet.stagingDir, id)).toEqual([]);
      const hash = await quiet.app.redis.hgetall(ticketStoreKeys(quiet.prefix).ticket(id));
      expect(hash.binding).toBeUndefined();
      expect(JSON.parse(hash.applicant ?? '{}')).toEqual({
        masked: true,
        name: '李*',
        idNumber: '1101**********002X',
      });
    } finally {
      await quiet.close();
    }
  });

  it('shows a ticket read just before its erasure with its masked applicant, not a 409', async () => {
    const quiet = await startTestOrchestrator({ workers: false });
    try {
      const id = `pd-view-${randomUUID().slice(0, 8)}`;
      await quiet.app.intake.enqueue({ ticketId: id, biz: 'RPMin', binding: aBinding(face) });
      // the API read the ticket, then its binding went (as a ticket that has just passed drops it)
      const before = await quiet.app.store.get(id);
      if (before === undefined) throw new Error('no ticket');
      await quiet.app.operations.erase(id);
      const view = await ticketView(quiet.app.store, before);
      expect(view).toMatchObject({
        state: 'cancelled',
        applicant: { name: '李*', idNumber: '1101**********002X' },
      });
      expect(view.personalDataErasedAt).toEqual(expect.stringMatching(/^\d{4}-/));
    } finally {
      await quiet.close();
    }
  });

  it('erases a failed ticket on request, recorded as a request', async () => {
    const id = `pd-req-failed-${randomUUID().slice(0, 8)}`;
    await o.app.intake.enqueue({
      ticketId: id,
      biz: 'RPMin',
      binding: { ...aBinding(face), materials: { FacePic: { kind: 'bytes', base64: 'JVBERi0=' } } },
    });
    expect((await o.waitFor(id)).state).toBe('failed');
    const t = await o.app.operations.erase(id);
    expect(t).toMatchObject({ state: 'failed', erasure: 'request' });
    expect(stagedFilesOf(o.stagingDir, id)).toEqual([]);
  });
});

describe('the orphan sweep', () => {
  it('removes the staged objects of a TicketId without a ticket once they are older than the grace', async () => {
    const orphan = `pd-orphan-${randomUUID().slice(0, 8)}`;
    await o.app.staging.put(orphan, face);
    expect(stagedFilesOf(o.stagingDir, orphan)).toHaveLength(1);
    // young: maybe an intake under way, whose ticket comes next
    await eraserAhead(o, 0).sweep();
    expect(stagedFilesOf(o.stagingDir, orphan)).toHaveLength(1);
    const graceMs = o.app.config.staging.orphanGraceSeconds * 1000;
    const report = await eraserAhead(o, graceMs + 60_000).sweep();
    expect(report.orphans).toBeGreaterThanOrEqual(1);
    expect(stagedFilesOf(o.stagingDir, orphan)).toEqual([]);
  });

  it('leaves alone old objects of a TicketId that an intake is staging for now', async () => {
    const id = `pd-again-${randomUUID().slice(0, 8)}`;
    await o.app.staging.put(id, face);
    const ahead = o.app.config.staging.orphanGraceSeconds * 1000 + 60_000;
    // seen from the sweep's clock, the objects are old but the intake that found them is not
    await o.app.store.noteStaging([id], Date.now() + ahead - 1000);
    await eraserAhead(o, ahead).sweep();
    expect(stagedFilesOf(o.stagingDir, id)).toHaveLength(1);
    // once the note is older than the grace too, they go
    await eraserAhead(o, 2 * ahead).sweep();
    expect(stagedFilesOf(o.stagingDir, id)).toEqual([]);
    expect(await o.app.store.stagingSince(id)).toBeUndefined();
  });

  it('erases the others when one due ticket cannot be read, and that one as well as it can', async () => {
    const [bad, good] = [
      `pd-bad-${randomUUID().slice(0, 8)}`,
      `pd-good-${randomUUID().slice(0, 8)}`,
    ];
    for (const id of [bad, good]) {
      await o.app.intake.enqueue({
        ticketId: id,
        biz: 'RPMin',
        binding: {
          ...aBinding(face),
          materials: { FacePic: { kind: 'bytes', base64: 'JVBERi0=' } },
        },
      });
      expect((await o.waitFor(id)).state).toBe('failed');
    }
    // as if written under another ENCRYPTION_KEY: the binding no longer decrypts
    const keys = ticketStoreKeys(o.prefix);
    await o.app.redis.hset(keys.ticket(bad), 'binding', 'not-a-sealed-value');
    await o.app.redis.zadd(keys.eraseDue, 0, bad);
    const report = await eraserAhead(o, 8 * DAY).sweep();
    expect(report.erased).toBeGreaterThanOrEqual(2);
    expect(await o.app.store.get(good)).toMatchObject({ erasure: 'retention' });
    const erased = await o.app.store.get(bad);
    expect(erased).toMatchObject({ erasure: 'retention', maskedApplicant: { masked: true } });
    expect(erased?.maskedApplicant).not.toHaveProperty('name');
    expect(await o.app.redis.hexists(keys.ticket(bad), 'binding')).toBe(0);
  });

  it('removes what a crash left of an erased ticket, and of an unfinished write', async () => {
    const id = `pd-left-${randomUUID().slice(0, 8)}`;
    await o.app.intake.enqueue({ ticketId: id, biz: 'RPMin', binding: aBinding(face) });
    await o.waitFor(id, (x) => x.erasedAt !== undefined);
    const keys = ticketStoreKeys(o.prefix);
    await waitUntil(
      'the erasure done',
      async () => (await o.app.redis.zscore(keys.eraseDue, id)) === null,
      { timeoutMs: 5000, everyMs: 20 },
    );
    // as if the process died between the binding's erasure and its objects' (a temp file too)
    await o.app.staging.put(id, face);
    const dir = stagedFilesOf(o.stagingDir, id)[0]?.split('/').slice(0, -1).join('/') ?? '';
    writeFileSync(join(dir, `.${'0'.repeat(64)}.dead.tmp`), 'half');
    expect(stagedFilesOf(o.stagingDir, id)).toHaveLength(2);
    await eraserAhead(o, 0).sweep();
    expect(stagedFilesOf(o.stagingDir, id)).toEqual([]);
  });
});

describe('the periodic sweep', () => {
  it('runs in one process at a time: a round that finds the lock taken does nothing', async () => {
    const orphan = `pd-lock-${randomUUID().slice(0, 8)}`;
    await o.app.staging.put(orphan, face);
    const graceMs = o.app.config.staging.orphanGraceSeconds * 1000;
    const lock = `${o.prefix}:erase:lock`;
    await o.app.redis.del(lock);
    // the first process takes the round (its clock sees a young object: kept)
    const stopFirst = eraserAhead(o, 0).start(o.app.redis, o.prefix, 60_000);
    await stopFirst();
    expect(Number(await o.app.redis.pttl(lock))).toBeGreaterThan(0);
    // another, whose clock would remove the object, finds the lock taken
    const stopSecond = eraserAhead(o, graceMs + 60_000).start(o.app.redis, o.prefix, 60_000);
    await stopSecond();
    expect(stagedFilesOf(o.stagingDir, orphan)).toHaveLength(1);
    // once the lock is gone, the same process sweeps
    await o.app.redis.del(lock);
    const stopThird = eraserAhead(o, graceMs + 60_000).start(o.app.redis, o.prefix, 60_000);
    await stopThird();
    expect(stagedFilesOf(o.stagingDir, orphan)).toEqual([]);
  });
});

describe('a staged object that vanished before a worker read it', () => {
  it('fails its ticket with a typed error naming the field, which an operator may retry', async () => {
    const quiet = await startTestOrchestrator({ workers: false });
    try {
      const id = `pd-gone-${randomUUID().slice(0, 8)}`;
      await quiet.app.intake.enqueue({ ticketId: id, biz: 'RPMin', binding: aBinding(face) });
      expect(await quiet.app.staging.deleteTicket(id)).toBe(1);
      testWorker(quiet, cleanups, testProcessor(quiet, cleanups));
      const t = await quiet.waitFor(id);
      expect(t.state).toBe('failed');
      expect(t.lastError).toMatchObject({ code: 'STAGED_OBJECT_MISSING', retryable: false });
      expect(t.lastError?.message).toContain('Binding.FacePic');
      expect(t.lastError?.message).not.toContain('李三');
      expect(quiet.emu.cloudauth.counters().SubmitMaterials).toBeUndefined();
      // not erased: the operator may restore the object and retry
      expect((await quiet.app.operations.retry(id)).state).toBe('queued');
    } finally {
      await quiet.close();
    }
  });
});

describe('intake when the staging store cannot take the photos', () => {
  it('answers 503 and keeps nothing when the staging directory cannot be written', async () => {
    const blocked = await startTestOrchestrator({ workers: false });
    const file = join(blocked.stagingDir, 'a-file');
    writeFileSync(file, 'not a directory');
    const broken = await startTestOrchestrator({
      workers: false,
      env: { STAGING_DIR: join(file, 'staging') },
    });
    const api = testHttpApi(broken, { tokens: [TOKEN] });
    try {
      const id = `pd-503-${randomUUID().slice(0, 8)}`;
      const res = await api.inject({
        method: 'POST',
        url: '/v1/tickets',
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
        payload: {
          TicketId: id,
          Biz: 'RPMin',
          Binding: {
            Name: '李三',
            IdentificationNumber: '11010519491231002X',
            FacePic: `data:image/jpeg;base64,${face.toString('base64')}`,
          },
        },
      });
      expect(res.statusCode).toBe(503);
      expect(res.headers['content-type']).toContain('application/problem+json');
      expect(res.json()).toMatchObject({ code: 'STAGING_UNAVAILABLE' });
      expect(res.body).not.toContain('李三');
      expect(res.body).not.toContain(file);
      expect(await broken.app.store.get(id)).toBeUndefined();
      expect(await broken.app.queue.getJob(`t-${id}`)).toBeUndefined();
    } finally {
      await api.close();
      await broken.close();
      await blocked.close();
    }
  });

  it('answers 503 with Retry-After and keeps nothing when the staging bucket is unreachable', async () => {
    const broken = await startTestOrchestrator({
      workers: false,
      env: {
        STAGING_BACKEND: 'oss',
        // nothing listens on port 9 of loopback (discard): the connection is refused
        STAGING_OSS_ENDPOINT: 'http://127.0.0.1:9',
        STAGING_OSS_BUCKET: 'staging-own',
        STAGING_OSS_ACCESS_KEY_ID: 'LTAIstagingOwn',
        STAGING_OSS_ACCESS_KEY_SECRET: 'staging-secret-0123456789',
      },
    });
    const api = testHttpApi(broken, { tokens: [TOKEN] });
    try {
      const id = `pd-503-oss-${randomUUID().slice(0, 8)}`;
      const res = await api.inject({
        method: 'POST',
        url: '/v1/tickets/batch',
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
        payload: {
          tickets: [
            {
              TicketId: id,
              Biz: 'RPMin',
              Binding: {
                Name: '李三',
                IdentificationNumber: '11010519491231002X',
                FacePic: `data:image/jpeg;base64,${face.toString('base64')}`,
              },
            },
          ],
        },
      });
      expect(res.statusCode).toBe(503);
      expect(res.json()).toMatchObject({ code: 'STAGING_UNAVAILABLE' });
      expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      expect(res.body).not.toContain('staging-secret');
      expect(await broken.app.store.get(id)).toBeUndefined();
    } finally {
      await api.close();
      await broken.close();
    }
  });
});
