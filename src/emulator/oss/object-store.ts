/**
 * The OSS emulator's objects: in memory, and optionally also as files `dataDir/<bucket>/<key>`
 * (written atomically: a temp file in `dataDir/.tmp`, then renamed) with their metadata in
 * `dataDir/.meta/<bucket>/<sha256(key)>.json`. Reads try memory first, then the files, so a
 * second emulator on the same `dataDir` sees what the first one stored; listings read the files
 * when there is a `dataDir` (they hold every object), else memory.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, type Dir } from 'node:fs';
import { mkdir, opendir, readFile, rename, rm, rmdir, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import { ListingSelection, type ListingQuery } from './object-listing.js';
import { ObjectPathConflictError } from './oss-errors.js';

/** The values of `x-oss-server-side-encryption` OSS accepts on PutObject. */
export const SERVER_SIDE_ENCRYPTIONS = ['AES256', 'KMS', 'SM4'] as const;
export type ServerSideEncryption = (typeof SERVER_SIDE_ENCRYPTIONS)[number];

/** Whether `value` is one of {@link SERVER_SIDE_ENCRYPTIONS}. */
export function isServerSideEncryption(value: unknown): value is ServerSideEncryption {
  return (SERVER_SIDE_ENCRYPTIONS as readonly unknown[]).includes(value);
}

/** One stored object. */
export interface StoredObject {
  body: Buffer;
  /** As given at upload; `application/octet-stream` when none was. */
  contentType: string;
  /** MD5 of the body, upper-case hex, without quotes. */
  md5Hex: string;
  /** ms since the epoch. */
  lastModified: number;
  /** As given at upload in `x-oss-server-side-encryption`; undefined when none was. */
  serverSideEncryption?: ServerSideEncryption;
}

/** An object as a listing shows it (no body). */
export interface ObjectSummary {
  key: string;
  size: number;
  md5Hex: string;
  lastModified: number;
}

/** One page of a listing: objects and common prefixes in order, and whether more follow. */
export interface ListingPage {
  entries: Array<{ object: ObjectSummary } | { commonPrefix: string }>;
  truncated: boolean;
}

interface MetaFile {
  key: string;
  contentType: string;
  md5Hex: string;
  lastModified: number;
  /** Body length when written; absent in files of older emulators. */
  size?: number;
  serverSideEncryption?: ServerSideEncryption;
}

/** Longest object key OSS accepts, in UTF-8 bytes. */
export const MAX_KEY_BYTES = 1023;

/**
 * Why a key cannot be stored, or undefined when it can. Stricter than OSS so that every key maps
 * to one file under `dataDir`: no leading `/` or `\`, no empty, `.` or `..` segments, no trailing
 * `/`, no NUL, at most {@link MAX_KEY_BYTES} bytes.
 */
export function objectKeyProblem(key: string): string | undefined {
  if (key === '') return 'the object key is empty';
  if (Buffer.byteLength(key, 'utf8') > MAX_KEY_BYTES) {
    return `the object key is longer than ${MAX_KEY_BYTES} bytes`;
  }
  if (key.startsWith('/') || key.startsWith('\\'))
    return 'the object key must not start with / or \\';
  if (key.includes('\0')) return 'the object key must not contain NUL';
  if (key.endsWith('/')) return 'keys ending in / (directory markers) are not emulated';
  for (const segment of key.split('/')) {
    if (segment === '' || segment === '.' || segment === '..') {
      return 'the object key must not contain empty, "." or ".." path segments';
    }
  }
  return undefined;
}

/** MD5 of a body as upper-case hex (the ETag without quotes). */
export function md5Hex(body: Buffer): string {
  return createHash('md5').update(body).digest('hex').toUpperCase();
}

export interface ObjectStoreOptions {
  /** Keep files under this directory as well as in memory. Default: memory only. */
  dataDir?: string;
}

/** Objects by bucket and key; keys are assumed valid ({@link objectKeyProblem}). */
export class ObjectStore {
  private readonly memory = new Map<string, StoredObject>();
  private readonly queues = new Map<string, Promise<unknown>>();
  private readonly dataDir: string | undefined;

  constructor(options: ObjectStoreOptions = {}) {
    this.dataDir = options.dataDir === undefined ? undefined : resolve(options.dataDir);
  }

  /**
   * Stores an object, replacing any with the same key unless `overwrite` is false; then an
   * existing object stays and the answer is false. The check and the write are one step per key
   * within this process (two emulators sharing a `dataDir` can both write).
   * @throws ObjectPathConflictError when `dataDir` already holds a file or directory in its way
   */
  put(
    bucket: string,
    key: string,
    object: StoredObject,
    options: { overwrite?: boolean } = {},
  ): Promise<boolean> {
    return this.serial(bucket, key, async () => {
      if (options.overwrite === false && (await this.has(bucket, key))) return false;
      if (this.dataDir !== undefined) await this.writeFiles(this.dataDir, bucket, key, object);
      this.memory.set(memoryKey(bucket, key), object);
      return true;
    });
  }

