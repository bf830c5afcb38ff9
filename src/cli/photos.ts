/**
 * `enqueue --photos DIR` and `enqueue --photos photos.zip`: where the image columns of the rows
 * are found when the list and its photos are handed over apart (one spreadsheet, one folder or
 * one ZIP). A row's image path is then a path inside that folder or archive, and nothing else:
 *
 * - `\` reads as `/` (lists typed on Windows), `./` and doubled slashes are ignored;
 * - an absolute path (`/…`, `C:…`, `file://…`) is refused, and so is any `..` segment in an
 *   archive; in a folder, a path that leads outside it once resolved is refused, and so is one
 *   whose real path (symbolic links followed) does;
 * - an archive is read in place (see `zip-archive.ts`), never unpacked to disk; each entry is
 *   bounded by the CLI's own size limit for an image file ({@link SOURCE_LIMIT_BYTES}) from its
 *   declared size and again while it inflates, and its header is checked as a file's is.
 *
 * A row's located photo is carried as an absolute path: the file in the folder, or for an archive
 * `<archive path>/<entry>`, a path no file system holds (the archive is a file), which only this
 * module reads; the intake is handed an archive's bytes instead (see `enqueue-rows.ts`). Messages
 * name the field and the reason, never the path (it may carry a name).
 */
import { realpathSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { extname, isAbsolute, relative, resolve, sep } from 'node:path';
import { ValidationError } from '../errors.js';
import {
  SOURCE_LIMIT_BYTES,
  bufferReader,
  checkImageHeader,
  type ImageLimits,
} from '../adapters/oss/image-header.js';
import { checkImageFile } from '../adapters/oss/material-loader.js';
import { usageError } from './exit-codes.js';
import { normaliseEntryPath, ZipArchive, ZipEntryError } from './zip-archive.js';

/** A folder or an archive of photos. */
export interface PhotoSource {
  readonly kind: 'folder' | 'archive';
  /** The folder or archive, absolute. */
  readonly path: string;
  /** Photos in the archive (undefined for a folder); entries refused by name (undefined too). */
  readonly entries?: number;
  readonly refusedEntries?: number;
  /**
   * The located path of a row's image path, or a {@link ValidationError} on `field` when it is
   * absolute or leads outside.
   */
  locate(field: string, value: string): string;
  /** Throws a {@link ValidationError} on `field` when the located photo cannot be a material. */
  check(field: string, located: string, limits: ImageLimits): Promise<void>;
  /** Whether the intake cannot read `located` from the file system itself (an archive's entry). */
  inArchive(located: string): boolean;
  /** The located photo's bytes; a {@link ValidationError} on `field` when they cannot be read. */
  read(field: string, located: string): Promise<Buffer>;
  close(): void;
}

/** A path as a row gives it, with `\` read as `/`; a ValidationError when it is absolute. */
function relativeOf(field: string, value: string, where: string): string {
  const path = value.trim().replace(/\\/g, '/');
  // parseMaterialSource has turned a file:// URL into an absolute path already
  if (path.startsWith('/') || /^[A-Za-z]:/.test(path) || /^file:/i.test(path)) {
    throw new ValidationError(
      field,
      `is an absolute path: with --photos, give the path inside the photos ${where}`,
    );
  }
  return path;
}

/** The photos at `path` (relative to `cwd`): a folder, or a `.zip` archive opened here. */
export async function openPhotos(path: string, cwd: string): Promise<PhotoSource> {
  const full = resolve(cwd, path);
  let isDirectory: boolean;
  try {
    isDirectory = statSync(full).isDirectory();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw usageError(`--photos ${full} does not exist`);
    throw usageError(`--photos: cannot read ${full} (${code ?? 'unknown error'})`);
  }
  if (isDirectory) return new PhotoFolder(full);
  if (extname(full).toLowerCase() !== '.zip') {
    throw usageError(`--photos ${full}: give a folder or a .zip archive`);
  }
  let archive: ZipArchive;
  try {
    archive = await ZipArchive.open(full);
  } catch (err) {
    if (err instanceof ZipEntryError) throw usageError(`--photos ${full} ${err.message}`);
    const code = (err as NodeJS.ErrnoException).code;
    throw usageError(
      `--photos ${full} is not a ZIP archive that can be read${code === undefined ? '' : ` (${code})`}`,
    );
  }
  return new PhotoArchive(full, archive);
}

class PhotoFolder implements PhotoSource {
  readonly kind = 'folder';
  readonly #real: string;

  constructor(readonly path: string) {
    this.#real = realpathSync(path);
  }

  locate(field: string, value: string): string {
    const located = resolve(this.path, relativeOf(field, value, 'folder'));
    if (!inside(this.path, located)) {
      throw new ValidationError(field, 'leads outside the photos folder (..)');
    }
    return located;
  }

  check(field: string, located: string, limits: ImageLimits): Promise<void> {
    let real: string | undefined;
    try {
      real = realpathSync(located);
    } catch {
      // a missing or unreadable file: the file check below says which
    }
    if (real !== undefined && !inside(this.#real, real)) {
      throw new ValidationError(field, 'leads outside the photos folder (a symbolic link)');
    }
    checkImageFile(field, real ?? located, limits);
    return Promise.resolve();
  }

  inArchive(): boolean {
    return false;
  }

  async read(field: string, located: string): Promise<Buffer> {
    try {
      return await readFile(located);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'unreadable';
      throw new ValidationError(field, `cannot be read (${code})`);
    }
  }

  close(): void {}
}

class PhotoArchive implements PhotoSource {
  readonly kind = 'archive';
  readonly entries: number;
  readonly refusedEntries: number;
  readonly #prefix: string;

  constructor(
    readonly path: string,
    private readonly archive: ZipArchive,
  ) {
    this.entries = archive.size;
    this.refusedEntries = archive.refused;
    this.#prefix = `${path}/`;
  }

  locate(field: string, value: string): string {
    const path = relativeOf(field, value, 'archive');
    if (path.split('/').includes('..')) {
      throw new ValidationError(field, 'leads outside the photos archive (..)');
    }
    const name = normaliseEntryPath(path);
    if (name === '') throw new ValidationError(field, 'names no file in the photos archive');
    return `${this.#prefix}${name}`;
  }

  async check(field: string, located: string, limits: ImageLimits): Promise<void> {
    const bytes = await this.read(field, located);
    checkImageHeader(field, bufferReader(bytes), limits);
  }

  inArchive(located: string): boolean {
    return located.startsWith(this.#prefix);
  }

  async read(field: string, located: string): Promise<Buffer> {
    if (!this.inArchive(located)) throw new ValidationError(field, 'is not in the photos archive');
    const name = located.slice(this.#prefix.length);
    try {
      return await this.archive.read(name, SOURCE_LIMIT_BYTES);
    } catch (err) {
      if (err instanceof ZipEntryError) {
        throw new ValidationError(field, err.message.replace('the archive', 'the photos archive'));
      }
      throw err;
    }
  }

  close(): void {
    this.archive.close();
  }
}

/** Whether `path` is strictly inside `dir` (both absolute). */
function inside(dir: string, path: string): boolean {
  const rel = relative(dir, path);
  return rel !== '' && !rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel);
}
