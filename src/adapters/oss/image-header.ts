/**
 * An image's type and size read from its header alone, never by decoding it: the pixel limits are
 * enforced here, at intake (HTTP, producer, CLI preflight) and again in the worker before any
 * decoder runs, so a decompression bomb (a 776 KB PNG of 16000×16000 pixels inflates to 768 MB)
 * is refused for the few bytes of its header.
 *
 * - JPEG: the frame header (SOFn) found by walking the marker segments before the first scan.
 * - PNG: the IHDR chunk, which the format puts first.
 * - BMP: the file header and BITMAPINFOHEADER (or its V2–V5 extensions), checked so that the
 *   decoder (`bmp-ts`, see `bmp.ts`) is only ever given a layout it reads correctly and a file long
 *   enough for the pixel rows the header declares.
 *
 * Pure and synchronous: the bytes come through a {@link ByteReader}, over a buffer or a file.
 */
import { describeNonImage, sniffImageType, type ImageType } from '../../domain/binding.js';
import { ValidationError } from '../../errors.js';
import { CONFIG_DEFAULTS } from '../../config.js';

/** Largest input accepted before any decoding, in bytes. */
export const SOURCE_LIMIT_BYTES = 50 * 1024 * 1024;

/** How large an image may be; enforced from the header, before any decoding. */
export interface ImageLimits {
  /** Most pixels (width × height) an image may have. */
  maxPixels: number;
  /** Longest side an image may have, in pixels. */
  maxSidePx: number;
}

/** The defaults of `IMAGE_MAX_PIXELS` and `IMAGE_MAX_SIDE_PX`, from the configuration's declaration. */
export const DEFAULT_IMAGE_LIMITS: Readonly<ImageLimits> = {
  maxPixels: CONFIG_DEFAULTS.images.maxPixels,
  maxSidePx: CONFIG_DEFAULTS.images.maxSidePx,
};

/** Random access to the bytes of an image; `read` answers fewer bytes at the end of the data. */
export interface ByteReader {
  /** Length of the whole data, in bytes. */
  readonly size: number;
  read(offset: number, length: number): Uint8Array;
}

/** A {@link ByteReader} over bytes in memory. */
export function bufferReader(bytes: Uint8Array): ByteReader {
  return { size: bytes.length, read: (offset, length) => bytes.subarray(offset, offset + length) };
}

/** BMP compression methods the decoder reads correctly. */
export const BMP_COMPRESSION = { RGB: 0, BITFIELDS: 3, ALPHA_BITFIELDS: 6 } as const;

/** Where a BMP's parts are, as checked for the decoder. */
export interface BmpLayout {
  headerSize: number;
  bitsPerPixel: 1 | 4 | 8 | 16 | 24 | 32;
  compression: (typeof BMP_COMPRESSION)[keyof typeof BMP_COMPRESSION];
  /** Rows stored first to last (a negative height); otherwise bottom-up. */
  topDown: boolean;
  /** The alpha channel's bit mask; 0 when the format has none. */
  alphaMask: number;
  /** Where the decoder starts reading pixels: right after the header, masks and palette. */
  pixelsExpectedAt: number;
  /** Where the file header says the pixel rows start (at or after `pixelsExpectedAt`). */
  pixelsAt: number;
  /** Bytes of pixel rows, each padded to four bytes. */
  pixelBytes: number;
}

/** What the header says. */
export interface ImageHeader {
  type: ImageType;
  width: number;
  height: number;
  /** For a BMP, its checked layout. */
  bmp?: BmpLayout;
}

/** Segments walked before a JPEG's frame header; real files have a few dozen. */
const JPEG_MAX_SEGMENTS = 1024;
/** Fill bytes (0xFF) accepted before one JPEG marker. */
const JPEG_MAX_FILL_BYTES = 1024;
const UINT31_MAX = 0x7fffffff;

/**
 * Reads the type and size of an image from its header and checks them against `limits`.
 * Throws a {@link ValidationError} naming `field` when it is not a JPEG, PNG or BMP, when the
 * header is damaged or cut short, when it is a BMP variant the decoder cannot read, or when it is
 * over the limits; the message gives the size in pixels, never any of the bytes.
 */
export function checkImageHeader(
  field: string,
  reader: ByteReader,
  limits: ImageLimits,
): ImageHeader {
  const header = readImageHeader(field, reader);
  checkImageSize(field, header, limits);
  if (header.bmp && header.bmp.pixelsAt + header.bmp.pixelBytes > reader.size) {
    throw damaged(field, 'bmp');
  }
  return header;
}

