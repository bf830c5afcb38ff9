/**
 * Image checks before any provider call, and fitting under Cloudauth's 2 MB limit with sharp:
 * the type and size are read from the header and checked against the pixel limits before any
 * decoder runs (`image-header.ts`); then, once the process's decode budget
 * (`IMAGE_DECODE_BUDGET_PIXELS`, `decode-limit.ts`) has room for its pixels, the whole image is
 * decoded (a truncated file is refused), and an image over the limit is re-encoded as JPEG, then
 * scaled down, until it fits. A JPEG or PNG is streamed through sharp from its bytes at each
 * attempt, never held decoded; a BMP is decoded with bmp-ts in a worker thread (`bmp.ts`) and
 * always converted to JPEG. Every change is recorded.
 *
 * JPEG for a converted BMP, even one with transparency (flattened onto white): the materials are
 * photographs of a face or an ID card, JPEG is what cameras and Cloudauth's own examples use, and
 * a photograph is several times smaller as JPEG than as PNG.
 */
import sharp, { type OutputInfo, type Sharp, type SharpOptions } from 'sharp';
import { IMAGE_LIMIT_BYTES, type ImageType } from '../../domain/binding.js';
import { ValidationError } from '../../errors.js';
import { decodeBmp } from './bmp.js';
import { decodeWeight, defaultImageDecoding, type ImageDecoding } from './decode-limit.js';
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
/**
 * No Huffman optimisation: libjpeg then keeps every coefficient of the image to count them before
 * writing (about 160 MB at 25 MP) instead of streaming rows out, for files a few percent smaller.
 */
const ENCODING = { quality: QUALITY, optimiseCoding: false } as const;
/** The damage check's encoding: the output is dropped, so as cheap as possible. */
const CHECK_ENCODING = { quality: 1, optimiseCoding: false } as const;
/** Images up to this many pixels are checked by a decode into a buffer (3 bytes a pixel). */
const RAW_CHECK_MAX_PIXELS = 1_000_000;
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
  return decoding.gate.run(decodeWeight(header.type, header), () =>
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
    const pixels = await decodeBmp(field, bytes, header);
    try {
      const raw = { width: pixels.width, height: pixels.height, channels: pixels.channels };
      return await encodeToFit(from, limitBytes, () =>
        sharp(pixels.data, { raw, limitInputPixels: limits.maxPixels }),
      );
    } finally {
      pixels.release();
    }
  }
  const input: SharpOptions = { failOn: 'warning', limitInputPixels: limits.maxPixels };
  if (bytes.length <= limitBytes) {
    // decoded to the end to find damage. A small image is decoded into a buffer (raw(), at most
    // 3 MB here, and a third cheaper than an encoder); a larger one is streamed into a JPEG
    // encoder whose output is dropped: stats() finds the same damage but holds about 80 MB at
    // 25 MP, raw() the whole image, and a shrinking resize lets libjpeg skip work that finds damage
    const check =
      header.width * header.height <= RAW_CHECK_MAX_PIXELS
        ? sharp(bytes, input).raw()
        : sharp(bytes, input).jpeg(CHECK_ENCODING);
    try {
      await check.toBuffer();
    } catch {
      throw damaged(field, header.type);
    }
    return { field, bytes, type: header.type, ...from.size };
  }
  // each attempt decodes the source again, row by row into the encoder (sequential read), rather
  // than holding the decoded image (75 MB at 25 MP) in a buffer between attempts; the first, at
  // full size, also finds damage
  return encodeToFit(
    from,
    limitBytes,
    () => sharp(bytes, { ...input, autoOrient: true }),
    () => damaged(field, header.type),
  );
}

interface Source {
  field: string;
  bytes: number;
  type: ImageType;
  size: { width: number; height: number };
}

/**
 * Encodes the image of `source()` (a new sharp pipeline at each call) as JPEG, scaled down until
 * the result fits in `limitBytes`. JPEG size grows about with the pixel count: each miss rescales
 * by the square root of how far over the limit it was, with a margin, so that a few encodings
 * suffice. A failing encode throws `onError()` when given.
 */
async function encodeToFit(
  from: Source,
  limitBytes: number,
  source: () => Sharp,
  onError?: () => Error,
): Promise<FittedImage> {
  // the size after orientation, which the first attempt (at full size) tells
  let width = 0;
  let height = 0;
  let scale = 1;
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const w = Math.max(1, Math.round(width * scale));
    const h = Math.max(1, Math.round(height * scale));
    if (attempt > 0 && Math.min(w, h) < MIN_SHORT_SIDE_PX) break;
    // flattening onto white is a no-op without alpha
    let pipeline = source().flatten({ background: '#ffffff' });
    if (attempt > 0) pipeline = pipeline.resize(w, h);
    let out: { data: Buffer; info: OutputInfo };
    try {
      out = await pipeline.jpeg(ENCODING).toBuffer({ resolveWithObject: true });
    } catch (err) {
      throw onError?.() ?? err;
    }
    if (attempt === 0) ({ width, height } = out.info);
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
