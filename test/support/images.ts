/**
 * Test images made in code: no binary fixtures in the repository. JPEG and PNG come from sharp;
 * BMP files and image headers claiming huge sizes are written byte by byte.
 */
import { deflateSync } from 'node:zlib';
import sharp from 'sharp';

/** A deterministic pseudo-random RGB buffer (noise compresses badly: big files from small sizes). */
function noise(width: number, height: number, seed: number): Buffer {
  const out = Buffer.alloc(width * height * 3);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < out.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

export function noiseJpeg(width: number, height: number, seed = 1, quality = 95): Promise<Buffer> {
  return sharp(noise(width, height, seed), { raw: { width, height, channels: 3 } })
    .jpeg({ quality })
    .toBuffer();
}

export function noisePng(width: number, height: number, seed = 2): Promise<Buffer> {
  return sharp(noise(width, height, seed), { raw: { width, height, channels: 3 } })
    .png()
    .toBuffer();
}

/** A small flat-colour JPEG. */
export function smallJpeg(colour = '#c0ffee'): Promise<Buffer> {
  return sharp({ create: { width: 64, height: 64, channels: 3, background: colour } })
    .jpeg()
    .toBuffer();
}

/** A small flat-colour PNG. */
export function smallPng(colour = '#123456'): Promise<Buffer> {
  return sharp({ create: { width: 64, height: 64, channels: 3, background: colour } })
    .png()
    .toBuffer();
}

/** The first bytes of a PDF document. */
export const PDF = Buffer.from('%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n%%EOF\n');

/** A colour as red, green, blue and alpha (0–255; alpha 255 when omitted). */
export type Rgba = readonly [number, number, number, number?];

/** What {@link bmpFile} writes. */
export interface BmpSpec {
  width: number;
  height: number;
  bitsPerPixel: 8 | 24 | 32;
  /** The colour at (x, y), y counted from the top. */
  pixel: (x: number, y: number) => Rgba;
  /** Rows stored top row first (a negative height). Default bottom-up, the usual order. */
  topDown?: boolean;
  /** BITMAPINFOHEADER (40), BITMAPV4HEADER (108) or BITMAPV5HEADER (124). Default 40. */
  headerSize?: 40 | 108 | 124;
  /** 32-bit only: BI_BITFIELDS with explicit masks (alpha included in V4/V5 headers). */
  bitfields?: boolean;
  /** Bytes left unused between the palette and the pixel rows (the file header points past). */
  gap?: number;
}

/**
 * A BMP written byte by byte from the format's definition (file header, info header, masks,
 * palette, padded rows), independent of any BMP library, so that a decoder can be checked
 * against it.
 */
export function bmpFile(spec: BmpSpec): Buffer {
  const { width, height, bitsPerPixel: bits } = spec;
  const headerSize = spec.headerSize ?? 40;
  const bitfields = bits === 32 && spec.bitfields === true;
  const palette: Rgba[] = [];
  const indexOf = new Map<string, number>();
  if (bits === 8) {
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const c = spec.pixel(x, y);
        const k = c.slice(0, 3).join(',');
        if (!indexOf.has(k)) {
          indexOf.set(k, palette.length);
          palette.push(c);
        }
      }
    }
    if (palette.length > 256) throw new Error('an 8-bit BMP has at most 256 colours');
  }
  const masksAfterHeader = bitfields && headerSize === 40 ? 12 : 0;
  const gap = spec.gap ?? 0;
  const pixelsAt = 14 + headerSize + masksAfterHeader + palette.length * 4 + gap;
  const rowBytes = Math.floor((width * bits + 31) / 32) * 4;
  const size = pixelsAt + rowBytes * height;
  const out = Buffer.alloc(size);
  out.write('BM', 0, 'latin1');
  out.writeUInt32LE(size, 2);
  out.writeUInt32LE(pixelsAt, 10);
  out.writeUInt32LE(headerSize, 14);
  out.writeInt32LE(width, 18);
  out.writeInt32LE(spec.topDown ? -height : height, 22);
  out.writeUInt16LE(1, 26);
  out.writeUInt16LE(bits, 28);
  out.writeUInt32LE(bitfields ? 3 : 0, 30);
  out.writeUInt32LE(rowBytes * height, 34);
  out.writeInt32LE(2835, 38);
  out.writeInt32LE(2835, 42);
  out.writeUInt32LE(palette.length, 46);
  const masks = [0x00ff0000, 0x0000ff00, 0x000000ff, 0xff000000];
  if (headerSize >= 108) {
    if (bitfields) masks.forEach((m, i) => out.writeUInt32LE(m >>> 0, 54 + 4 * i));
    out.write('BGRs', 70, 'latin1'); // LCS_sRGB, little-endian 'sRGB'
  } else if (bitfields) {
    masks.slice(0, 3).forEach((m, i) => out.writeUInt32LE(m, 54 + 4 * i));
  }
  const paletteAt = 14 + headerSize + masksAfterHeader;
  palette.forEach(([r, g, b], i) => {
    out[paletteAt + 4 * i] = b;
    out[paletteAt + 4 * i + 1] = g;
    out[paletteAt + 4 * i + 2] = r;
  });
  for (let y = 0; y < height; y++) {
    const row = pixelsAt + rowBytes * (spec.topDown ? y : height - 1 - y);
    for (let x = 0; x < width; x++) {
      const [r, g, b, a = 255] = spec.pixel(x, y);
      if (bits === 8) out[row + x] = indexOf.get(`${r},${g},${b}`) ?? 0;
      else {
        const o = row + x * (bits / 8);
        out[o] = b;
        out[o + 1] = g;
        out[o + 2] = r;
        if (bits === 32) out[o + 3] = bitfields ? a : 0;
      }
    }
  }
  return out;
}