  /** The object, or undefined when there is none. */
  async get(bucket: string, key: string): Promise<StoredObject | undefined> {
    const held = this.memory.get(memoryKey(bucket, key));
    if (held !== undefined || this.dataDir === undefined) return held;
    return this.readFiles(this.dataDir, bucket, key);
  }

  /**
   * One page of the bucket's listing (see `object-listing.ts`). Every key of the bucket under the
   * prefix's directory is read once per page, and at most `maxKeys + 1` are held.
   */
  async list(bucket: string, query: ListingQuery): Promise<ListingPage> {
    const selection = new ListingSelection(query);
    if (this.dataDir === undefined) {
      const start = memoryKey(bucket, '');
      for (const id of this.memory.keys()) {
        if (id.startsWith(start)) selection.offer(id.slice(start.length));
      }
    } else {
      await walkKeys(join(this.dataDir, bucket), query.prefix, (key) => selection.offer(key));
    }
    const { entries, truncated } = selection.result();
    const page: ListingPage = { entries: [], truncated };
    for (const entry of entries) {
      if (entry.prefix) {
        page.entries.push({ commonPrefix: entry.value });
        continue;
      }
      // An object deleted since the walk is left out.
      const object = await this.summary(bucket, entry.value);
      if (object !== undefined) page.entries.push({ object });
    }
    return page;
  }

  /** Removes the object; nothing happens when there is none. */
  delete(bucket: string, key: string): Promise<void> {
    return this.serial(bucket, key, async () => {
      this.memory.delete(memoryKey(bucket, key));
      if (this.dataDir === undefined) return;
      const file = objectPath(this.dataDir, bucket, key);
      await rm(file, { force: true });
      await rm(metaPath(this.dataDir, bucket, key), { force: true });
      await pruneEmptyDirs(dirname(file), join(this.dataDir, bucket));
    });
  }

  private async has(bucket: string, key: string): Promise<boolean> {
    if (this.memory.has(memoryKey(bucket, key))) return true;
    if (this.dataDir === undefined) return false;
    try {
      return (await stat(objectPath(this.dataDir, bucket, key))).isFile();
    } catch (err) {
      if (isMissing(err)) return false;
      throw err;
    }
  }

  /** Size, ETag and time of an object without reading its body when the metadata is whole. */
  private async summary(bucket: string, key: string): Promise<ObjectSummary | undefined> {
    const held = this.memory.get(memoryKey(bucket, key));
    if (held !== undefined || this.dataDir === undefined) {
      return held === undefined ? undefined : { key, ...summaryOf(held) };
    }
    const file = objectPath(this.dataDir, bucket, key);
    let size: number;
    let mtimeMs: number;
    try {
      const stats = await stat(file);
      if (!stats.isFile()) return undefined;
      ({ size, mtimeMs } = stats);
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw err;
    }
    const meta = await readMeta(metaPath(this.dataDir, bucket, key));
    // The metadata's MD5 is trusted only while the file keeps the size it was written with.
    const md5 = meta?.size === size ? meta.md5Hex : await md5HexOfFile(file);
    return { key, size, md5Hex: md5, lastModified: meta?.lastModified ?? Math.floor(mtimeMs) };
  }

  private serial<T>(bucket: string, key: string, task: () => Promise<T>): Promise<T> {
    const id = memoryKey(bucket, key);
    const previous = this.queues.get(id) ?? Promise.resolve();
    const run = previous.then(task, task);
    const settled = run.then(
      () => undefined,
      () => undefined,
    );
    this.queues.set(id, settled);
    void settled.then(() => {
      if (this.queues.get(id) === settled) this.queues.delete(id);
    });
    return run;
  }

  private async writeFiles(
    dir: string,
    bucket: string,
    key: string,
    object: StoredObject,
  ): Promise<void> {
    const file = objectPath(dir, bucket, key);
    const tmpDir = join(dir, '.tmp');
    await mkdir(tmpDir, { recursive: true });
    const tmp = join(tmpDir, randomBytes(12).toString('hex'));
    const meta: MetaFile = {
      key,
      contentType: object.contentType,
      md5Hex: object.md5Hex,
      lastModified: object.lastModified,
      size: object.body.length,
      ...(object.serverSideEncryption ? { serverSideEncryption: object.serverSideEncryption } : {}),
    };
    try {
      await writeFile(tmp, object.body);
      try {
        await mkdir(dirname(file), { recursive: true });
        await rename(tmp, file);
      } catch (err) {
        if (isPathConflict(err)) throw new ObjectPathConflictError(key);
        throw err;
      }
      const metaFile = metaPath(dir, bucket, key);
      await mkdir(dirname(metaFile), { recursive: true });
      await writeFile(`${tmp}.json`, JSON.stringify(meta));
      await rename(`${tmp}.json`, metaFile);
    } finally {
      await rm(tmp, { force: true });
      await rm(`${tmp}.json`, { force: true });
    }
  }

