import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/errors.js';
import {
  DEFAULT_IMAGE_LIMITS,
  bufferReader,
  checkImageHeader,
  type ByteReader,
  type ImageLimits,
} from '../../src/adapters/oss/image-header.js';
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
} from '../support/images.js';

function refusal(bytes: Buffer, limits: ImageLimits = DEFAULT_IMAGE_LIMITS): ValidationError {
  try {
    checkImageHeader('Binding.FacePic', bufferReader(bytes), limits);
  } catch (err) {
    if (err instanceof ValidationError) return err;
    throw err;
  }
  throw new Error('expected a ValidationError');
}

/** A BMP of 4×2 pixels with one header field overwritten. */
function bmpWith(offset: number, write: (b: Buffer) => void, bits: 8 | 24 | 32 = 24): Buffer {
  const b = bmpFile({ width: 4, height: 2, bitsPerPixel: bits, pixel: quadrants(4, 2) });
  write(b.subarray(offset));
  return b;
}

describe('checkImageHeader', () => {
  it('reads the size of a JPEG, a PNG and a BMP from their headers', async () => {
    const read = (b: Buffer) => checkImageHeader('F', bufferReader(b), DEFAULT_IMAGE_LIMITS);
    expect(read(await smallJpeg())).toEqual({ type: 'jpeg', width: 64, height: 64 });
    expect(read(await noiseJpeg(300, 200))).toEqual({ type: 'jpeg', width: 300, height: 200 });
    expect(read(await smallPng())).toEqual({ type: 'png', width: 64, height: 64 });
    const bmp = read(bmpFile({ width: 5, height: 3, bitsPerPixel: 24, pixel: quadrants(5, 3) }));
    expect(bmp).toMatchObject({ type: 'bmp', width: 5, height: 3, bmp: { bitsPerPixel: 24 } });
    const topDown = bmpFile({
      width: 2,
      height: 1,
      bitsPerPixel: 8,
      pixel: quadrants(2, 1),
      topDown: true,
    });
    expect(read(topDown)).toMatchObject({ width: 2, height: 1, bmp: { topDown: true } });
  });

  it('finds a JPEG frame header after a large metadata segment and fill bytes', async () => {
    const jpeg = await smallJpeg();
    const app1 = Buffer.alloc(4 + 65_000);
    app1.set([0xff, 0xe1, 65_002 >> 8, 65_002 & 0xff]);
    const padded = Buffer.concat([
      jpeg.subarray(0, 2),
      app1,
      Buffer.from([0xff]),
      jpeg.subarray(2),
    ]);
    expect(checkImageHeader('F', bufferReader(padded), DEFAULT_IMAGE_LIMITS)).toEqual({
      type: 'jpeg',
      width: 64,
      height: 64,
    });
  });

  it("refuses a JPEG whose fill bytes run on past any encoder's, without walking them all", async () => {
    const jpeg = await smallJpeg();
    const run = (n: number) =>
      Buffer.concat([jpeg.subarray(0, 2), Buffer.alloc(n, 0xff), jpeg.subarray(2)]);
    expect(checkImageHeader('F', bufferReader(run(1000)), DEFAULT_IMAGE_LIMITS)).toMatchObject({
      type: 'jpeg',
    });
    let reads = 0;
    const flood = run(9 * 1024 * 1024);
    const inner = bufferReader(flood);
    const counting: ByteReader = {
      size: inner.size,
      read: (offset, length) => {
        reads++;
        return inner.read(offset, length);
      },
    };
    expect(() => checkImageHeader('F', counting, DEFAULT_IMAGE_LIMITS)).toThrow(
      /^F: is a damaged or truncated JPEG/,
    );
    expect(reads).toBeLessThan(1100);
  });

  it.each([
    ['a PNG', pngClaiming(16_000, 16_000), 'is 16000×16000 px (256 MP), over the limit of 25 MP'],
    [
      'a JPEG',
      jpegClaiming(65_535, 65_535),
      'is 65535×65535 px (4295 MP), over the limit of 25 MP',
    ],
    ['a BMP', bmpClaiming(50_000, 50_000), 'is 50000×50000 px (2500 MP), over the limit of 25 MP'],
    [
      'a top-down BMP',
      bmpClaiming(20_000, -2_000),
      'is 20000×2000 px (40 MP), over the limit of 25 MP',
    ],
  ])('refuses %s over the pixel limit, naming the field and its size', (_what, bytes, why) => {
    const err = refusal(bytes);
    expect(err.field).toBe('Binding.FacePic');
    expect(err.message).toBe(`Binding.FacePic: ${why}`);
  });

  it('gives exact pixel counts where megapixels would read the same, and checks the longer side', () => {
    expect(refusal(pngClaiming(5000, 5001)).message).toBe(
      'Binding.FacePic: is 5000×5001 px (25,005,000 px), over the limit of 25,000,000 px',
    );
    expect(refusal(pngClaiming(20_000, 100)).message).toBe(
      'Binding.FacePic: is 20000×100 px, over the limit of 16384 px on its longer side',
    );
    const limits = { maxPixels: 1_000_000, maxSidePx: 2000 };
    expect(refusal(pngClaiming(1200, 1000), limits).message).toContain(
      '(1.2 MP), over the limit of 1 MP',
    );
    expect(refusal(pngClaiming(2001, 10), limits).message).toContain('2000 px on its longer side');
    expect(() =>
      checkImageHeader('F', bufferReader(pngClaiming(1000, 1000)), limits),
    ).not.toThrow();
  });

  it.each([
    ['a PDF', PDF, 'it is a PDF, not an image'],
    ['nothing', Buffer.alloc(0), 'the file is empty'],
    [
      'a PNG cut inside its header',
      pngClaiming(10, 10).subarray(0, 20),
      'damaged or truncated PNG',
    ],
    ['a PNG of width 0', pngClaiming(0, 10), 'damaged or truncated PNG'],
    ['a JPEG with no frame header', Buffer.from([0xff, 0xd8, 0xff, 0xd9]), 'truncated JPEG'],
    ['a JPEG cut before its frame header', jpegClaiming(10, 10).subarray(0, 24), 'truncated JPEG'],
    ['a JPEG of height 0', jpegClaiming(10, 0), 'damaged or truncated JPEG'],
    ['a BMP cut inside its header', bmpClaiming(2, 2).subarray(0, 30), 'damaged or truncated BMP'],
    ['a BMP without its pixel rows', bmpClaiming(2, 2), 'damaged or truncated BMP'],
    ['a BMP of width 0', bmpWith(18, (b) => b.writeInt32LE(0, 0)), 'truncated BMP'],
    ['a BMP of 2 bits per pixel', bmpWith(28, (b) => b.writeUInt16LE(2, 0)), 'truncated BMP'],
    ['a BMP with an unknown header', bmpWith(14, (b) => b.writeUInt32LE(41, 0)), 'truncated BMP'],
    ['a BMP with pixels inside its header', bmpWith(10, (b) => b.writeUInt32LE(20, 0)), 'BMP'],
    [
      'a BMP claiming 1000 palette colours',
      bmpWith(46, (b) => b.writeUInt32LE(1000, 0), 8),
      'damaged or truncated BMP',
    ],
    [
      'a run-length encoded BMP',
      bmpWith(30, (b) => b.writeUInt32LE(1, 0), 8),
      'is a run-length encoded BMP, which is not supported',
    ],
    [
      'a BMP wrapping a JPEG',
      bmpWith(30, (b) => b.writeUInt32LE(4, 0)),
      'is a BMP wrapping a JPEG or PNG, which is not supported',
    ],
    ['an OS/2 BMP', bmpWith(14, (b) => b.writeUInt32LE(12, 0)), 'is an OS/2 BMP'],
  ])('refuses %s from its header', (_what, bytes, why) => {
    const err = refusal(bytes);
    expect(err.field).toBe('Binding.FacePic');
    expect(err.message).toContain(why);
  });

  it('refuses a 4-bit BMP of odd width, which the decoder cannot read', () => {
    const b = bmpFile({ width: 3, height: 2, bitsPerPixel: 8, pixel: quadrants(3, 2) });
    b.writeUInt16LE(4, 28);
    b.writeUInt32LE(0, 46);
    expect(refusal(b).message).toContain('is a 4-bit BMP of odd width');
  });
});
