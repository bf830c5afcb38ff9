import { describe, expect, it } from 'vitest';
import { decodeBmp, type RawPixels } from '../../src/adapters/oss/bmp.js';
import {
  DEFAULT_IMAGE_LIMITS,
  bufferReader,
  checkImageHeader,
} from '../../src/adapters/oss/image-header.js';
import { bmpFile, quadrants, type BmpSpec, type Rgba } from '../support/images.js';

const W = 5;
const H = 3;

function decoded(spec: Omit<BmpSpec, 'width' | 'height' | 'pixel'>, pixel = quadrants(W, H)) {
  const bytes = bmpFile({ width: W, height: H, pixel, ...spec });
  const header = checkImageHeader('FacePic', bufferReader(bytes), DEFAULT_IMAGE_LIMITS);
  return decodeBmp('FacePic', bytes, header);
}

function at(p: RawPixels, x: number, y: number): number[] {
  const o = (y * p.width + x) * p.channels;
  return [...p.data.subarray(o, o + p.channels)];
}

const RED = [255, 0, 0];
const GREEN = [0, 255, 0];
const BLUE = [0, 0, 255];
const WHITE = [255, 255, 255];

describe('decodeBmp', () => {
  it.each<[string, Omit<BmpSpec, 'width' | 'height' | 'pixel'>]>([
    ['a 24-bit bottom-up BMP', { bitsPerPixel: 24 }],
    ['a 24-bit top-down BMP', { bitsPerPixel: 24, topDown: true }],
    ['an 8-bit palette BMP', { bitsPerPixel: 8 }],
    [
      'an 8-bit palette top-down BMP with a V5 header',
      { bitsPerPixel: 8, topDown: true, headerSize: 124 },
    ],
    ['a 32-bit BI_RGB BMP', { bitsPerPixel: 32 }],
    [
      'a 32-bit BI_RGB BMP with a V4 header (its masks ignored)',
      { bitsPerPixel: 32, headerSize: 108 },
    ],
    ['a 32-bit BI_BITFIELDS BMP', { bitsPerPixel: 32, bitfields: true }],
    [
      'a 32-bit BI_BITFIELDS BMP with a V5 header',
      { bitsPerPixel: 32, bitfields: true, headerSize: 124 },
    ],
    ['a BMP whose pixel rows start after a gap', { bitsPerPixel: 24, gap: 7 }],
  ])('decodes %s to RGB, right way up', async (_what, spec) => {
    const p = await decoded(spec);
    expect([p.width, p.height, p.channels]).toEqual([W, H, 3]);
    expect(p.data).toHaveLength(W * H * 3);
    // red top left, green top right, blue bottom left, white bottom right: orientation and order
    expect([at(p, 0, 0), at(p, W - 1, 0), at(p, 0, H - 1), at(p, W - 1, H - 1)]).toEqual([
      RED,
      GREEN,
      BLUE,
      WHITE,
    ]);
    expect([at(p, 2, 1), at(p, 3, 1), at(p, 2, 2)]).toEqual([RED, GREEN, BLUE]);
  });

  it('keeps real transparency as RGBA, and reads an all-zero alpha channel as opaque', async () => {
    const half: (x: number, y: number) => Rgba = (x) =>
      x < 2 ? [10, 20, 30, 0] : [10, 20, 30, 128];
    const translucent = await decoded({ bitsPerPixel: 32, bitfields: true, headerSize: 124 }, half);
    expect(translucent.channels).toBe(4);
    expect([at(translucent, 0, 0), at(translucent, 4, 2)]).toEqual([
      [10, 20, 30, 0],
      [10, 20, 30, 128],
    ]);
    const zero = await decoded({ bitsPerPixel: 32, bitfields: true, headerSize: 124 }, () => [
      1, 2, 3, 0,
    ]);
    expect(zero.channels).toBe(3);
    expect(at(zero, 4, 2)).toEqual([1, 2, 3]);
  });

  it('decodes in a worker thread and takes the pixels back there when released', async () => {
    const p = await decoded({ bitsPerPixel: 24 });
    expect(at(p, 0, 0)).toEqual(RED);
    p.release();
    // transferred back to the decoding thread: detached here, so nothing is left to collect
    expect(p.data.buffer.byteLength).toBe(0);
    expect(() => p.release()).not.toThrow();
  });

  it('refuses a BMP the decoder fails on, naming the field', async () => {
    const bytes = bmpFile({ width: W, height: H, bitsPerPixel: 8, pixel: quadrants(W, H) });
    const header = checkImageHeader('FacePic', bufferReader(bytes), DEFAULT_IMAGE_LIMITS);
    // a header that disagrees with what bmp-ts decodes (one column more than the file has)
    await expect(decodeBmp('IDPic', bytes, { ...header, width: W + 1 })).rejects.toThrow(
      'IDPic: is a damaged or truncated BMP image',
    );
  });
});
