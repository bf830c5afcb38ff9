/**
 * A BMP face photo through the real flow: posted to the HTTP API as bytes, decoded by the worker,
 * converted to JPEG, uploaded to the OSS emulator with the token's STS credentials, submitted and
 * judged. What Cloudauth received is a JPEG of the same picture: read back through GetMaterials,
 * called as a business would (the orchestrator itself neither calls it nor keeps its answer).
 */
import { randomBytes } from 'node:crypto';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CloudauthClient } from '../../src/adapters/cloudauth/client.js';
import { bmpFile, quadrants } from '../support/images.js';
import { startTestOrchestrator, type TestOrchestrator } from '../support/orchestrator.js';
import { cloudauthOf, type Cleanups } from '../support/processor.js';

const TOKEN = `bmp-${randomBytes(12).toString('hex')}`;
let o: TestOrchestrator;
let business: CloudauthClient;
const cleanups: Cleanups = [];

beforeAll(async () => {
  o = await startTestOrchestrator({ http: true, workers: true, env: { API_TOKENS: TOKEN } });
  business = cloudauthOf(o, cleanups);
});
afterAll(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  await o?.close();
});

describe('a BMP through the real flow', () => {
  it.each([
    ['a 24-bit bottom-up BMP', { bitsPerPixel: 24 as const }],
    ['an 8-bit palette top-down BMP', { bitsPerPixel: 8 as const, topDown: true }],
  ])('passes %s, uploaded as a JPEG of the same picture', async (what, spec) => {
    const ticketId = `bmp-${spec.bitsPerPixel}`;
    const bmp = bmpFile({ width: 96, height: 64, pixel: quadrants(96, 64), ...spec });
    const res = await fetch(`${o.app.apiUrl}/v1/tickets`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        TicketId: ticketId,
        Biz: 'RPMin',
        Binding: {
          Name: '李三',
          IdentificationNumber: '11010519491231002X',
          FacePic: `data:image/bmp;base64,${bmp.toString('base64')}`,
        },
      }),
    });
    expect(res.status, what).toBe(202);
    const t = await o.waitFor(ticketId);
    expect(t.state).toBe('passed');

    const materials = await business.getMaterials({ biz: 'RPMin', ticketId });
    const face = await fetch(materials.facePic ?? '');
    expect(face.headers.get('content-type')).toBe('image/jpeg');
    const uploaded = Buffer.from(await face.arrayBuffer());
    expect(uploaded.subarray(0, 3)).toEqual(Buffer.from([0xff, 0xd8, 0xff]));
    const { data, info } = await sharp(uploaded).raw().toBuffer({ resolveWithObject: true });
    expect([info.width, info.height]).toEqual([96, 64]);
    const rgb = (x: number, y: number) => {
      const i = (y * info.width + x) * info.channels;
      return [...data.subarray(i, i + 3)].map((v) => Math.round(v / 32));
    };
    // red top left, green top right, blue bottom left, white bottom right (within JPEG's error)
    expect([rgb(4, 4), rgb(91, 4), rgb(4, 59), rgb(91, 59)]).toEqual([
      [8, 0, 0],
      [0, 8, 0],
      [0, 0, 8],
      [8, 8, 8],
    ]);
  });
});
