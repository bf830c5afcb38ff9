/**
 * Data minimisation, checked by reading everything: tickets end in each terminal state (passed,
 * not passed, cancelled while under review, failed, expired), one running ticket and one failed
 * ticket are erased on request, and then every Redis value under the orchestrator's prefix and its
 * BullMQ prefix (every type, as bytes) and every file of its staging directory is searched for each
 * applicant's name (raw, percent-encoded, \u-escaped), ID number and photo bytes (raw, base64,
 * base64url and hex windows). None may be anywhere in plaintext: Redis holds personal data only
 * encrypted, staged objects are CAOS envelopes. Where the rules say the data is gone (a verdict,
 * a cancellation, an erasure on request, the end of the retention), the ticket has no `binding`
 * left and no staged object, and its API view keeps only the masked applicant.
 *
 * The scan runs three times: after intake (the queue paused, so every photo is staged), after the
 * tickets ended and the erasures on request, and after a sweep whose clock is past
 * MATERIAL_RETENTION_SECONDS.
 */
import { Redis } from 'ioredis';
import { pino } from 'pino';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ticketStoreKeys } from '../../src/adapters/redis/ticket-store.js';
import { stagedTicketName } from '../../src/adapters/staging/staged-ticket-name.js';
import { STAGED_OVERHEAD_BYTES } from '../../src/adapters/staging/staging-cipher.js';
import type { TicketBinding } from '../../src/domain/binding.js';
import { idNumberCheckChar } from '../../src/domain/id-number.js';
import type { TicketState } from '../../src/domain/ticket.js';
import { PersonalDataErasedError, type ErasureReason } from '../../src/errors.js';
import { PersonalDataEraser } from '../../src/flow/personal-data.js';
import { noiseJpeg, PDF } from '../support/images.js';
import { fileValues, redisValues, textForms, type ByteHaystack } from '../support/leak-scan.js';
import {
  startTestOrchestrator,
  testHttpApi,
  type TestOrchestrator,
} from '../support/orchestrator.js';
import { waitUntil } from '../../testkit/waiting.js';

const API_TOKEN = 'personal-data-scan-token';
const DAY_MS = 86_400_000;
const REJECT_NAME = '拒绝三';
const REVIEW_NAMES = ['审核一', '审核二'] as const;

/** What the rules promise of one ticket once everything settled (before the retention ends). */
type Expectation =
  { erased: ErasureReason; state: TicketState } | { kept: true; state: TicketState };

interface Applicant {
  /** The ticket's role in this test, named in every failure. */
  role: string;
  ticketId: string;
  biz: 'RPMin' | 'RPH5BioOnly';
  name: string;
  idNumber: string;
  /** The FacePic bytes, given as base64; none for the interactive ticket. */
  photo?: Buffer;
  expect: Expectation;
}

interface ByteNeedle {
  role: string;
  label: string;
  bytes: Buffer;
}

const run = Date.now().toString(36);
const idNumber = (region: string, birth: string, seq: string): string => {
  const first17 = `${region}${birth}${seq}`;
  return `${first17}${idNumberCheckChar(first17)}`;
};

let o: TestOrchestrator;
let api: FastifyInstance;
let scanner: Redis;
let applicants: Applicant[];
/** What a scan found (where, ticket, needle; never the value) and which places it read. */
interface Scan {
  hits: string[];
  places: string[];
}
const scans: Record<'intake' | 'settled' | 'swept', Scan> = {
  intake: { hits: [], places: [] },
  settled: { hits: [], places: [] },
  swept: { hits: [], places: [] },
};
/** Staged files seen after intake, per ticket role. */
const stagedAtIntake = new Map<string, ByteHaystack[]>();

const byRole = (role: string): Applicant => {
  const a = applicants.find((x) => x.role === role);
  if (!a) throw new Error(`no applicant ${role}`);
  return a;
};

