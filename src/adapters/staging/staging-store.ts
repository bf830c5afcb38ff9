/**
 * The material staging store: where a photo's bytes wait between intake and the worker that sends
 * them to Cloudauth, reachable from every host a worker runs on, so that Redis holds only
 * references. One port, two adapters: a directory (`directory-staging-store.ts`) and an OSS bucket
 * of the user's own (`oss-staging-store.ts`).
 *
 * Objects are content-addressed by the sha256 of their plaintext and encrypted before they leave
 * the process (`staging-cipher.ts`), bound to that digest. A reference is small and serialisable,
 * so a ticket can keep it in place of the bytes.
 */
import { createHash } from 'node:crypto';
import { ValidationError } from '../../errors.js';

/** A staged object, as a ticket keeps it. */
export interface StagedRef {
  /** sha256 of the plaintext, 64 lower-case hex digits. */
  digest: string;
  /** Length of the plaintext, in bytes. */
  bytes: number;
}

/** A staged object as {@link MaterialStagingStore.list} finds it. */
export interface StagedObjectInfo extends StagedRef {
  /** When the object was last written, ms since the epoch (the medium's clock). */
  modifiedAt: number;
}

/** A port: keeps material bytes, encrypted, under their digest. */
export interface MaterialStagingStore {
  /**
   * Stages `bytes` and answers their reference. The same bytes always get the same reference, and
   * staging them again writes nothing new (a repeated ticket, a retried intake).
   * @throws StagingUnavailableError the medium refused or failed the write
   */
  put(bytes: Uint8Array): Promise<StagedRef>;
  /**
   * The plaintext of a staged object, decrypted and checked against the reference.
   * @throws StagedObjectMissingError nothing is staged under the digest
   * @throws StagedObjectUnreadableError the object does not decrypt to bytes with this digest
   * @throws StagingUnavailableError the medium failed the read
   */
  get(ref: StagedRef): Promise<Buffer>;
  /** Whether an object is staged under the digest (it is not decrypted). */
  exists(ref: StagedRef): Promise<boolean>;
  /** Removes the object; removing one that is not there is not an error. */
  delete(ref: StagedRef): Promise<void>;
  /**
   * Every staged object, in no particular order, for the sweep of objects no ticket references.
   * `bytes` is read from the object's size, without decrypting it.
   */
  list(): AsyncIterable<StagedObjectInfo>;
}

const DIGEST = /^[0-9a-f]{64}$/;

/** True for a well-formed digest: 64 lower-case hex digits (also a safe file or object name). */
export function isDigest(value: string): boolean {
  return DIGEST.test(value);
}

/** The reference `bytes` get when staged. */
export function stagedRefOf(bytes: Uint8Array): StagedRef {
  return { digest: createHash('sha256').update(bytes).digest('hex'), bytes: bytes.length };
}

/**
 * Checks a reference read back from a ticket before it names a file or an object: a malformed
 * digest must never become a path. The message does not repeat the value.
 * @throws ValidationError
 */
export function checkStagedRef(ref: StagedRef): void {
  if (typeof ref.digest !== 'string' || !isDigest(ref.digest)) {
    throw new ValidationError('StagedRef.digest', 'must be 64 lower-case hex digits');
  }
  if (!Number.isSafeInteger(ref.bytes) || ref.bytes < 0) {
    throw new ValidationError('StagedRef.bytes', 'must be a non-negative integer');
  }
}

/**
 * Joins concurrent writes of the same digest in this process into one: the rows of a batch that
 * carry the same photo stage it once. Between processes, the medium's own rules keep one object.
 */
export class SingleFlight {
  readonly #running = new Map<string, Promise<void>>();

  /** Runs `write` unless a write of `digest` is running, whose end it then waits for instead. */
  run(digest: string, write: () => Promise<void>): Promise<void> {
    const running = this.#running.get(digest);
    if (running !== undefined) return running;
    const started = write().finally(() => this.#running.delete(digest));
    this.#running.set(digest, started);
    return started;
  }
}
