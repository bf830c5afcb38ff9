import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { IMAGE_LIMIT_BYTES } from '../../src/domain/binding.js';
import { ValidationError } from '../../src/errors.js';
import { createImageDecoding, type ImageDecoding } from '../../src/adapters/oss/decode-limit.js';
import { fitImage } from '../../src/adapters/oss/image-fit.js';
import {
  PDF,
  bmpClaiming,
  bmpFile,
  jpegClaiming,
  noiseJpeg,
  pngClaiming,
  quadrants,
  smallJpeg,
  smallPng,
  type Rgba,
} from '../support/images.js';

async function refusal(p: Promise<unknown>): Promise<ValidationError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof ValidationError) return err;
    throw err;
  }
  throw new Error('expected a ValidationError');
}

/** A decoding whose whole budget is held until `release` is called. */
function heldGate(): { decoding: ImageDecoding; release: () => void } {
  const decoding = createImageDecoding({
    maxPixels: 25_000_000,
    maxSidePx: 16_384,
    budgetPixels: 50_000_000,
  });
  let release = () => {};
  void decoding.gate.run(50_000_000, () => new Promise<void>((resolve) => (release = resolve)));
  return { decoding, release: () => release() };
}

/** The RGB of a decoded JPEG at (x, y). */
async function rgbAt(jpeg: Buffer, points: [number, number][]): Promise<number[][]> {
  const { data, info } = await sharp(jpeg).raw().toBuffer({ resolveWithObject: true });
  return points.map(([x, y]) => {
    const o = (y * info.width + x) * info.channels;
    return [...data.subarray(o, o + 3)];
  });
}

const near = (actual: number[][], expected: number[][]) =>
  actual.every((c, i) => c.every((v, k) => Math.abs(v - (expected[i]?.[k] ?? -99)) <= 8));