/** The needles of one applicant: name forms, ID number forms, windows of the photo's bytes. */
function needlesOf(a: Applicant): ByteNeedle[] {
  const text = [
    ...textForms('name', a.name),
    { label: 'ID number', value: a.idNumber },
    { label: 'ID number (lower case)', value: a.idNumber.toLowerCase() },
  ];
  const out: ByteNeedle[] = text.map((n) => ({
    role: a.role,
    label: n.label,
    bytes: Buffer.from(n.value, 'utf8'),
  }));
  const photo = a.photo;
  if (photo === undefined) return out;
  // windows inside the compressed data (two JPEGs of one quality share their headers), aligned
  // on 3 bytes so that their base64 is a substring of the whole photo's base64
  for (const at of [photo.length / 4, photo.length / 2, photo.length - 300].map(Math.floor)) {
    const start = at - (at % 3);
    const raw = photo.subarray(start, start + 64);
    const aligned = photo.subarray(start, start + 63);
    out.push(
      { role: a.role, label: `photo bytes @${start} (raw)`, bytes: raw },
      { role: a.role, label: `photo bytes @${start} (base64)`, bytes: b64(aligned, 'base64') },
      {
        role: a.role,
        label: `photo bytes @${start} (base64url)`,
        bytes: b64(aligned, 'base64url'),
      },
      { role: a.role, label: `photo bytes @${start} (hex)`, bytes: b64(raw, 'hex') },
    );
  }
  return out;
}

const b64 = (bytes: Buffer, encoding: 'base64' | 'base64url' | 'hex'): Buffer =>
  Buffer.from(bytes.toString(encoding), 'ascii');

/** Each hit as "where: ticket role: needle label", never the value. */
function findNeedles(haystacks: readonly ByteHaystack[], needles: readonly ByteNeedle[]): string[] {
  const hits: string[] = [];
  for (const h of haystacks) {
    for (const n of needles) {
      if (h.bytes.includes(n.bytes)) hits.push(`${h.where}: ticket ${n.role}: ${n.label}`);
    }
  }
  return hits;
}

/** Every Redis value of the orchestrator (its prefix and its BullMQ prefix). */
async function redisHaystacks(): Promise<ByteHaystack[]> {
  return [
    ...(await redisValues(scanner, `${o.prefix}:*`)),
    ...(await redisValues(scanner, `{${o.prefix}:q}:*`)),
  ];
}

/** The staged files of one ticket: `<shard>/<base64url(TicketId)>/…`. */
function stagedOf(files: readonly ByteHaystack[], ticketId: string): ByteHaystack[] {
  const segment = `/${stagedTicketName(ticketId)}/`;
  return files.filter((f) => f.where.includes(segment));
}

/** The API's view of a ticket, and its text for the scan. */
async function apiView(ticketId: string): Promise<{ view: ApiView; haystack: ByteHaystack }> {
  const res = await api.inject({
    method: 'GET',
    url: `/v1/tickets/${encodeURIComponent(ticketId)}`,
    headers: { authorization: `Bearer ${API_TOKEN}` },
  });
  expect(res.statusCode, `GET ${ticketId}`).toBe(200);
  return {
    view: res.json<ApiView>(),
    haystack: { where: `API view of ${ticketId}`, bytes: res.rawPayload },
  };
}

interface ApiView {
  state: string;
  applicant: { name: string | null; idNumber: string | null };
  verdict: { statusCode: number } | null;
  history: { from: string; to: string }[];
  personalDataErasedAt: string | null;
  erasure: string | null;
}

/** Everything searched at one point: Redis, the staging directory, the API views. */
async function scanEverything(): Promise<Scan> {
  const views = await Promise.all(
    applicants.map(async (a) => (await apiView(a.ticketId)).haystack),
  );
  const haystacks = [...(await redisHaystacks()), ...(await fileValues(o.stagingDir)), ...views];
  return {
    hits: findNeedles(haystacks, applicants.flatMap(needlesOf)),
    places: haystacks.map((h) => h.where),
  };
}

/** The masked forms the API shows: the first character, the first and last four. */
const maskedName = (name: string): string => `${[...name][0]}${'*'.repeat([...name].length - 1)}`;
const maskedId = (id: string): string => `${id.slice(0, 4)}${'*'.repeat(10)}${id.slice(-4)}`;

async function queueIdle(): Promise<boolean> {
  const counts = await Promise.all(
    [o.app.queue, o.app.webhookQueue].map((q) =>
      q.getJobCounts('active', 'wait', 'delayed', 'prioritized', 'waiting-children'),
    ),
  );
  return counts.every((c) => Object.values(c).every((n) => n === 0));
}

