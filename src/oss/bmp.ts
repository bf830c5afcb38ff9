/**
 * BMP to raw pixels, for sharp to encode. sharp's prebuilt libvips has no BMP loader, so a BMP is
 * decoded here with `bmp-ts` and always converted (to JPEG, in `image-fit.ts`) before upload:
 * whether Cloudauth's image checks take BMP is not certain from its documentation, and what we
 * upload is then always a JPEG or PNG, which it does take.
 *
 * `bmp-ts` is given only what its reader handles correctly, as `checkImageHeader` checked: 1, 4
 * (even width), 8, 16, 24 and 32 bits, uncompressed or with bit fields, bottom-up or top-down, the
 * pixel rows all present (so it never allocates for rows that are not there). It reads the pixels
 * right after the palette without looking at the file header's offset, and for a 16- or 32-bit
 * BI_RGB image takes the masks of a V4/V5 header even though they mean nothing there; the file is
 * therefore handed to it with the pixel rows moved up to where it reads them and, for BI_RGB, the
 * standard masks written in.
 */
import { decode } from 'bmp-ts';
import { ValidationError } from '../errors.js';
import { BMP_COMPRESSION, type ImageHeader } from './image-header.js';

/** Decoded pixels, 8 bits per sample, rows top to bottom; 2 and 4 channels carry alpha last. */
export interface RawPixels {
  data: Buffer;
  width: number;
  height: number;
  channels: 1 | 2 | 3 | 4;
}

/**
 * Decodes a BMP whose header passed `checkImageHeader`. Throws a {@link ValidationError} naming
 * `field` when the decoder fails on it.
 */
export function decodeBmp(field: string, bytes: Buffer, header: ImageHeader): RawPixels {
  const layout = header.bmp;
  if (!layout) throw new Error('decodeBmp needs the checked layout of a BMP header');
  const { width, height } = header;
  let data: Buffer;
  try {
    const image = decode(normalized(bytes, layout));
    data = image.data;
    if (image.width !== width || image.height !== height || data.length !== width * height * 4) {
      throw new Error('size mismatch');
    }
  } catch {
    throw new ValidationError(field, 'is a damaged or truncated BMP image');
  }
  return fromAbgr(data, width, height, layout.alphaMask !== 0);
}

/** The header, masks and palette as bmp-ts reads them, then the pixel rows right after. */
function normalized(bytes: Buffer, layout: NonNullable<ImageHeader['bmp']>): Buffer {
  const { pixelsExpectedAt: at, pixelsAt, pixelBytes, headerSize } = layout;
  const out = Buffer.allocUnsafe(at + pixelBytes);
  bytes.copy(out, 0, 0, at);
  bytes.copy(out, at, pixelsAt, pixelsAt + pixelBytes);
  if (layout.compression === BMP_COMPRESSION.RGB && headerSize > 40) {
    const [red, green, blue] =
      layout.bitsPerPixel === 16 ? [0x7c00, 0x03e0, 0x001f] : [0xff0000, 0x00ff00, 0x0000ff];
    out.writeUInt32LE(red, 54);
    out.writeUInt32LE(green, 58);
    out.writeUInt32LE(blue, 62);
    if (headerSize > 52) out.writeUInt32LE(0, 66);
  }
  return out;
}

/**
 * bmp-ts writes every depth as A, B, G, R bytes (its RGBA option is not honoured by the 1-, 4- and
 * 8-bit readers, so it is not used). Reordered in place: RGB, or RGBA when the image has an alpha
 * mask and real transparency (an alpha channel of all zeros, as some writers leave it, is opaque).
 */
function fromAbgr(data: Buffer, width: number, height: number, hasAlphaMask: boolean): RawPixels {
  const pixels = width * height;
  let transparent = false;
  if (hasAlphaMask) {
    let anyVisible = false;
    let anyTranslucent = false;
    for (let i = 0; i < pixels && !(anyVisible && anyTranslucent); i++) {
      const a = data[4 * i] ?? 0;
      if (a !== 0) anyVisible = true;
      if (a !== 255) anyTranslucent = true;
    }
    transparent = anyVisible && anyTranslucent;
  }
  if (transparent) {
    for (let i = 0; i < pixels; i++) {
      const o = 4 * i;
      const a = data[o] ?? 0;
      const b = data[o + 1] ?? 0;
      data[o] = data[o + 3] ?? 0;
      data[o + 1] = data[o + 2] ?? 0;
      data[o + 2] = b;
      data[o + 3] = a;
    }
    return { data, width, height, channels: 4 };
  }
  // pixel i is read before it is written, and written at 3i..3i+2, below 4(i+1) where the next
  // one starts: compacting forwards never overwrites a byte still to be read
  for (let i = 0; i < pixels; i++) {
    const o = 4 * i;
    const r = data[o + 3] ?? 0;
    const g = data[o + 2] ?? 0;
    const b = data[o + 1] ?? 0;
    data[3 * i] = r;
    data[3 * i + 1] = g;
    data[3 * i + 2] = b;
  }
  return { data: data.subarray(0, pixels * 3), width, height, channels: 3 };
}
