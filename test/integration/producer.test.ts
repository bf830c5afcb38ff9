import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TicketRejectedError, createTicketProducer } from '../../src/index.js';
import { smallJpeg } from '../support/images.js';
import { FieldCipher, parseKey } from '../../src/adapters/redis/crypto.js';
import { RedisTicketStore } from '../../src/adapters/redis/ticket-store.js';
import type { RedisClient } from '../../src/adapters/redis/connection.js';
import { deleteKeys, testRedis } from '../support/redis.js';

const prefix = `test-${randomUUID().slice(0, 8)}`;
// the orchestrator's STAGING_DIR, as a producer beside it is given
const staging = { dir: mkdtempSync(join(tmpdir(), `${prefix}-staging-`)) };
let redis: RedisClient;

/** Every file under `dir`, recursively. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name));
}

beforeAll(() => {
  redis = testRedis();
});
afterAll(async () => {
  await deleteKeys(redis, [`${prefix}:*`, `{${prefix}:q}:*`]);
  rmSync(staging.dir, { recursive: true, force: true });
});

describe('createTicketProducer', () => {
  it('enqueues a ticket whose job carries the TicketId only and whose Redis copy is encrypted', async () => {
    const encryptionKey = randomBytes(32).toString('base64');
    const producer = createTicketProducer({
      redis,
      prefix,
      encryptionKey,
      biz: { kyc: 'RPMin' },
      staging,
    });
    const face = (await smallJpeg()).toString('base64');
    const request = {
      TicketId: 'p-1',
      Biz: 'kyc',
      Binding: {
        Name: '李三',
        IdentificationNumber: '11010519491231002X',
        FacePic: `data:image/jpeg;base64,${face}`,
      },
    };
    const first = await producer.enqueue(request);
    const again = await producer.enqueue(request);
    expect([first.created, again.created, again.samePayload]).toEqual([true, false, true]);
    const job = await redis.hgetall(`{${prefix}:q}:tickets:t-p-1`);
    expect(JSON.parse(job.data ?? '{}')).toEqual({ ticketId: 'p-1' });
    const raw = JSON.stringify(await redis.hgetall(`${prefix}:t:{p-1}`));
    expect(raw).not.toContain('11010519491231002X');
    expect(raw).not.toContain('李三');
    // the photo is staged, once for the ticket however often it is sent, and only as ciphertext;
    // Redis holds a reference of a few dozen bytes, not the bytes (base64 or encrypted)
    const photo = Buffer.from(face, 'base64');
    const objects = filesUnder(staging.dir).filter((f) => !f.includes('.probe.'));
    expect(objects).toHaveLength(1);
    const stored = readFileSync(objects[0] ?? '');
    expect(stored.length).toBeGreaterThan(photo.length);
    expect(stored.includes(photo.subarray(0, 64))).toBe(false);
    expect(raw).not.toContain(face.slice(0, 64));
    const store = new RedisTicketStore({
      redis,
      prefix,
      cipher: new FieldCipher(parseKey(encryptionKey, 'encryptionKey')),
      retentionSeconds: 60,
    });
    expect((await store.getBinding('p-1')).materials.FacePic).toEqual({
      kind: 'staged',
      digest: expect.stringMatching(/^[0-9a-f]{64}$/),
      bytes: photo.length,
    });
    await producer.close();
  });

  it('refuses a local path and names every bad field of a many-ticket call', async () => {
    const producer = createTicketProducer({
      redis,
      prefix,
      encryptionKey: randomBytes(32).toString('base64'),
      biz: { kyc: 'RPMin' },
      staging,
    });
    const err = await producer
      .enqueueMany([
        {
          TicketId: 'p-2',
          Biz: 'kyc',
          Binding: {
            Name: '李三',
            IdentificationNumber: '11010519491231002X',
            FacePic: '/etc/passwd',
          },
        },
      ])
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TicketRejectedError);
    expect((err as TicketRejectedError).problems.map((p) => p.field)).toEqual([
      '[0].Binding.FacePic',
    ]);
    await producer.close();
  });

  it('refuses callback URLs to internal addresses, and plain http under an https-only policy, storing nothing', async () => {
    const request = async (TicketId: string, callbackUrl: string) => ({
      TicketId,
      Biz: 'kyc',
      Binding: {
        Name: '李三',
        IdentificationNumber: '11010519491231002X',
        FacePic: `data:image/jpeg;base64,${(await smallJpeg()).toString('base64')}`,
      },
      callbackUrl,
    });
    const key = randomBytes(32).toString('base64');
    const open = createTicketProducer({
      redis,
      prefix,
      encryptionKey: key,
      biz: { kyc: 'RPMin' },
      staging,
    });
    const strict = createTicketProducer({
      redis,
      prefix,
      encryptionKey: key,
      biz: { kyc: 'RPMin' },
      callbackPolicy: { allowedHosts: ['hooks.internal.test'], httpsOnly: true },
      staging,
    });
    try {
      for (const [producer, id, url] of [
        [open, 'p-cb-1', 'http://127.0.0.1:8080/hook'],
        [open, 'p-cb-2', 'http://[::ffff:10.0.0.1]/hook'],
        [open, 'p-cb-3', 'http://169.254.169.254/latest/meta-data'],
        [strict, 'p-cb-4', 'http://hooks.example.test/hook'],
      ] as const) {
        const err = await producer.enqueue(await request(id, url)).catch((e: unknown) => e);
        expect(err, url).toBeInstanceOf(TicketRejectedError);
        expect(
          (err as TicketRejectedError).problems.map((p) => p.field),
          url,
        ).toEqual(['callbackUrl']);
        expect(await redis.exists(`${prefix}:t:{${id}}`), url).toBe(0);
      }
      const allowed = await strict.enqueue(
        await request('p-cb-5', 'http://hooks.internal.test/hook'),
      );
      const https = await strict.enqueue(await request('p-cb-6', 'https://hooks.example.test/h'));
      expect([allowed.created, https.created]).toEqual([true, true]);
    } finally {
      await open.close();
      await strict.close();
    }
  });
});
