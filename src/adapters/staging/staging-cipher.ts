/**
 * The envelope and the names of staged objects, both under keys derived (HKDF-SHA256) from the
 * project's `ENCRYPTION_KEY`, each with its own `info` so that neither key can stand in for the
 * other or for `FieldCipher`'s:
 *
 * - the name: {@link StagingCipher.refOf}, HMAC-SHA256 of the plaintext under the names key
 *   (`cloudauth-orchestrator staging names v1`), 64 hex digits. Keyed, so that someone who can
 *   list the directory or the bucket but holds no key cannot test whether a photo they have was
 *   staged (a plain sha256 would confirm it);
 * - the envelope: AES-256-GCM under the staging key (`cloudauth-orchestrator staging v1`), a
 *   random 12-byte IV per object, and that digest as associated data, so that an object copied
 *   or renamed to another digest does not decrypt.
 *
 * Layout, version 1 (37 bytes around the ciphertext, which is as long as the plaintext):
 *
 * ```
 * 0   4  magic "CAOS"
 * 4   1  version (1)
 * 5   4  key id: the first 4 bytes of sha256(ENCRYPTION_KEY), shown as 8 hex digits
 * 9  12  IV
 * 21  n  ciphertext
 * -16 16 GCM tag
 * ```
 *
 * AAD = the 21 header bytes, then `hmac-sha256:<digest>`: the header is authenticated too.
 * {@link StagingCipher.open} also recomputes the keyed digest of what it decrypted.
 *
 * Our own code, next to `FieldCipher` (`src/adapters/redis/crypto.ts`) rather than through it:
 * FieldCipher's tokens are base64 text, a third larger, made for short fields in a Redis hash;
 * photos want a binary envelope. No well-kept library does "content-addressed, encrypted blobs
 * over a directory or an OSS bucket" (OSS's own client-side encryption exists only in the Java
 * and Go SDKs, and does not address by content); node:crypto does the cryptography, this file
 * only lays out bytes. The key id is FieldCipher's, so both name the same key the same way.
 */
import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto';
import { KEY_BYTES, keyIdOf } from '../redis/crypto.js';
import { StagedObjectUnreadableError } from './staging-errors.js';
import type { StagedRef } from './staging-store.js';

const MAGIC = Buffer.from('CAOS', 'ascii');
const VERSION = 1;
const KEY_ID_BYTES = 4;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const HEADER_BYTES = MAGIC.length + 1 + KEY_ID_BYTES + IV_BYTES;
const ENVELOPE_INFO = 'cloudauth-orchestrator staging v1';
const NAMES_INFO = 'cloudauth-orchestrator staging names v1';

/** Bytes an envelope adds to its plaintext: an object's size is `bytes + STAGED_OVERHEAD_BYTES`. */
export const STAGED_OVERHEAD_BYTES = HEADER_BYTES + TAG_BYTES;

/** Names, seals and opens staged objects under one key. */
export class StagingCipher {
  /** First 8 hex digits of sha256(key), as `FieldCipher.keyId`. */
  readonly keyId: string;
  readonly #key: Buffer;
  readonly #namesKey: Buffer;
  readonly #keyIdBytes: Buffer;

  /** @param key the project's key, 32 bytes (see `loadOrCreateKey`). */
  constructor(key: Uint8Array) {
    if (key.length !== KEY_BYTES) {
      throw new RangeError(`encryption key must be ${KEY_BYTES} bytes, got ${key.length}`);
    }
    this.keyId = keyIdOf(key);
    this.#keyIdBytes = Buffer.from(this.keyId, 'hex');
    // Keys of their own for staged objects: the field cipher and the staging store never share one.
    this.#key = derive(key, ENVELOPE_INFO);
    this.#namesKey = derive(key, NAMES_INFO);
  }

  /** The reference `bytes` get when staged: their keyed digest (HMAC-SHA256, hex) and length. */
  refOf(bytes: Uint8Array): StagedRef {
    return { digest: this.#digestOf(bytes), bytes: bytes.length };
  }

  /** The envelope of `plaintext`, whose {@link refOf} digest is `digest`; a fresh IV every call. */
  seal(plaintext: Uint8Array, digest: string): Buffer {
    const iv = randomBytes(IV_BYTES);
    const header = Buffer.concat([MAGIC, Buffer.of(VERSION), this.#keyIdBytes, iv]);
    const cipher = createCipheriv('aes-256-gcm', this.#key, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(aad(header, digest));
    return Buffer.concat([header, cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
  }

  /**
   * The plaintext of an envelope made by {@link seal} for `ref`, checked against its digest and
   * length.
   * @throws StagedObjectUnreadableError saying why it cannot be read
   */
  open(envelope: Uint8Array, ref: StagedRef): Buffer {
    const data = Buffer.from(envelope.buffer, envelope.byteOffset, envelope.byteLength);
    const unreadable = (reason: string) => new StagedObjectUnreadableError(ref.digest, reason);
    if (data.length < STAGED_OVERHEAD_BYTES) throw unreadable('truncated');
    if (!data.subarray(0, MAGIC.length).equals(MAGIC)) throw unreadable('not a staged object');
    const version = data[MAGIC.length];
    if (version !== VERSION) throw unreadable(`unsupported format version ${version}`);
    const keyIdAt = MAGIC.length + 1;
    const keyId = data.subarray(keyIdAt, keyIdAt + KEY_ID_BYTES).toString('hex');
    if (keyId !== this.keyId) {
      throw unreadable(
        `written with key ${keyId}, but the configured key is ${this.keyId} (ENCRYPTION_KEY changed?)`,
      );
    }
    const header = data.subarray(0, HEADER_BYTES);
    const iv = header.subarray(HEADER_BYTES - IV_BYTES);
    const tag = data.subarray(data.length - TAG_BYTES);
    const decipher = createDecipheriv('aes-256-gcm', this.#key, iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(aad(header, ref.digest));
    decipher.setAuthTag(tag);
    let plaintext: Buffer;
    try {
      const ct = data.subarray(HEADER_BYTES, data.length - TAG_BYTES);
      plaintext = Buffer.concat([decipher.update(ct), decipher.final()]);
    } catch {
      throw unreadable('authentication failed (altered, or stored under another digest)');
    }
    // The digest was authenticated above: only a wrong `bytes` in the reference, or a sealer that
    // was given the wrong digest, gets past it to here.
    if (plaintext.length !== ref.bytes) throw unreadable('its length differs from the reference');
    if (this.#digestOf(plaintext) !== ref.digest) {
      throw unreadable('its content does not match the digest');
    }
    return plaintext;
  }

  #digestOf(bytes: Uint8Array): string {
    return createHmac('sha256', this.#namesKey).update(bytes).digest('hex');
  }
}

function derive(key: Uint8Array, info: string): Buffer {
  return Buffer.from(hkdfSync('sha256', key, Buffer.alloc(0), info, KEY_BYTES));
}

function aad(header: Buffer, digest: string): Buffer {
  return Buffer.concat([header, Buffer.from(`hmac-sha256:${digest}`, 'ascii')]);
}