/** Four quadrants: red top left, green top right, blue bottom left, white bottom right. */
export function quadrants(width: number, height: number): (x: number, y: number) => Rgba {
  return (x, y) => {
    const right = x >= width / 2;
    const bottom = y >= height / 2;
    if (!bottom) return right ? [0, 255, 0] : [255, 0, 0];
    return right ? [255, 255, 255] : [0, 0, 255];
  };
}

/**
 * A real decompression bomb: a flat-colour PNG of `width`×`height` pixels (16000×16000 is 768 MB
 * decoded, about 780 KB as PNG). Made with the pixel limit lifted, in the generator only.
 */
export function pngBomb(width = 16_000, height = 16_000): Promise<Buffer> {
  return sharp({
    create: { width, height, channels: 3, background: '#808080' },
    limitInputPixels: false,
  })
    .png({ compressionLevel: 9 })
    .toBuffer();
}

/** CRC-32 as PNG chunks use it (zlib's crc32 is Node 20.15+; the project supports 20.9). */
function crc32(bytes: Buffer): number {
  let crc = 0xffffffff;
  for (const byte of bytes) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0xedb88320 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

function pngChunk(type: string, data: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const out = Buffer.alloc(8 + data.length + 4);
  out.writeUInt32BE(data.length, 0);
  body.copy(out, 4);
  out.writeUInt32BE(crc32(body), 8 + data.length);
  return out;
}

/** A PNG whose IHDR claims `width`×`height` and whose image data is a few bytes. */
export function pngClaiming(width: number, height: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8); // 8 bits, truecolour, deflate, adaptive filter, no interlace
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', ihdr),
    pngChunk('IDAT', deflateSync(Buffer.alloc(64))),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

/** A JPEG whose frame header (SOF0) claims `width`×`height`, after a JFIF segment; no scan. */
export function jpegClaiming(width: number, height: number): Buffer {
  const app0 = Buffer.from([
    0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00, 0x01, 0x01, 0x00, 0x00, 0x01, 0x00, 0x01,
    0x00, 0x00,
  ]);
  const sof = Buffer.alloc(2 + 2 + 15);
  sof.set([0xff, 0xc0, 0x00, 0x11, 0x08], 0);
  sof.writeUInt16BE(height, 5);
  sof.writeUInt16BE(width, 7);
  sof.set([3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1], 9);
  return Buffer.concat([Buffer.from([0xff, 0xd8]), app0, sof, Buffer.from([0xff, 0xd9])]);
}

/** A 24-bit BMP whose header claims `width`×`height` (negative: top-down), with no pixel rows. */
export function bmpClaiming(width: number, height: number): Buffer {
  const out = Buffer.alloc(54);
  out.write('BM', 0, 'latin1');
  out.writeUInt32LE(54, 2);
  out.writeUInt32LE(54, 10);
  out.writeUInt32LE(40, 14);
  out.writeInt32LE(width, 18);
  out.writeInt32LE(height, 22);
  out.writeUInt16LE(1, 26);
  out.writeUInt16LE(24, 28);
  return out;
}
