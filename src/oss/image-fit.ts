/**
 * Image checks before any provider call, and fitting under Cloudauth's 2 MB limit with sharp:
 * the type is sniffed from the bytes (JPEG, PNG, BMP), the whole image is decoded (a truncated
 * file is refused), and an image over the limit is re-encoded as JPEG, then scaled down, until it
 * fits. Every change is recorded.
 */
import sharp from 'sharp';
import {
  IMAGE_LIMIT_BYTES,
  describeNonImage,
  sniffImageType,
  type ImageType,
} from '../domain/binding.js';
import { ValidationError } from '../errors.js';

/** Largest input accepted before any decoding, in bytes. */
export const SOURCE_LIMIT_BYTES = 50 * 1024 * 1024;
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
  /** Present when the image was re-encoded or scaled. */
  change?: ImageChange;
}

/**
 * Checks that `bytes` is a whole JPEG, PNG or BMP image and fits it under `limit` bytes.
 * Throws a {@link ValidationError} naming `field` when it is not an image, is damaged, or cannot
 * be made to fit.
 */
export async function fitImage(
  field: string,
  bytes: Buffer,
  limit = IMAGE_LIMIT_BYTES,
): Promise<FittedImage> {
  if (bytes.length > SOURCE_LIMIT_BYTES) {
    throw new ValidationError(field, `is over ${SOURCE_LIMIT_BYTES / 1024 / 1024} MB`);
  }
  const type = sniffImageType(bytes);
  if (type === undefined) throw new ValidationError(field, describeNonImage(bytes));
  let width: number;
  let height: number;
  try {
    const decoded = await sharp(bytes, { failOn: 'warning' })
      .raw()
      .toBuffer({ resolveWithObject: true });
    ({ width, height } = decoded.info);
  } catch {
    throw new ValidationError(field, `is a damaged or truncated ${type.toUpperCase()} image`);
  }
  if (bytes.length <= limit) return { field, bytes, type, width, height };

  const oriented = await sharp(bytes).rotate().toBuffer({ resolveWithObject: true });
  const from = { width: oriented.info.width, height: oriented.info.height };
  // JPEG size grows about with the pixel count: each miss rescales by the square root of how far
  // over the limit it was, with a margin, so that a few encodings suffice.
  let scale = 1;
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const w = Math.round(from.width * scale);
    const h = Math.round(from.height * scale);
    if (Math.min(w, h) < MIN_SHORT_SIDE_PX) break;
    const out = await sharp(oriented.data)
      .resize(w, h)
      .jpeg({ quality: QUALITY })
      .toBuffer({ resolveWithObject: true });
    if (out.data.length <= limit) {
      const to = { width: out.info.width, height: out.info.height };
      return {
        field,
        bytes: out.data,
        type: 'jpeg',
        ...to,
        change: {
          field,
          fromBytes: bytes.length,
          toBytes: out.data.length,
          fromType: type,
          toType: 'jpeg',
          fromSize: { width, height },
          toSize: to,
          quality: QUALITY,
        },
      };
    }
    scale *= Math.min(SCALE_MARGIN, Math.sqrt(limit / out.data.length) * SCALE_MARGIN);
  }
  throw new ValidationError(
    field,
    `cannot be brought under ${limit} bytes without going below ${MIN_SHORT_SIDE_PX} px`,
  );
}