describe('fitImage', () => {
  it('keeps a small JPEG or PNG as it is', async () => {
    const jpeg = await smallJpeg();
    const fitted = await fitImage('FacePic', jpeg);
    expect(fitted).toMatchObject({ type: 'jpeg', width: 64, height: 64 });
    expect(fitted.bytes).toBe(jpeg);
    expect(fitted.change).toBeUndefined();
    expect((await fitImage('IdCardFrontPic', await smallPng())).type).toBe('png');
  });

  it('brings a 5 MB photo under 2 MB and records the change', async () => {
    const big = await noiseJpeg(2600, 2000, 7, 100);
    expect(big.length).toBeGreaterThan(5 * 1024 * 1024);
    const fitted = await fitImage('FacePic', big);
    expect(fitted.bytes.length).toBeLessThanOrEqual(IMAGE_LIMIT_BYTES);
    expect(fitted.change).toMatchObject({
      field: 'FacePic',
      fromBytes: big.length,
      toBytes: fitted.bytes.length,
      fromType: 'jpeg',
      toType: 'jpeg',
      fromSize: { width: 2600, height: 2000 },
    });
    expect(fitted.width).toBeLessThanOrEqual(2600);
  });

  it('refuses what cannot fit without going below the minimum size', async () => {
    const big = await noiseJpeg(800, 600, 3, 100);
    const err = await refusal(fitImage('FacePic', big, { limitBytes: 20_000 }));
    expect(err.message).toContain('cannot be brought under 20000 bytes');
  });

  it.each([
    ['a PDF', () => Promise.resolve(PDF), 'it is a PDF, not an image'],
    ['an empty file', () => Promise.resolve(Buffer.alloc(0)), 'the file is empty'],
    [
      'a truncated JPEG',
      async () => {
        const j = await noiseJpeg(400, 300, 5);
        return j.subarray(0, Math.floor(j.length / 2));
      },
      'damaged or truncated JPEG',
    ],
    [
      // over the pixels checked by a decode into a buffer: checked by the dropped JPEG encoding
      'a truncated JPEG of 1.2 MP under 2 MB',
      async () => {
        const j = await noiseJpeg(1200, 1000, 5);
        expect(j.length).toBeLessThan(2 * 1024 * 1024);
        return j.subarray(0, Math.floor(j.length / 2));
      },
      'damaged or truncated JPEG',
    ],
    [
      'a truncated BMP',
      () => {
        const b = bmpFile({ width: 40, height: 30, bitsPerPixel: 24, pixel: quadrants(40, 30) });
        return Promise.resolve(b.subarray(0, b.length - 100));
      },
      'damaged or truncated BMP',
    ],
  ])('refuses %s naming the material', async (_what, make, why) => {
    const err = await refusal(fitImage('IdCardBackPic', await make()));
    expect(err.field).toBe('IdCardBackPic');
    expect(err.message).toContain(why);
  });

  it.each([
    ['PNG', pngClaiming(16_000, 16_000), '16000×16000 px (256 MP)'],
    ['JPEG', jpegClaiming(30_000, 20_000), '30000×20000 px (600 MP)'],
    ['BMP', bmpClaiming(10_000, -10_000), '10000×10000 px (100 MP)'],
  ])(
    'refuses a %s bomb from its header, without waiting for a decode slot',
    async (_type, bomb, size) => {
      // the only decode slot is taken: an image that needed decoding would wait here forever
      const { decoding, release } = heldGate();
      try {
        const err = await refusal(fitImage('FacePic', bomb, { decoding }));
        expect(err.message).toBe(`FacePic: is ${size}, over the limit of 25 MP`);
        expect(decoding.gate.waiting).toBe(0);
      } finally {
        release();
      }
    },
  );

  it('decodes no more pixels at once than the budget, a BMP weighing twice', async () => {
    const decoding = createImageDecoding({
      maxPixels: 25_000_000,
      maxSidePx: 16_384,
      budgetPixels: 2 * 200 * 150,
    });
    const images = await Promise.all([1, 2, 3, 4, 5].map((seed) => noiseJpeg(200, 150, seed)));
    const fits = images.map((image) => fitImage('FacePic', image, { decoding }));
    expect([decoding.gate.active, decoding.gate.waiting]).toEqual([2, 3]);
    expect((await Promise.all(fits)).map((f) => f.type)).toEqual(Array(5).fill('jpeg'));
    expect([decoding.gate.active, decoding.gate.waiting]).toEqual([0, 0]);
    const bmps = [1, 2].map(() =>
      bmpFile({ width: 200, height: 150, bitsPerPixel: 24, pixel: quadrants(200, 150) }),
    );
    const bmpFits = bmps.map((bmp) => fitImage('FacePic', bmp, { decoding }));
    expect([decoding.gate.active, decoding.gate.waiting]).toEqual([1, 1]);
    expect((await Promise.all(bmpFits)).map((f) => f.type)).toEqual(['jpeg', 'jpeg']);
  });

  it('converts a BMP to JPEG, right way up, and records the change', async () => {
    const bmp = bmpFile({ width: 64, height: 48, bitsPerPixel: 24, pixel: quadrants(64, 48) });
    const fitted = await fitImage('FacePic', bmp);
    expect(fitted).toMatchObject({ type: 'jpeg', width: 64, height: 48 });
    expect(fitted.bytes.subarray(0, 3)).toEqual(Buffer.from([0xff, 0xd8, 0xff]));
    expect(fitted.change).toEqual({
      field: 'FacePic',
      fromBytes: bmp.length,
      toBytes: fitted.bytes.length,
      fromType: 'bmp',
      toType: 'jpeg',
      fromSize: { width: 64, height: 48 },
      toSize: { width: 64, height: 48 },
      quality: 85,
    });
    const corners = await rgbAt(fitted.bytes, [
      [2, 2],
      [61, 2],
      [2, 45],
      [61, 45],
    ]);
    const expected = [
      [255, 0, 0],
      [0, 255, 0],
      [0, 0, 255],
      [255, 255, 255],
    ];
    expect(near(corners, expected), JSON.stringify(corners)).toBe(true);
  });

  it('flattens a transparent BMP onto white', async () => {
    const pixel = (x: number): Rgba => (x < 32 ? [0, 0, 0, 0] : [0, 0, 0, 255]);
    const bmp = bmpFile({
      width: 64,
      height: 48,
      bitsPerPixel: 32,
      bitfields: true,
      headerSize: 124,
      pixel,
    });
    const fitted = await fitImage('FacePic', bmp);
    const [clear, opaque] = await rgbAt(fitted.bytes, [
      [4, 24],
      [60, 24],
    ]);
    expect(
      near(
        [clear ?? [], opaque ?? []],
        [
          [255, 255, 255],
          [0, 0, 0],
        ],
      ),
    ).toBe(true);
  });

  it('scales a BMP over the byte limit down until it fits', async () => {
    const bmp = bmpFile({
      width: 900,
      height: 700,
      bitsPerPixel: 24,
      pixel: (x, y) => [(x * 7919 + y * 104_729) & 255, (x * y) & 255, (x ^ y) & 255],
    });
    const fitted = await fitImage('IDPic', bmp, { limitBytes: 300_000 });
    expect(fitted.bytes.length).toBeLessThanOrEqual(300_000);
    expect(fitted.change).toMatchObject({ fromType: 'bmp', toType: 'jpeg' });
    expect(fitted.width).toBeLessThan(900);
    expect(Math.min(fitted.width, fitted.height)).toBeGreaterThanOrEqual(480);
  });
});