  private async readFiles(
    dir: string,
    bucket: string,
    key: string,
  ): Promise<StoredObject | undefined> {
    const file = objectPath(dir, bucket, key);
    let body: Buffer;
    let mtimeMs: number;
    try {
      body = await readFile(file);
      mtimeMs = (await stat(file)).mtimeMs;
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw err;
    }
    const meta = await readMeta(metaPath(dir, bucket, key));
    return {
      body,
      contentType: meta?.contentType ?? 'application/octet-stream',
      md5Hex: md5Hex(body),
      lastModified: meta?.lastModified ?? Math.floor(mtimeMs),
      ...(meta?.serverSideEncryption ? { serverSideEncryption: meta.serverSideEncryption } : {}),
    };
  }
}

function summaryOf(object: StoredObject): Omit<ObjectSummary, 'key'> {
  return { size: object.body.length, md5Hex: object.md5Hex, lastModified: object.lastModified };
}

async function md5HexOfFile(file: string): Promise<string> {
  const hash = createHash('md5');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex').toUpperCase();
}

/**
 * Calls `visit` with the key of every regular file under `bucketDir`, in no particular order,
 * holding one directory handle at a time and a stack of the directories still to read. It starts
 * from the prefix's directory when that is a plain path (`staging/` → `bucketDir/staging`), so a
 * listing under a prefix does not read the rest of the bucket.
 */
async function walkKeys(
  bucketDir: string,
  prefix: string,
  visit: (key: string) => void,
): Promise<void> {
  const slash = prefix.lastIndexOf('/');
  const dirKey = slash < 0 ? '' : prefix.slice(0, slash);
  const start = dirKey !== '' && objectKeyProblem(dirKey) === undefined ? dirKey : '';
  const pending: string[] = [start];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const base = next;
    let dir: Dir;
    try {
      dir = await opendir(base === '' ? bucketDir : join(bucketDir, ...base.split('/')));
    } catch (err) {
      if (isMissing(err)) continue;
      throw err;
    }
    for await (const entry of dir) {
      const key = base === '' ? entry.name : `${base}/${entry.name}`;
      if (entry.isDirectory()) pending.push(key);
      else if (entry.isFile()) visit(key);
    }
  }
}

function memoryKey(bucket: string, key: string): string {
  return `${bucket}/${key}`;
}

function objectPath(dir: string, bucket: string, key: string): string {
  const root = join(dir, bucket);
  const file = join(root, ...key.split('/'));
  if (!file.startsWith(root + sep)) throw new Error(`object key escapes ${root}`);
  return file;
}

function metaPath(dir: string, bucket: string, key: string): string {
  const digest = createHash('sha256').update(key, 'utf8').digest('hex');
  return join(dir, '.meta', bucket, `${digest}.json`);
}

async function readMeta(file: string): Promise<MetaFile | undefined> {
  try {
    const parsed = JSON.parse(await readFile(file, 'utf8')) as Partial<MetaFile>;
    if (
      typeof parsed.contentType !== 'string' ||
      typeof parsed.lastModified !== 'number' ||
      typeof parsed.md5Hex !== 'string'
    ) {
      return undefined;
    }
    const { serverSideEncryption, size, ...rest } = parsed as MetaFile;
    return {
      ...rest,
      ...(isServerSideEncryption(serverSideEncryption) ? { serverSideEncryption } : {}),
      ...(typeof size === 'number' ? { size } : {}),
    };
  } catch (err) {
    if (isMissing(err) || err instanceof SyntaxError) return undefined;
    throw err;
  }
}

async function pruneEmptyDirs(from: string, stopAt: string): Promise<void> {
  let dir = from;
  while (dir.startsWith(stopAt + sep)) {
    try {
      await rmdir(dir);
    } catch {
      return;
    }
    dir = dirname(dir);
  }
}

function errnoCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string'
    ? err.code
    : undefined;
}

function isMissing(err: unknown): boolean {
  const code = errnoCode(err);
  return code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR';
}

function isPathConflict(err: unknown): boolean {
  const code = errnoCode(err);
  return code === 'ENOTDIR' || code === 'EISDIR' || code === 'EEXIST' || code === 'ENOTEMPTY';
}