/** Throws a {@link ValidationError} naming `field` when `size` is over `limits`. */
export function checkImageSize(
  field: string,
  size: { width: number; height: number },
  limits: ImageLimits,
): void {
  const { width, height } = size;
  const pixels = width * height;
  if (pixels > limits.maxPixels) {
    const [is, max] = pixelCounts(pixels, limits.maxPixels);
    throw new ValidationError(field, `is ${width}×${height} px (${is}), over the limit of ${max}`);
  }
  if (Math.max(width, height) > limits.maxSidePx) {
    throw new ValidationError(
      field,
      `is ${width}×${height} px, over the limit of ${limits.maxSidePx} px on its longer side`,
    );
  }
}

/** Both counts in megapixels (one decimal under 100), or exact when they would read the same. */
function pixelCounts(pixels: number, max: number): [string, string] {
  const mp = (n: number) => {
    const m = n / 1_000_000;
    return `${m >= 100 ? Math.round(m) : Number(m.toFixed(1))} MP`;
  };
  if (mp(pixels) !== mp(max)) return [mp(pixels), mp(max)];
  const exact = (n: number) => `${n.toLocaleString('en-US')} px`;
  return [exact(pixels), exact(max)];
}

/** The header of a JPEG, PNG or BMP; throws a {@link ValidationError} naming `field`. */
export function readImageHeader(field: string, reader: ByteReader): ImageHeader {
  const head = reader.read(0, 32);
  const type = sniffImageType(head);
  if (type === undefined) throw new ValidationError(field, describeNonImage(head));
  switch (type) {
    case 'png':
      return pngHeader(field, reader);
    case 'jpeg':
      return jpegHeader(field, reader);
    case 'bmp':
      return bmpHeader(field, reader);
  }
}

function damaged(field: string, type: ImageType): ValidationError {
  return new ValidationError(field, `is a damaged or truncated ${type.toUpperCase()} image`);
}

/** Exactly `length` bytes at `offset`, or undefined when the data ends first. */
function readExactly(reader: ByteReader, offset: number, length: number): Buffer | undefined {
  const bytes = reader.read(offset, length);
  if (bytes.length < length) return undefined;
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function pngHeader(field: string, reader: ByteReader): ImageHeader {
  // signature (8), then the IHDR chunk: length 13, "IHDR", width, height, …
  const ihdr = readExactly(reader, 8, 8 + 13);
  if (!ihdr || ihdr.readUInt32BE(0) !== 13 || ihdr.toString('latin1', 4, 8) !== 'IHDR') {
    throw damaged(field, 'png');
  }
  const width = ihdr.readUInt32BE(8);
  const height = ihdr.readUInt32BE(12);
  if (width === 0 || height === 0 || width > UINT31_MAX || height > UINT31_MAX) {
    throw damaged(field, 'png');
  }
  return { type: 'png', width, height };
}

/** SOF0–SOF15 except DHT (C4), JPG (C8) and DAC (CC): the frame headers. */
function isFrameHeader(marker: number): boolean {
  return marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
}

function jpegHeader(field: string, reader: ByteReader): ImageHeader {
  let pos = 2;
  for (let segments = 0; segments < JPEG_MAX_SEGMENTS; segments++) {
    const prefix = readExactly(reader, pos, 2);
    if (!prefix || prefix[0] !== 0xff) throw damaged(field, 'jpeg');
    let marker = prefix[1] ?? 0;
    pos += 2;
    // fill bytes: 0xFF before a marker. The format allows any number; encoders write a few, and a
    // run of megabytes of them would make this loop the slow part of intake.
    for (let fill = 0; marker === 0xff; fill++) {
      const next = fill < JPEG_MAX_FILL_BYTES ? readExactly(reader, pos, 1) : undefined;
      if (!next) throw damaged(field, 'jpeg');
      marker = next[0] ?? 0;
      pos += 1;
    }
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) continue; // no length
    if (marker === 0xd8 || marker === 0xd9 || marker === 0xda || marker === 0x00) {
      throw damaged(field, 'jpeg'); // a second SOI, the end, or a scan before any frame header
    }
    const lengthBytes = readExactly(reader, pos, 2);
    if (!lengthBytes) throw damaged(field, 'jpeg');
    const length = lengthBytes.readUInt16BE(0);
    if (length < 2) throw damaged(field, 'jpeg');
    if (isFrameHeader(marker)) {
      // length (2), precision (1), height (2), width (2), components (1)
      const frame = readExactly(reader, pos, 8);
      if (!frame || length < 8) throw damaged(field, 'jpeg');
      const height = frame.readUInt16BE(3);
      const width = frame.readUInt16BE(5);
      // a height of 0 defers it to a DNL marker after the first scan, which libjpeg refuses
      if (width === 0 || height === 0) throw damaged(field, 'jpeg');
      return { type: 'jpeg', width, height };
    }
    pos += length;
  }
  throw damaged(field, 'jpeg');
}

