/**
 * Brings a material's bytes into memory: a local file (size-checked before it is read) or bytes
 * already given. URLs and `oss://` references are passed to Cloudauth as they are.
 */
import { open } from 'node:fs/promises';
import type { MaterialSource } from '../domain/binding.js';
import { ValidationError } from '../errors.js';
import { SOURCE_LIMIT_BYTES, fitImage, type FittedImage } from './image-fit.js';

/** A material ready for Cloudauth: a fitted image to upload, or a reference to pass on. */
export type ReadyMaterial =
  { kind: 'image'; image: FittedImage } | { kind: 'reference'; field: string; value: string };

/** Reads a local file of at most {@link SOURCE_LIMIT_BYTES}; errors name the field, not the path. */
export async function readMaterialFile(field: string, path: string): Promise<Buffer> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT'
        ? 'file does not exist'
        : code === 'EACCES'
          ? 'file is not readable'
          : code === 'EISDIR'
            ? 'is a directory, not a file'
            : `file cannot be opened (${code ?? 'unknown error'})`;
    throw new ValidationError(field, why);
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

/** Loads, checks and fits one material; references pass through unchanged. */
export async function prepareMaterial(
  field: string,
  source: MaterialSource,
): Promise<ReadyMaterial> {
  switch (source.kind) {
    case 'url':
      return { kind: 'reference', field, value: source.url };
    case 'oss':
      return { kind: 'reference', field, value: source.ref };
    case 'bytes':
      return { kind: 'image', image: await fitImage(field, source.data) };
    case 'file':
      return {
        kind: 'image',
        image: await fitImage(field, await readMaterialFile(field, source.path)),
      };
  }
}
