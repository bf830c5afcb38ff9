/**
 * Brings a material's bytes into memory: a local file (its size and header checked before it is
 * read whole) or bytes already given. URLs and `oss://` references are passed to Cloudauth as they
 * are. Reading a file whole and decoding it happen inside the process's decode gate.
 */
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { open } from 'node:fs/promises';
import type { MaterialSource } from '../../domain/binding.js';
import { ValidationError } from '../../errors.js';
import { decodeWeight, defaultImageDecoding, type ImageDecoding } from './decode-limit.js';
import { checkSource, fitChecked, fitImage, type FittedImage } from './image-fit.js';
import {
  SOURCE_LIMIT_BYTES,
  checkImageHeader,
  type ByteReader,
  type ImageHeader,
  type ImageLimits,
} from './image-header.js';

/** A material ready for Cloudauth: a fitted image to upload, or a reference to pass on. */
export type ReadyMaterial =
  { kind: 'image'; image: FittedImage } | { kind: 'reference'; field: string; value: string };

/** Bytes read from a file per read when only its header is wanted. */
const HEADER_WINDOW_BYTES = 4096;

function openProblem(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ENOENT'
    ? 'file does not exist'
    : code === 'EACCES'
      ? 'file is not readable'
      : code === 'EISDIR'
        ? 'is a directory, not a file'
        : `file cannot be opened (${code ?? 'unknown error'})`;
}

/**
 * How a material file is opened: read-only and without blocking, so that a named pipe (or a
 * device) given as a photo opens at once and is refused as not a regular file; opened plainly, it
 * would wait for a writer forever. O_NONBLOCK changes nothing for a regular file's reads.
 */
const OPEN_FLAGS = constants.O_RDONLY | constants.O_NONBLOCK;

/**
 * Checks a local image file without reading it whole: it exists, is a regular file of at most
 * {@link SOURCE_LIMIT_BYTES}, and its header is a JPEG, PNG or BMP within `limits` (a few KB are
 * read, 4 KB at a time: a JPEG's frame header may follow large metadata segments, skipped over).
 * Synchronous on purpose: a handful of system calls per file, about ten times faster than as many
 * thread-pool round trips, which counts for a CSV of 100,000 rows. Errors name the field, never
 * the path.
 */
export function checkImageFile(field: string, path: string, limits: ImageLimits): ImageHeader {
  let fd: number;
  try {
    fd = openSync(path, OPEN_FLAGS);
  } catch (err) {
    throw new ValidationError(field, openProblem(err));
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) throw new ValidationError(field, 'is not a regular file');
    if (stat.size > SOURCE_LIMIT_BYTES) {
      throw new ValidationError(field, `file is over ${SOURCE_LIMIT_BYTES / 1024 / 1024} MB`);
    }
    return checkImageHeader(field, fileReader(fd, stat.size), limits);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (err instanceof ValidationError || typeof code !== 'string') throw err;
    throw new ValidationError(field, `file cannot be read (${code})`);
  } finally {
    closeSync(fd);
  }
}

/** A {@link ByteReader} over an open file that reads (and keeps) one window at a time. */
function fileReader(fd: number, size: number): ByteReader {
  let start = 0;
  let window = Buffer.alloc(0);
  return {
    size,
    read(offset, length) {
      if (offset >= size || length <= 0) return new Uint8Array(0);
      if (offset < start || offset + length > start + window.length) {
        start = offset;
        const buffer = Buffer.alloc(Math.min(Math.max(length, HEADER_WINDOW_BYTES), size - offset));
        window = buffer.subarray(0, readSync(fd, buffer, 0, buffer.length, offset));
      }
      return window.subarray(offset - start, offset - start + length);
    },
  };
}

/** Reads a local file of at most {@link SOURCE_LIMIT_BYTES}; errors name the field, not the path. */
export async function readMaterialFile(field: string, path: string): Promise<Buffer> {
  let handle;
  try {
    handle = await open(path, OPEN_FLAGS);
  } catch (err) {
    throw new ValidationError(field, openProblem(err));
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) throw new ValidationError(field, 'is not a regular file');
    if (stat.size > SOURCE_LIMIT_BYTES) {
      throw new ValidationError(field, `file is over ${SOURCE_LIMIT_BYTES / 1024 / 1024} MB`);
    }
    return await handle.readFile();
  } finally {
    await handle.close();
  }
}

/**
 * Loads, checks and fits one material; references pass through unchanged. An image over the
 * pixel limits is refused from its header, before it is decoded (and, for a file, before it is
 * read whole).
 */
export async function prepareMaterial(
  field: string,
  source: MaterialSource,
  decoding: ImageDecoding = defaultImageDecoding(),
): Promise<ReadyMaterial> {
  switch (source.kind) {
    case 'url':
      return { kind: 'reference', field, value: source.url };
    case 'oss':
      return { kind: 'reference', field, value: source.ref };
    case 'bytes':
      return { kind: 'image', image: await fitImage(field, source.data, { decoding }) };
    case 'file': {
      const checked = checkImageFile(field, source.path, decoding.limits);
      const image = await decoding.gate.run(decodeWeight(checked.type, checked), async () => {
        // the file may have changed since its header was read: the bytes are checked again
        const bytes = await readMaterialFile(field, source.path);
        const header = checkSource(field, bytes, decoding.limits);
        return fitChecked(field, bytes, header, decoding.limits);
      });
      return { kind: 'image', image };
    }
  }
}
