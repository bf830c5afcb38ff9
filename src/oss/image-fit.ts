/**
 * Image checks before any provider call, and fitting under Cloudauth's 2 MB limit with sharp:
 * the type and size are read from the header and checked against the pixel limits before any
 * decoder runs (`image-header.ts`); then, one of at most `IMAGE_DECODE_CONCURRENCY` decodes in the
 * process (`decode-limit.ts`), the whole image is decoded (a truncated file is refused), and an
 * image over the limit is re-encoded as JPEG, then scaled down, until it fits. A BMP is decoded
 * with bmp-ts (`bmp.ts`) and always converted to JPEG. Every change is recorded.
 *
 * JPEG for a converted BMP, even one with transparency (flattened onto white): the materials are
 * photographs of a face or an ID card, JPEG is what cameras and Cloudauth's own examples use, and
 * a photograph is several times smaller as JPEG than as PNG.
 */
import sharp, { type SharpOptions } from 'sharp';
import { IMAGE_LIMIT_BYTES, type ImageType } from '../domain/binding.js';
import { ValidationError } from '../errors.js';
import { decodeBmp, type RawPixels } from './bmp.js';
import { defaultImageDecoding, type ImageDecoding } from './decode-limit.js';
import {
  SOURCE_LIMIT_BYTES,
  bufferReader,
  checkImageHeader,
  type ImageHeader,
  type ImageLimits,
} from './image-header.js';

export { SOURCE_LIMIT_BYTES };

// libvips's operation cache keeps up to 50 MB of recent results for reuse; every material is a
// different image, so it would only hold memory. Threads per image stay at sharp's default (one on
// glibc Linux, to limit fragmentation); how many images decode at once is the DecodeGate's job.
sharp.cache(false);

/** Scaling stops here: a shorter side under this would not show a face or an ID card legibly. */
export const MIN_SHORT_SIDE_PX = 480;

const QUALITY = 85;
const SCALE_MARGIN = 0.92;
const MAX_ATTEMPTS = 8;

/** How an image was changed to fit. */
export interface ImageChange {
  field: string;
  fromBytes: number;
  toBytes: number;
  fromType: ImageType;
  toType: ImageType;
  fromSize: { width: number; height: number };
  toSize: { width: number; height: number };
  quality: number;
}

/** An image ready to upload. */
export interface FittedImage {
  field: string;
  bytes: Buffer;
  type: ImageType;
  width: number;
  height: number;
  /** Present when the image was re-encoded, scaled or converted. */
  change?: ImageChange;
}

/** How {@link fitImage} works. */
export interface FitOptions {
  /** Largest image to upload, in bytes. Default {@link IMAGE_LIMIT_BYTES} (Cloudauth's 2 MB). */
  limitBytes?: number;
  /** The pixel limits and the process's decode gate. Default {@link defaultImageDecoding}. */
  decoding?: ImageDecoding;
}

/**
 * Checks that `bytes` is a whole JPEG, PNG or BMP image within the pixel limits and fits it
 * under the byte limit. Throws a {@link ValidationError} naming `field` when it is not an image,
 * is over the limits (refused from its header, before any decoding), is damaged, or cannot be
 * made to fit.
 */
export async function fitImage(
  field: string,
  bytes: Buffer,
  options: FitOptions = {},
): Promise<FittedImage> {
  const decoding = options.decoding ?? defaultImageDecoding();
  const header = checkSource(field, bytes, decoding.limits);
  return decoding.gate.run(() =>
    fitChecked(field, bytes, header, decoding.limits, options.limitBytes),
  );
}

/** The size and header checks of {@link fitImage}, which need no decoding. */
export function checkSource(field: string, bytes: Buffer, limits: ImageLimits): ImageHeader {
  if (bytes.length > SOURCE_LIMIT_BYTES) {
    throw new ValidationError(field, `is over ${SOURCE_LIMIT_BYTES / 1024 / 1024} MB`);
  }
  return checkImageHeader(field, bufferReader(bytes), limits);
}

/**
 * Decodes and fits an image whose header passed {@link checkSource}. Call it inside the process's
 * decode gate.
 */
export async function fitChecked(
  field: string,
  bytes: Buffer,
  header: ImageHeader,
  limits: ImageLimits,
  limitBytes = IMAGE_LIMIT_BYTES,
): Promise<FittedImage> {
  const from = { field, bytes: bytes.length, type: header.type, size: sizeOf(header) };
  if (header.type === 'bmp') {
    return encodeToFit(from, decodeBmp(field, bytes, header), limits, limitBytes);
  }
  const input: SharpOptions = { failOn: 'warning', limitInputPixels: limits.maxPixels };
  if (bytes.length <= limitBytes) {
    // decoded to the end to find damage; stats() keeps no pixels, unlike raw()
    try {
      await sharp(bytes, input).stats();
    } catch {
      throw damaged(field, header.type);
    }
    return { field, bytes, type: header.type, ...from.size };
  }
  let pixels: RawPixels;
  try {
    const out = await sharp(bytes, { ...input, autoOrient: true })
      .raw()
      .toBuffer({ resolveWithObject: true });
    const channels = out.info.channels;
    pixels = { data: out.data, width: out.info.width, height: out.info.height, channels };
  } catch {
    throw damaged(field, header.type);
  }
  return encodeToFit(from, pixels, limits, limitBytes);
}

interface Source {
  field: string;
  bytes: number;
  type: ImageType;
  size: { width: number; height: number };
}

/**
 * Encodes `pixels` as JPEG, scaled down until the result fits in `limitBytes`. JPEG size grows
 * about with the pixel count: each miss rescales by the square root of how far over the limit it
 * was, with a margin, so that a few encodings suffice.
 */
async function encodeToFit(
  from: Source,
  pixels: RawPixels,
  limits: ImageLimits,
  limitBytes: number,
): Promise<FittedImage> {
  const { width, height, channels } = pixels;
  let scale = 1;
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const w = Math.max(1, Math.round(width * scale));
    const h = Math.max(1, Math.round(height * scale));
    if (attempt > 0 && Math.min(w, h) < MIN_SHORT_SIDE_PX) break;
    let pipeline = sharp(pixels.data, {
      raw: { width, height, channels },
      limitInputPixels: limits.maxPixels,
    });
    if (channels === 2 || channels === 4) pipeline = pipeline.flatten({ background: '#ffffff' });
    if (w !== width || h !== height) pipeline = pipeline.resize(w, h);
    const out = await pipeline.jpeg({ quality: QUALITY }).toBuffer({ resolveWithObject: true });
    if (out.data.length <= limitBytes) {
      const to = { width: out.info.width, height: out.info.height };
      return {
        field: from.field,
        bytes: out.data,
        type: 'jpeg',
        ...to,
        change: {
          field: from.field,
          fromBytes: from.bytes,
          toBytes: out.data.length,
          fromType: from.type,
          toType: 'jpeg',
          fromSize: from.size,
          toSize: to,
          quality: QUALITY,
        },
      };
    }
    scale *= Math.min(SCALE_MARGIN, Math.sqrt(limitBytes / out.data.length) * SCALE_MARGIN);
  }
  throw new ValidationError(
    from.field,
    `cannot be brought under ${limitBytes} bytes without going below ${MIN_SHORT_SIDE_PX} px`,
  );
}

function sizeOf(header: ImageHeader): { width: number; height: number } {
  return { width: header.width, height: header.height };
}

function damaged(field: string, type: ImageType): ValidationError {
  return new ValidationError(field, `is a damaged or truncated ${type.toUpperCase()} image`);
}