/** Header sizes the decoder knows: BITMAPINFOHEADER and its V2, V3, V4 and V5 extensions. */
const BMP_HEADER_SIZES = new Set([40, 52, 56, 108, 124]);
const BMP_BITS = new Set([1, 4, 8, 16, 24, 32]);

function bmpHeader(field: string, reader: ByteReader): ImageHeader {
  const fileHeader = readExactly(reader, 0, 18);
  if (!fileHeader) throw damaged(field, 'bmp');
  const pixelsAt = fileHeader.readUInt32LE(10);
  const headerSize = fileHeader.readUInt32LE(14);
  if (headerSize === 12 || headerSize === 64 || headerSize === 16) {
    throw new ValidationError(
      field,
      'is an OS/2 BMP, which is not supported; send a Windows BMP, a JPEG or a PNG',
    );
  }
  if (!BMP_HEADER_SIZES.has(headerSize)) throw damaged(field, 'bmp');
  const info = readExactly(reader, 14, headerSize);
  if (!info) throw damaged(field, 'bmp');
  const width = info.readInt32LE(4);
  const rawHeight = info.readInt32LE(8);
  const planes = info.readUInt16LE(12);
  const bits = info.readUInt16LE(14);
  const compression = info.readUInt32LE(16);
  const colours = info.readUInt32LE(32);
  if (width <= 0 || rawHeight === 0 || rawHeight === -0x80000000 || planes !== 1) {
    throw damaged(field, 'bmp');
  }
  if (!BMP_BITS.has(bits)) throw damaged(field, 'bmp');
  const height = Math.abs(rawHeight);
  if (compression === 1 || compression === 2) {
    throw new ValidationError(
      field,
      'is a run-length encoded BMP, which is not supported; send it uncompressed, as JPEG or as PNG',
    );
  }
  if (compression === 4 || compression === 5) {
    throw new ValidationError(
      field,
      'is a BMP wrapping a JPEG or PNG, which is not supported; send the JPEG or PNG itself',
    );
  }
  const masked =
    compression === BMP_COMPRESSION.BITFIELDS || compression === BMP_COMPRESSION.ALPHA_BITFIELDS;
  if (!(compression === BMP_COMPRESSION.RGB || (masked && (bits === 16 || bits === 32)))) {
    throw damaged(field, 'bmp');
  }
  // bmp-ts stops after the first row of a 4-bit image of odd width
  if (bits === 4 && width % 2 === 1) {
    throw new ValidationError(
      field,
      'is a 4-bit BMP of odd width, which is not supported; send it as 8- or 24-bit, JPEG or PNG',
    );
  }
  if (bits <= 8 ? colours > 2 ** bits : colours > 256) throw damaged(field, 'bmp');

  // Where bmp-ts reads: the colour masks after a 40-byte header (inside the longer ones), then
  // the palette, then the pixels, with no seek to the offset the file header gives.
  let expected = 14 + 40;
  if (headerSize > 40 || masked) expected += 12;
  if (headerSize > 52 || compression === BMP_COMPRESSION.ALPHA_BITFIELDS) expected += 4;
  if (headerSize > 56) expected += 108 - 56;
  if (headerSize > 108) expected += 124 - 108;
  let alphaMask = 0;
  if (headerSize > 52 || compression === BMP_COMPRESSION.ALPHA_BITFIELDS) {
    const mask = readExactly(reader, 14 + 52, 4);
    if (!mask) throw damaged(field, 'bmp');
    alphaMask = mask.readUInt32LE(0);
  }
  if (bits <= 8 || colours > 0) expected += 4 * (colours === 0 ? 2 ** bits : colours);
  if (pixelsAt < expected) throw damaged(field, 'bmp');

  const rowBytes = Math.floor((width * bits + 31) / 32) * 4;
  return {
    type: 'bmp',
    width,
    height,
    bmp: {
      headerSize,
      bitsPerPixel: bits as BmpLayout['bitsPerPixel'],
      compression: compression,
      topDown: rawHeight < 0,
      // BI_RGB has no alpha (the high byte of a 32-bit pixel is unused), whatever the masks say
      alphaMask: masked ? alphaMask : 0,
      pixelsExpectedAt: expected,
      pixelsAt,
      pixelBytes: rowBytes * height,
    },
  };
}
