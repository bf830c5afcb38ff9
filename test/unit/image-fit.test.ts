import { describe, expect, it } from 'vitest';
import { IMAGE_LIMIT_BYTES } from '../../src/domain/binding.js';
import { ValidationError } from '../../src/errors.js';
import { fitImage } from '../../src/oss/image-fit.js';
import { PDF, noiseJpeg, smallJpeg, smallPng } from '../support/images.js';

async function refusal(p: Promise<unknown>): Promise<ValidationError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof ValidationError) return err;
    throw err;
  }
  throw new Error('expected a ValidationError');
}

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
    const err = await refusal(fitImage('FacePic', big, 20_000));
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
  ])('refuses %s naming the material', async (_what, make, why) => {
    const err = await refusal(fitImage('IdCardBackPic', await make()));
    expect(err.field).toBe('IdCardBackPic');
    expect(err.message).toContain(why);
  });
});
