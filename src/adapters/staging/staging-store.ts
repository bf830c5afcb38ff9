/**
 * The material staging store: where a photo's bytes wait between intake and the worker that sends
 * them to Cloudauth, reachable from every host a worker runs on, so that Redis holds only
 * references. One port, two adapters: a directory (`directory-staging-store.ts`) and an OSS bucket
 * of the user's own (`oss-staging-store.ts`).
 *
 * Objects are content-addressed by a keyed sha256 (HMAC) of their plaintext and encrypted before
 * they leave the process (`staging-cipher.ts`), bound to that digest. A reference is small and serialisable,
 * so a ticket can keep it in place of the bytes.
 */
import { ValidationError } from '../../errors.js';

/** A staged object, as a ticket keeps it. */
export interface StagedRef {
  /**
   * The object's content address: HMAC-SHA256 of the plaintext under a key derived from
   * `ENCRYPTION_KEY` (`StagingCipher.refOf`), 64 lower-case hex digits. Keyed, so that a name
   * seen in a directory listing or a bucket does not confirm that a known photo was staged.
   */
  digest: string;
  /** Length of the plaintext, in bytes. */
  bytes: number;
}

/** One ticket's staged objects as {@link MaterialStagingStore.tickets} finds them. */
export interface StagedTicketInfo {
  ticketId: string;
  /** Objects kept for it, unfinished writes (temp files) included. */
  objects: number;
  /** When the newest of them was last written, ms since the epoch (the medium's clock). */
  newestAt: number;
}

/**
 * A port: keeps material bytes, encrypted, under their ticket and their content address. Objects
 * belong to one ticket (`<ticket>/<digest>`): erasing a ticket's data removes its objects without
 * asking whether another ticket shares them, and a repeat of the same ticket with the same bytes
 * writes nothing new.
 */
export interface MaterialStagingStore {
  /**
   * Stages `bytes` for `ticketId` and answers their reference. The same bytes for the same ticket
   * always get the same reference, and staging them again writes nothing new.
   * @throws StagingUnavailableError the medium refused or failed the write
   */
  put(ticketId: string, bytes: Uint8Array): Promise<StagedRef>;
  /**
   * The plaintext of a staged object, decrypted and checked against the reference.
   * @throws StagedObjectMissingError nothing is staged under the digest
   * @throws StagedObjectUnreadableError the object does not decrypt to bytes with this digest
   * @throws StagingUnavailableError the medium failed the read
   */
  get(ticketId: string, ref: StagedRef): Promise<Buffer>;
  /** Whether an object is staged for the ticket under the digest (it is not decrypted). */
  exists(ticketId: string, ref: StagedRef): Promise<boolean>;
  /**
   * Removes every object of the ticket, unfinished writes included; answers how many it removed.
   * Removing what is not there is not an error.
   */
  deleteTicket(ticketId: string): Promise<number>;
  /** Every ticket that has objects, in no particular order: what the orphan sweep walks. */
  tickets(): AsyncIterable<StagedTicketInfo>;
  /**
   * Proves the medium answers (readiness, and intake's early refusal): a directory that can be
   * written, a bucket that can be listed.
   * @throws StagingUnavailableError saying why not
   */
  check(): Promise<void>;
}

const DIGEST = /^[0-9a-f]{64}$/;

/** True for a well-formed digest: 64 lower-case hex digits (also a safe file or object name). */
export function isDigest(value: string): boolean {
  return DIGEST.test(value);
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
