/**
 * Decompression bombs (a PNG of 8000×8000 pixels is 192 MB decoded, about 200 KB as PNG) are
 * refused from their headers: at intake, through the real HTTP API and the producer library,
 * before anything is stored; and by the worker, when one reached the store anyway (stored before
 * the limit, or a file that changed after the CLI's preflight), as a permanent VALIDATION_FAILED
 * that fails the ticket at its first attempt, before any provider call.
 */
import { randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TicketRejectedError, ValidationError, createTicketProducer } from '../../src/index.js';
import type { TicketInput } from '../../src/flow/ticket-intake.js';
import { bmpClaiming, jpegClaiming, pngBomb } from '../support/images.js';
import { startTestOrchestrator, type TestOrchestrator } from '../support/orchestrator.js';
import { waitUntil } from '../../testkit/waiting.js';

const TOKEN = `bombs-${randomBytes(12).toString('hex')}`;
const ID = '11010519491231002X';
const BOMBS = 50;
const BOMB_SIZE = 'is 8000×8000 px (64 MP), over the limit of 25 MP';

let o: TestOrchestrator;
let bomb: Buffer;
let dir: string;

beforeAll(async () => {
  bomb = await pngBomb(8000, 8000);
  dir = await mkdtemp(join(tmpdir(), 'bombs-'));
  o = await startTestOrchestrator({
    http: true,
    workers: true,
    env: { API_TOKENS: TOKEN, WORKER_CONCURRENCY: '50', JOB_ATTEMPTS: '3' },
  });
}, 60_000);

afterAll(async () => {
  await o?.close();
  await rm(dir, { recursive: true, force: true });
});

const request = (ticketId: string, facePic: string) => ({
  TicketId: ticketId,
  Biz: 'RPMin',
  Binding: { Name: '李三', IdentificationNumber: ID, FacePic: facePic },
});
const dataUrl = (bytes: Buffer) => `data:image/png;base64,${bytes.toString('base64')}`;

async function post(path: string, body: unknown): Promise<{ status: number; json: unknown }> {
  const res = await fetch(`${o.app.apiUrl}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, json: await res.json() };
}

describe('image bombs at intake', () => {
  it('answers a bomb posted to /v1/tickets with 422 naming the field and its size', async () => {
    const cases = [
      [dataUrl(bomb), BOMB_SIZE],
      [
        `base64://${jpegClaiming(60_000, 60_000).toString('base64')}`,
        'is 60000×60000 px (3600 MP), over the limit of 25 MP',
      ],
      [
        `data:image/bmp;base64,${bmpClaiming(30_000, -30_000).toString('base64')}`,
        'is 30000×30000 px (900 MP), over the limit of 25 MP',
      ],
    ] as const;
    for (const [i, [facePic, message]] of cases.entries()) {
      const res = await post('/v1/tickets', request(`bomb-http-${i}`, facePic));
      expect(res.status).toBe(422);
      expect(res.json).toMatchObject({
        code: 'VALIDATION_FAILED',
        errors: [{ field: 'Binding.FacePic', message }],
      });
      expect(await o.app.store.get(`bomb-http-${i}`)).toBeUndefined();
    }
  });

  it(`refuses ${BOMBS} bombs in one batch, each naming its field and size, and stores none`, async () => {
    const tickets = Array.from({ length: BOMBS }, (_, i) =>
      request(`bomb-batch-${i}`, dataUrl(bomb)),
    );
    const res = await post('/v1/tickets/batch', { tickets });
    expect(res.status).toBe(200);
    const results = (res.json as { results: { outcome: string; problems?: unknown[] }[] }).results;
    expect(results).toHaveLength(BOMBS);
    for (const r of results) {
      expect(r).toMatchObject({
        outcome: 'invalid',
        problems: [{ field: 'Binding.FacePic', message: BOMB_SIZE }],
      });
    }
    expect(await o.app.store.existing(tickets.map((t) => t.TicketId))).toEqual(new Set());
  });

  it(`refuses ${BOMBS} bombs given to the producer library, naming each`, async () => {
    const producer = createTicketProducer({
      redis: o.app.redis,
      prefix: o.prefix,
      encryptionKey: o.env.ENCRYPTION_KEY ?? '',
      biz: { RPMin: 'RPMin' },
      staging: { dir: o.stagingDir },
    });
    try {
      const tickets = Array.from({ length: BOMBS }, (_, i) =>
        request(`bomb-producer-${i}`, dataUrl(bomb)),
      );
      for (const ticket of tickets) {
        const err = await producer.enqueue(ticket).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(TicketRejectedError);
        expect((err as TicketRejectedError).problems.map((p) => [p.field, p.message])).toEqual([
          ['Binding.FacePic', `Binding.FacePic: ${BOMB_SIZE}`],
        ]);
      }
      // a many-ticket call checks every request before it stores any
      const many = await producer.enqueueMany(tickets).catch((e: unknown) => e);
      expect((many as TicketRejectedError).problems.map((p) => p.message)).toEqual([
        `[0].Binding.FacePic: ${BOMB_SIZE}`,
      ]);
      expect(await o.app.store.existing(tickets.map((t) => t.TicketId))).toEqual(new Set());
    } finally {
      await producer.close();
    }
  });
});

