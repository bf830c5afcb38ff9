/**
 * The staging store over a directory: the embedded default under `data/`, or a volume that the API
 * and the workers share (docker-compose). A ticket's objects are the files
 * `dir/<first 2 hex of sha256(TicketId)>/<base64url(TicketId)>/<digest>` (0600, in directories
 * 0700): one directory per ticket, so that erasing a ticket removes its directory, and 256 shards
 * so that no directory grows past a few thousand tickets.
 *
 * A write goes to a temp file `.<digest>.<random>.tmp` in the ticket's directory, is flushed, then
 * renamed over the name: a reader sees a whole object or none, and a crash leaves at worst a temp
 * file, which {@link DirectoryStagingStore.tickets} counts and
 * {@link DirectoryStagingStore.deleteTicket} removes. Concurrent puts of the same bytes for the
 * same ticket in one process share one write; two processes staging them at once both rename, and
 * either envelope decrypts to the same bytes.
 *
 * Names are checked before they become paths (a TicketId is base64url-encoded, a digest is 64 hex
 * digits), so no `..` can climb out. The last component is opened with `O_NOFOLLOW`, and a shard or
 * ticket directory that is a symbolic link is refused (by deleteTicket, unlinked), so a link
 * planted in the directory is never followed out of it. A check and the call after it are two
 * system calls: a writer of the directory racing them is out of scope, as it could delete objects
 * anyway.
 */