beforeAll(async () => {
  o = await startTestOrchestrator({
    // a short token, so the interactive ticket expires; a long review, so the review names run
    // until cancelled or erased
    emulator: {
      tokenSeconds: 3,
      rejectNames: [REJECT_NAME],
      reviewNames: [...REVIEW_NAMES],
      reviewMs: 10 * 60_000,
    },
  });
  api = testHttpApi(o, { tokens: [API_TOKEN] });
  scanner = new Redis(inject('redisUrl'));
  const photo = (seed: number) => noiseJpeg(400, 300, seed);
  // a PDF (some noise after its header): intake in process takes it, the worker refuses it
  const pdf = async (seed: number) => Buffer.concat([PDF, await noiseJpeg(300, 200, seed)]);
  const id = (role: string) => `pds-${role}-${run}`;
  applicants = [
    {
      role: 'passed',
      ticketId: id('passed'),
      biz: 'RPMin',
      name: '张伟',
      idNumber: idNumber('110105', '19800214', '031'),
      photo: await photo(11),
      expect: { erased: 'finished', state: 'passed' },
    },
    {
      role: 'not_passed',
      ticketId: id('not-passed'),
      biz: 'RPMin',
      name: REJECT_NAME,
      idNumber: idNumber('310104', '19850317', '042'),
      photo: await photo(12),
      expect: { erased: 'finished', state: 'not_passed' },
    },
    {
      role: 'cancelled',
      ticketId: id('cancelled'),
      biz: 'RPMin',
      name: REVIEW_NAMES[0],
      idNumber: idNumber('440305', '19921108', '253'),
      photo: await photo(13),
      expect: { erased: 'finished', state: 'cancelled' },
    },
    {
      role: 'erased_running',
      ticketId: id('erased-running'),
      biz: 'RPMin',
      name: REVIEW_NAMES[1],
      idNumber: idNumber('510107', '20010605', '114'),
      photo: await photo(14),
      expect: { erased: 'request', state: 'cancelled' },
    },
    {
      role: 'failed',
      ticketId: id('failed'),
      biz: 'RPMin',
      name: '刘洋',
      idNumber: idNumber('330106', '19770920', '465'),
      photo: await pdf(15),
      expect: { kept: true, state: 'failed' },
    },
    {
      role: 'erased_failed',
      ticketId: id('erased-failed'),
      biz: 'RPMin',
      name: '陈静',
      idNumber: idNumber('320102', '19681203', '076'),
      photo: await pdf(16),
      expect: { erased: 'request', state: 'failed' },
    },
    {
      role: 'expired',
      ticketId: id('expired'),
      biz: 'RPH5BioOnly',
      name: '杨帆',
      idNumber: idNumber('420106', '19990101', '187'),
      expect: { kept: true, state: 'expired' },
    },
  ];

  // Intake with the queue paused: every photo is staged and no worker has touched a ticket yet.
  await o.app.queue.pause();
  for (const a of applicants) {
    const materials: TicketBinding['materials'] =
      a.photo === undefined
        ? {}
        : { FacePic: { kind: 'bytes', base64: a.photo.toString('base64') } };
    const r = await o.app.intake.enqueue({
      ticketId: a.ticketId,
      biz: a.biz,
      binding: { name: a.name, idNumber: a.idNumber, materials },
    });
    expect(r.created, a.role).toBe(true);
  }
  const files = await fileValues(o.stagingDir);
  for (const a of applicants) stagedAtIntake.set(a.role, stagedOf(files, a.ticketId));
  scans.intake = await scanEverything();
  await o.app.queue.resume();

  // To their ends; the review names are held until cancelled or erased.
  for (const a of applicants) {
    const until = REVIEW_NAMES.includes(a.name as (typeof REVIEW_NAMES)[number])
      ? 'submitted'
      : a.expect.state;
    await o.waitFor(a.ticketId, (t) => t.state === until, 30_000);
  }
  await o.app.operations.cancel(byRole('cancelled').ticketId);
  await o.app.operations.erase(byRole('erased_running').ticketId);
  await o.app.operations.erase(byRole('erased_failed').ticketId);
  // the jobs settled too (a failed job keeps its reason and stack trace)
  await waitUntil('the queues to be idle', queueIdle, { timeoutMs: 20_000, everyMs: 50 });
  scans.settled = await scanEverything();
}, 90_000);

afterAll(async () => {
  scanner?.disconnect();
  await api?.close();
  await o?.close();
});