/** The job once BullMQ has moved it to the failed set (polled, with a deadline). */
async function waitForFailedJob(jobId: string) {
  await waitUntil(
    `job ${jobId} failed`,
    async () => (await o.app.queue.getJobState(jobId)) === 'failed',
  );
  const job = await o.app.queue.getJob(jobId);
  if (!job) throw new Error(`job ${jobId} vanished`);
  return job;
}

describe('image bombs that reached the worker', () => {
  it(`fails ${BOMBS} bomb tickets stored past intake with VALIDATION_FAILED naming the field, first attempt, no provider call`, async () => {
    o.emu.cloudauth.resetCounters();
    const inputs: TicketInput[] = Array.from({ length: BOMBS }, (_, i) => ({
      ticketId: `bomb-stored-${i}`,
      biz: 'RPMin',
      binding: {
        name: '李三',
        idNumber: ID,
        materials: { FacePic: { kind: 'bytes', base64: bomb.toString('base64') } },
      },
    }));
    await o.app.intake.enqueueMany(inputs);
    for (const { ticketId } of inputs) {
      const t = await o.waitFor(ticketId, undefined, 60_000);
      expect(t.state).toBe('failed');
      expect(t.lastError).toMatchObject({
        code: 'VALIDATION_FAILED',
        retryable: false,
        message: `materials: FacePic: ${BOMB_SIZE}`,
      });
      // the ticket fails before BullMQ records the job's end: wait for the job to be failed too
      const job = await waitForFailedJob(`t-${ticketId}`);
      expect(job.attemptsMade).toBe(1);
    }
    expect(o.emu.cloudauth.counters()).toEqual({});
  }, 90_000);

  it('refuses at intake a file that became a bomb after the CLI checked it, keeping nothing', async () => {
    // given as a file path (as the CLI does after its preflight); the file changed since. The
    // intake reads files to stage them and checks each header again: the bomb never reaches a
    // worker, and the staging store keeps none of it.
    const path = join(dir, 'face.png');
    await writeFile(path, bomb);
    const err = await o.app.intake
      .enqueue({
        ticketId: 'bomb-file',
        biz: 'RPMin',
        binding: {
          name: '李三',
          idNumber: ID,
          materials: { IdCardFrontPic: { kind: 'file', path }, FacePic: { kind: 'file', path } },
        },
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).message).toBe(`Binding.FacePic: ${BOMB_SIZE}`);
    expect(await o.app.store.get('bomb-file')).toBeUndefined();
    const mine = Buffer.from('bomb-file').toString('base64url');
    const staged = readdirSync(o.stagingDir, { recursive: true, withFileTypes: true });
    expect(staged.filter((e) => e.parentPath.split('/').includes(mine))).toEqual([]);
  });
});