import { createHash, randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { lstat, mkdir, open, opendir, rename, rm, rmdir, unlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { stagedTicketName, ticketIdOfStagedName } from './staged-ticket-name.js';
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
  type MaterialStagingStore,
  type StagedRef,
  type StagedTicketInfo,
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
/** Passes of deleteTicket over a directory that a concurrent put keeps filling. */
const DELETE_PASSES = 3;

/** Where one ticket's objects live. */
interface TicketPlace {
  shard: string;
  dir: string;
}

export class DirectoryStagingStore implements MaterialStagingStore {
  readonly #dir: string;
  readonly #cipher: StagingCipher;
  readonly #writes = new SingleFlight();

  constructor(options: DirectoryStagingStoreOptions) {
    this.#dir = resolve(options.dir);
    this.#cipher = new StagingCipher(options.key);
  }

  async put(ticketId: string, bytes: Uint8Array): Promise<StagedRef> {
    const place = this.#placeOf(ticketId);
    const ref = this.#cipher.refOf(bytes);
    await this.#writes.run(join(place.dir, ref.digest), () => this.#write(place, ref, bytes));
    return ref;
  }

  async #write(place: TicketPlace, ref: StagedRef, bytes: Uint8Array): Promise<void> {
    await this.#makeTicketDir(place);
    const path = join(place.dir, ref.digest);
    // A whole object is there already; one of another size (cut short) is written over.
    if ((await this.#sizeOf(path, 'put')) === ref.bytes + STAGED_OVERHEAD_BYTES) return;
    const temp = join(place.dir, `.${ref.digest}.${randomBytes(8).toString('hex')}.tmp`);
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
      await syncDirectory(place.dir);
    } catch (err) {
      await unlink(temp).catch(() => undefined);
      // A refused intake keeps no ticket, so nothing would ever erase an empty directory left here.
      await rmdir(place.dir).catch(() => undefined);
      throw fsFailure('put', err);
    }
  }

  async get(ticketId: string, ref: StagedRef): Promise<Buffer> {
    const place = this.#placeOf(ticketId);
    checkStagedRef(ref);
    if (!(await this.#findTicketDir(place, 'get'))) throw new StagedObjectMissingError(ref.digest);
    let envelope: Buffer;
    try {
      const file = await open(
        join(place.dir, ref.digest),
        constants.O_RDONLY | O_NOFOLLOW | O_NONBLOCK,
      );
      try {
        const stat = await file.stat();
        if (!stat.isFile()) {
          throw new StagedObjectUnreadableError(ref.digest, 'not a regular file');
        }
        // its size is known from the reference: nothing larger is read into memory
        if (stat.size !== ref.bytes + STAGED_OVERHEAD_BYTES) {
          throw new StagedObjectUnreadableError(ref.digest, 'its size differs from the reference');
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

  async exists(ticketId: string, ref: StagedRef): Promise<boolean> {
    const place = this.#placeOf(ticketId);
    checkStagedRef(ref);
    if (!(await this.#findTicketDir(place, 'exists'))) return false;
    return (await this.#sizeOf(join(place.dir, ref.digest), 'exists')) !== undefined;
  }

  async deleteTicket(ticketId: string): Promise<number> {
    const operation = 'deleteTicket';
    const place = this.#placeOf(ticketId);
    const shard = await this.#lstat(place.shard, operation);
    if (shard === undefined) return 0;
    if (!shard.isDirectory()) throw notADirectory(operation);
    const dir = await this.#lstat(place.dir, operation);
    if (dir === undefined) return 0;
    if (!dir.isDirectory()) {
      // A link (or a stranger's file) where the ticket's directory belongs: removed, not followed.
      await this.#unlink(place.dir, operation);
      return 0;
    }
    let removed = 0;
    for (let pass = 1; ; pass++) {
      for (const name of await this.#names(place.dir, operation)) {
        removed += await this.#remove(join(place.dir, name), operation);
      }
      try {
        await rmdir(place.dir);
        return removed;
      } catch (err) {
        const code = codeOf(err);
        if (code === 'ENOENT') return removed;
        // A put for the ticket landed meanwhile (ENOTEMPTY, or EEXIST on some systems).
        if ((code !== 'ENOTEMPTY' && code !== 'EEXIST') || pass === DELETE_PASSES) {
          throw fsFailure(operation, err);
        }
      }
    }
  }

  async *tickets(): AsyncIterable<StagedTicketInfo> {
    const operation = 'tickets';
    for (const shardName of await this.#names(this.#dir, operation)) {
      if (!SHARD.test(shardName)) continue;
      const shard = join(this.#dir, shardName);
      // Not the entry's d_type: some filesystems leave it unknown.
      if (!(await this.#lstat(shard, operation))?.isDirectory()) continue;
      for (const name of await this.#names(shard, operation)) {
        const ticketId = ticketIdOfStagedName(name);
        if (ticketId === undefined || shardOf(ticketId) !== shardName) continue;
        const dir = join(shard, name);
        if (!(await this.#lstat(dir, operation))?.isDirectory()) continue;
        const info = await this.#ticketInfo(ticketId, dir);
        if (info.objects > 0) yield info;
      }
    }
  }

  async check(): Promise<void> {
    const probe = join(this.#dir, `.probe.${randomBytes(8).toString('hex')}`);
    try {
      await mkdir(this.#dir, { recursive: true, mode: 0o700 });
      const file = await open(
        probe,
        constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | O_NOFOLLOW,
        0o600,
      );
      try {
        await file.writeFile('probe');
      } finally {
        await file.close();
      }
      await unlink(probe);
    } catch (err) {
      await unlink(probe).catch(() => undefined);
      throw fsFailure('check', err);
    }
  }

  /**
   * The ticket's shard and directory.
   * @throws ValidationError field `TicketId` for a malformed TicketId, before any path is made
   */
  #placeOf(ticketId: string): TicketPlace {
    const name = stagedTicketName(ticketId);
    const shard = join(this.#dir, shardOf(ticketId));
    return { shard, dir: join(shard, name) };
  }

  /** Every entry of a ticket's directory counts: objects, temp files, anything else put there. */
  async #ticketInfo(ticketId: string, dir: string): Promise<StagedTicketInfo> {
    let objects = 0;
    let newestAt = 0;
    for (const name of await this.#names(dir, 'tickets')) {
      const stat = await this.#lstat(join(dir, name), 'tickets');
      if (stat === undefined) continue;
      objects += 1;
      newestAt = Math.max(newestAt, Math.floor(stat.mtimeMs));
    }
    return { ticketId, objects, newestAt };
  }

  /** The root, the shard and the ticket's directory, made (0700) where missing. */
  async #makeTicketDir(place: TicketPlace): Promise<void> {
    try {
      await mkdir(this.#dir, { recursive: true, mode: 0o700 });
    } catch (err) {
      throw fsFailure('put', err);
    }
    // One level at a time: a recursive mkdir would create the ticket's directory through a link.
    for (const dir of [place.shard, place.dir]) {
      try {
        await mkdir(dir, { mode: 0o700 });
      } catch (err) {
        if (codeOf(err) !== 'EEXIST') throw fsFailure('put', err);
      }
      const stat = await this.#lstat(dir, 'put');
      if (stat === undefined) throw fsFailure('put', { code: 'ENOENT' });
      if (!stat.isDirectory()) throw notADirectory('put');
    }
  }

  /**
   * Whether the ticket's directory is there.
   * @throws StagingUnavailableError when it or its shard is not a directory (a link is not one)
   */
  async #findTicketDir(place: TicketPlace, operation: string): Promise<boolean> {
    for (const dir of [place.shard, place.dir]) {
      const stat = await this.#lstat(dir, operation);
      if (stat === undefined) return false;
      if (!stat.isDirectory()) throw notADirectory(operation);
    }
    return true;
  }

  /** Removes one entry of a ticket's directory without following it; answers 1, or 0 if gone. */
  async #remove(path: string, operation: string): Promise<number> {
    const stat = await this.#lstat(path, operation);
    if (stat === undefined) return 0;
    if (!stat.isDirectory()) return this.#unlink(path, operation);
    try {
      // Not ours (the store makes no directories there); rm does not follow links inside it.
      await rm(path, { recursive: true, force: true });
    } catch (err) {
      throw fsFailure(operation, err);
    }
    return 1;
  }

  async #unlink(path: string, operation: string): Promise<number> {
    try {
      await unlink(path);
      return 1;
    } catch (err) {
      if (codeOf(err) === 'ENOENT') return 0;
      throw fsFailure(operation, err);
    }
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
  async #names(path: string, operation: string): Promise<string[]> {
    const names: string[] = [];
    try {
      for await (const entry of await opendir(path)) names.push(entry.name);
    } catch (err) {
      if (codeOf(err) === 'ENOENT') return [];
      throw fsFailure(operation, err);
    }
    return names;
  }
}

/** The shard of a ticket: the first 2 hex digits of sha256(TicketId), spreading tickets evenly. */
function shardOf(ticketId: string): string {
  return createHash('sha256').update(ticketId, 'ascii').digest('hex').slice(0, 2);
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

function notADirectory(operation: string): StagingUnavailableError {
  return new StagingUnavailableError(
    operation,
    `directory ${operation} failed: a shard or ticket directory is not a directory (symbolic links are not followed)`,
    { retryable: false },
  );
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