describe('personal data after intake', () => {
  it('finds a leak: each needle is found in the plaintext forms it stands for', () => {
    for (const a of applicants) {
      const plain: ByteHaystack[] = [
        { where: 'JSON', bytes: Buffer.from(JSON.stringify({ n: a.name, i: a.idNumber })) },
        {
          where: 'URL',
          bytes: Buffer.from(`?n=${encodeURIComponent(a.name)}&i=${a.idNumber.toLowerCase()}`),
        },
        ...(a.photo === undefined
          ? []
          : [
              { where: 'photo', bytes: a.photo },
              { where: 'photo base64', bytes: Buffer.from(a.photo.toString('base64')) },
              { where: 'photo base64url', bytes: Buffer.from(a.photo.toString('base64url')) },
              { where: 'photo hex', bytes: Buffer.from(a.photo.toString('hex')) },
            ]),
      ];
      for (const h of plain) {
        const hits = findNeedles([h], needlesOf(a));
        expect(hits.length, `${a.role}: ${h.where}`).toBeGreaterThan(0);
        expect(hits.every((hit) => hit.includes(`ticket ${a.role}:`))).toBe(true);
      }
      // and nobody else's needle
      const others = applicants.filter((x) => x !== a).flatMap(needlesOf);
      expect(findNeedles(plain, others), a.role).toEqual([]);
    }
  });

  it('read every kind of place: ticket hashes with their encrypted binding, jobs, staged files', () => {
    const places = scans.intake.places;
    for (const a of applicants) {
      const hash = ticketStoreKeys(o.prefix).ticket(a.ticketId);
      expect(places, a.role).toContain(`redis ${hash} field binding`);
    }
    expect(places.some((p) => p.startsWith(`redis {${o.prefix}:q}:`))).toBe(true);
    expect(places.filter((p) => p.startsWith('file ')).length).toBe(
      applicants.filter((a) => a.photo !== undefined).length,
    );
  });

  it('stages each photo as one CAOS envelope, and nothing in plaintext anywhere', () => {
    for (const a of applicants) {
      const files = stagedAtIntake.get(a.role) ?? [];
      if (a.photo === undefined) {
        expect(files, `${a.role}: staged files`).toEqual([]);
        continue;
      }
      expect(files.length, `${a.role}: staged files`).toBe(1);
      const envelope = files[0]?.bytes ?? Buffer.alloc(0);
      expect(envelope.subarray(0, 4).toString('latin1'), `${a.role}: magic`).toBe('CAOS');
      expect(envelope.length, `${a.role}: envelope size`).toBe(
        a.photo.length + STAGED_OVERHEAD_BYTES,
      );
    }
    expect(scans.intake.hits).toEqual([]);
  });
});

