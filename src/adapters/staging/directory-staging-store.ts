/**
 * The staging store over a directory: the embedded default under `data/`, or a volume that the API
 * and the workers share (docker-compose). Objects are files `dir/<first 2 hex>/<digest>` (0600, in
 * directories 0700), so that no directory grows past a few thousand entries.
 *
 * A write goes to a temp file in the object's own directory, is flushed, then renamed over the
 * name: a reader sees a whole object or none, and a crash leaves at worst a `.<digest>.*.tmp` file,
 * which {@link DirectoryStagingStore.list} does not report. Concurrent puts of the same bytes in one
 * process share one write; two processes staging them at once both rename, and either envelope
 * decrypts to the same bytes.
 *
 * Names are hex digests (checked), so no `..` can climb out; the last component is opened with
 * `O_NOFOLLOW` and the shard directory is refused when it is a symbolic link, so a link planted in
 * the directory is never followed out of it (the check and the open are two calls: a writer of the
 * directory racing them is out of scope, as it could delete objects anyway).
 */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { lstat, mkdir, open, opendir, rename, unlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { STAGED_OVERHEAD_BYTES, StagingCipher } from './staging-cipher.js';
import {
  STAGING_FULL_RETRY_AFTER_MS,
  STAGING_RETRY_AFTER_MS,
  StagedObjectMissingError,
  StagedObjectUnreadableError,
  StagingUnavailableError,
} from './staging-errors.js';
import {
  SingleFlight,
  checkStagedRef,
  isDigest,
  stagedRefOf,
  type MaterialStagingStore,
  type StagedObjectInfo,
  type StagedRef,
} from './staging-store.js';

/** Options of {@link DirectoryStagingStore}. */
export interface DirectoryStagingStoreOptions {
  /** The root directory; created (0700, with its parents) on the first write when missing. */
  dir: string;
  /** The project's encryption key, 32 bytes (`loadOrCreateKey`). */
  key: Uint8Array;
}

// Absent on Windows: there the link checks rest on lstat alone.
const O_NOFOLLOW = constants.O_NOFOLLOW ?? 0;
// A FIFO planted at an object's name would block a plain open for ever.
const O_NONBLOCK = constants.O_NONBLOCK ?? 0;
const SHARD = /^[0-9a-f]{2}$/;
/** Failures that waiting does not cure: the configuration or the directory's owner must. */
const PERMANENT = new Set(['EACCES', 'EPERM', 'EROFS', 'ENOTDIR', 'EEXIST', 'EISDIR', 'ELOOP']);
/** What some platforms answer to fsync on a directory, which they do not support. */
const NO_DIRECTORY_SYNC = new Set(['EISDIR', 'EINVAL', 'EPERM', 'EBADF']);

export class DirectoryStagingStore implements MaterialStagingStore {
  readonly #dir: string;
  readonly #cipher: StagingCipher;
  readonly #writes = new SingleFlight();

  constructor(options: DirectoryStagingStoreOptions) {
    this.#dir = resolve(options.dir);
    this.#cipher = new StagingCipher(options.key);
  }

  async put(bytes: Uint8Array): Promise<StagedRef> {
    const ref = stagedRefOf(bytes);
    await this.#writes.run(ref.digest, () => this.#write(ref, bytes));
    return ref;
  }

  async #write(ref: StagedRef, bytes: Uint8Array): Promise<void> {
    const shard = await this.#makeShard(ref.digest);
    const path = join(shard, ref.digest);
    // A whole object is there already; one of another size (cut short) is written over.
    if ((await this.#sizeOf(path, 'put')) === ref.bytes + STAGED_OVERHEAD_BYTES) return;
    const temp = join(shard, `.${ref.digest}.${randomBytes(8).toString('hex')}.tmp`);
    try {
      const file = await open(
        temp,
        constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | O_NOFOLLOW,
        0o600,
      );
      try {
        await file.writeFile(this.#cipher.seal(bytes, ref.digest));
        // On disk before the name points at it: the ticket that will reference it comes next.
        await file.sync();
      } finally {
        await file.close();
      }
      await rename(temp, path);
      await syncDirectory(shard);
    } catch (err) {
      await unlink(temp).catch(() => undefined);
      throw fsFailure('put', err);
    }
  }

  async get(ref: StagedRef): Promise<Buffer> {
    checkStagedRef(ref);
    const shard = await this.#findShard(ref.digest, 'get');
    if (shard === undefined) throw new StagedObjectMissingError(ref.digest);
    let envelope: Buffer;
    try {
      const file = await open(
        join(shard, ref.digest),
        constants.O_RDONLY | O_NOFOLLOW | O_NONBLOCK,
      );
      try {
        if (!(await file.stat()).isFile()) {
          throw new StagedObjectUnreadableError(ref.digest, 'not a regular file');
        }
        envelope = await file.readFile();
      } finally {
        await file.close();
      }
    } catch (err) {
      if (err instanceof StagedObjectUnreadableError) throw err;
      const code = codeOf(err);
      if (code === 'ENOENT') throw new StagedObjectMissingError(ref.digest);
      if (code === 'ELOOP') {
        throw new StagedObjectUnreadableError(ref.digest, 'a symbolic link, not followed');
      }
      throw fsFailure('get', err);
    }
    return this.#cipher.open(envelope, ref);
  }

  async exists(ref: StagedRef): Promise<boolean> {
    checkStagedRef(ref);
    const shard = await this.#findShard(ref.digest, 'exists');
    if (shard === undefined) return false;
    return (await this.#sizeOf(join(shard, ref.digest), 'exists')) !== undefined;
  }

  async delete(ref: StagedRef): Promise<void> {
    checkStagedRef(ref);
    const shard = await this.#findShard(ref.digest, 'delete');
    if (shard === undefined) return;
    try {
      await unlink(join(shard, ref.digest));
    } catch (err) {
      if (codeOf(err) !== 'ENOENT') throw fsFailure('delete', err);
    }
  }

  async *list(): AsyncIterable<StagedObjectInfo> {
    for (const name of await this.#names(this.#dir)) {
      if (!SHARD.test(name)) continue;
      const shard = join(this.#dir, name);
      // Not the entry's d_type: some filesystems leave it unknown.
      const stat = await this.#lstat(shard, 'list');
      if (!stat?.isDirectory()) continue;
      for (const digest of await this.#names(shard)) {
        if (!isDigest(digest) || !digest.startsWith(name)) continue;
        const file = await this.#lstat(join(shard, digest), 'list');
        if (!file?.isFile()) continue;
        const bytes = Math.max(0, file.size - STAGED_OVERHEAD_BYTES);
        yield { digest, bytes, modifiedAt: Math.floor(file.mtimeMs) };
      }
    }
  }

  /** The object's directory, made (0700) when missing. */
  async #makeShard(digest: string): Promise<string> {
    try {
      await mkdir(join(this.#dir, digest.slice(0, 2)), { recursive: true, mode: 0o700 });
    } catch (err) {
      throw fsFailure('put', err);
    }
    const shard = await this.#findShard(digest, 'put');
    if (shard === undefined) throw fsFailure('put', { code: 'ENOENT' });
    return shard;
  }

  /**
   * The object's directory, or undefined when it is missing.
   * @throws StagingUnavailableError when it is not a directory (a symbolic link is not one)
   */
  async #findShard(digest: string, operation: string): Promise<string | undefined> {
    const shard = join(this.#dir, digest.slice(0, 2));
    const stat = await this.#lstat(shard, operation);
    if (stat === undefined) return undefined;
    if (!stat.isDirectory()) {
      throw new StagingUnavailableError(
        operation,
        `directory ${operation} failed: a shard is not a directory (symbolic links are not followed)`,
        { retryable: false },
      );
    }
    return shard;
  }

  /** The size of a regular file at `path`; undefined when there is none (or something else is). */
  async #sizeOf(path: string, operation: string): Promise<number | undefined> {
    const stat = await this.#lstat(path, operation);
    return stat?.isFile() ? stat.size : undefined;
  }

  async #lstat(path: string, operation: string) {
    try {
      return await lstat(path);
    } catch (err) {
      if (codeOf(err) === 'ENOENT') return undefined;
      throw fsFailure(operation, err);
    }
  }

  /** The names in a directory, read whole: the sweep deletes while it walks. */
  async #names(path: string): Promise<string[]> {
    const names: string[] = [];
    try {
      for await (const entry of await opendir(path)) names.push(entry.name);
    } catch (err) {
      if (codeOf(err) === 'ENOENT') return [];
      throw fsFailure('list', err);
    }
    return names;
  }
}

/** Makes a rename in `dir` durable (the new name is in the directory on disk). */
async function syncDirectory(dir: string): Promise<void> {
  let handle;
  try {
    handle = await open(dir, constants.O_RDONLY);
    await handle.sync();
  } catch (err) {
    if (!NO_DIRECTORY_SYNC.has(codeOf(err) ?? '')) throw err;
  } finally {
    await handle?.close();
  }
}

function codeOf(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** A filesystem failure as the registry's error, keeping only its name and code. */
function fsFailure(operation: string, err: unknown): StagingUnavailableError {
  if (err instanceof StagingUnavailableError) return err;
  const code = codeOf(err) ?? 'unknown';
  const name = err instanceof Error ? err.name : 'Error';
  const full = code === 'ENOSPC' || code === 'EDQUOT';
  const retryable = !PERMANENT.has(code);
  return new StagingUnavailableError(operation, `directory ${operation} failed (${code})`, {
    retryable,
    full,
    ...(retryable
      ? { retryAfterMs: full ? STAGING_FULL_RETRY_AFTER_MS : STAGING_RETRY_AFTER_MS }
      : {}),
    cause: { name, code },
  });
}