describe('personal data once the tickets ended', () => {
  it('leaves no name, ID number or photo bytes in plaintext in Redis, the staging directory or the API', () => {
    expect(scans.settled.hits).toEqual([]);
  });

  it('erases passed, not passed, cancelled and erased-on-request tickets, keeping the masked view', async () => {
    const files = await fileValues(o.stagingDir);
    const problems: string[] = [];
    for (const a of applicants) {
      if (!('erased' in a.expect)) continue;
      const hash = await o.app.redis.hgetall(ticketStoreKeys(o.prefix).ticket(a.ticketId));
      if (hash.state !== a.expect.state) problems.push(`${a.role}: state ${hash.state}`);
      if ('binding' in hash) problems.push(`${a.role}: a binding field is left`);
      if (!/^\d+$/.test(hash.erasedAt ?? '')) problems.push(`${a.role}: no erasedAt`);
      if (hash.erasure !== a.expect.erased) {
        problems.push(`${a.role}: erasure ${hash.erasure}, expected ${a.expect.erased}`);
      }
      if (stagedOf(files, a.ticketId).length > 0) problems.push(`${a.role}: staged files left`);
      const masked = { masked: true, name: maskedName(a.name), idNumber: maskedId(a.idNumber) };
      if (hash.applicant !== JSON.stringify(masked)) problems.push(`${a.role}: applicant field`);
      await expect(o.app.store.getBinding(a.ticketId), a.role).rejects.toBeInstanceOf(
        PersonalDataErasedError,
      );
      const { view } = await apiView(a.ticketId);
      expect(view.applicant, a.role).toEqual({
        name: maskedName(a.name),
        idNumber: maskedId(a.idNumber),
      });
      expect(view.personalDataErasedAt, a.role).not.toBeNull();
      expect(view.history.at(-1)?.to, a.role).toBe(a.expect.state);
      if (a.expect.state === 'passed') expect(view.verdict?.statusCode).toBe(1);
      if (a.expect.state === 'not_passed') expect(view.verdict?.statusCode).toBe(2);
      expect(
        await o.app.redis.zscore(ticketStoreKeys(o.prefix).eraseDue, a.ticketId),
        `${a.role}: still scheduled`,
      ).toBeNull();
    }
    expect(problems).toEqual([]);
  });

  it('keeps a failed or expired ticket’s data, encrypted, until the retention ends', async () => {
    const retentionMs = o.app.config.staging.materialRetentionSeconds * 1000;
    expect(retentionMs).toBe(7 * DAY_MS);
    const files = await fileValues(o.stagingDir);
    for (const a of applicants) {
      if (!('kept' in a.expect)) continue;
      const t = await o.app.store.get(a.ticketId);
      expect(t?.state, a.role).toBe(a.expect.state);
      expect(t?.erasedAt, a.role).toBeUndefined();
      const binding = await o.app.store.getBinding(a.ticketId);
      expect(binding.name === a.name && binding.idNumber === a.idNumber, a.role).toBe(true);
      const due = await o.app.redis.zscore(ticketStoreKeys(o.prefix).eraseDue, a.ticketId);
      expect(Math.abs(Number(due) - ((t?.updatedAt ?? 0) + retentionMs)), a.role).toBeLessThan(
        60_000,
      );
      const { view } = await apiView(a.ticketId);
      expect(view.applicant, a.role).toEqual({
        name: maskedName(a.name),
        idNumber: maskedId(a.idNumber),
      });
      expect(view.personalDataErasedAt, a.role).toBeNull();

      const staged = stagedOf(files, a.ticketId);
      const ref = binding.materials.FacePic;
      if (a.photo === undefined) {
        expect(ref, a.role).toBeUndefined();
        expect(staged, a.role).toEqual([]);
        continue;
      }
      if (ref?.kind !== 'staged') throw new Error(`${a.role}: FacePic is not a staged reference`);
      expect(staged.length, a.role).toBe(1);
      expect(staged[0]?.where.endsWith(`/${ref.digest}`), a.role).toBe(true);
      const plain = await o.app.staging.get(a.ticketId, ref);
      expect(plain.equals(a.photo), `${a.role}: the staged object decrypts to its photo`).toBe(
        true,
      );
      expect(findNeedles(staged, needlesOf(a)), a.role).toEqual([]);
    }
  });
});

describe('personal data after the retention', () => {
  it('erases failed and expired tickets, refuses their retry, and leaves nothing anywhere', async () => {
    const eraser = new PersonalDataEraser({
      store: o.app.store,
      staging: o.app.staging,
      logger: pino({ level: 'silent' }),
      retentionMs: o.app.config.staging.materialRetentionSeconds * 1000,
      orphanGraceMs: o.app.config.staging.orphanGraceSeconds * 1000,
      clock: () => Date.now() + 8 * DAY_MS,
    });
    expect(await eraser.sweep()).toEqual({ erased: 2, rescheduled: 0, orphans: 0 });

    for (const a of applicants) {
      if (!('kept' in a.expect)) continue;
      const t = await o.app.store.get(a.ticketId);
      expect(t?.state, a.role).toBe(a.expect.state);
      expect(t?.erasure, a.role).toBe('retention');
      expect(t?.maskedApplicant, a.role).toEqual({
        masked: true,
        name: maskedName(a.name),
        idNumber: maskedId(a.idNumber),
      });
      const retry = o.app.operations.retry(a.ticketId);
      await expect(retry, a.role).rejects.toBeInstanceOf(PersonalDataErasedError);
      await expect(retry, a.role).rejects.toMatchObject({ code: 'PERSONAL_DATA_ERASED' });
      const { view } = await apiView(a.ticketId);
      expect(view.erasure, a.role).toBe('retention');
      expect(view.applicant.name, a.role).toBe(maskedName(a.name));
    }
    // nothing left to erase, nothing staged, no binding (not even encrypted) on any ticket
    expect(await o.app.redis.zcard(ticketStoreKeys(o.prefix).eraseDue)).toBe(0);
    expect((await fileValues(o.stagingDir)).map((f) => f.where)).toEqual([]);
    const withBinding: string[] = [];
    for (const a of applicants) {
      const fields = await o.app.redis.hkeys(ticketStoreKeys(o.prefix).ticket(a.ticketId));
      expect(fields, a.role).toContain('erasedAt');
      if (fields.includes('binding')) withBinding.push(a.role);
    }
    expect(withBinding).toEqual([]);
    scans.swept = await scanEverything();
    expect(scans.swept.hits).toEqual([]);
  });
});
