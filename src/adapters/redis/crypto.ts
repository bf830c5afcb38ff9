/**
 * Field encryption for what the ticket store keeps about a person or a credential: AES-256-GCM
 * with a random 12-byte IV and associated data that binds each value to its ticket (and field),
 * so a ciphertext copied into another ticket does not decrypt.
 *
 * Token format: `v1.<keyId>.<iv>.<tag>.<ciphertext>`, each part base64url without padding;
 * `keyId` is the first 8 hex digits of sha256(key), so a value written under another key is
 * recognised as such instead of failing as "tampered".
 */
import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  hkdfSync,
  randomBytes,
} from 'node:crypto';
import type { Config } from '../../config.js';
import { ConfigError } from '../../errors.js';
import { readOrCreateSecretFile } from '../../secret-file.js';

/** Key length of AES-256, in bytes. */
export const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const VERSION = 'v1';
const KEY_ID = /^[0-9a-f]{8}$/;

/**
 * A value could not be decrypted: malformed, altered, bound to another ticket or field, or written
 * under another key. The message says which, and never carries the value.
 */
export class DecryptionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DecryptionError';
  }
}

/** The key id of `key`: the first 8 hex digits of its sha256. */
export function keyIdOf(key: Uint8Array): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 8);
}

/** AES-256-GCM over single fields, with the caller's associated data (AAD). */
export class FieldCipher {
  /** First 8 hex digits of sha256(key); written into every token. */
  readonly keyId: string;
  readonly #key: Buffer;
  readonly #fingerprintKey: Buffer;

  /** @param key 32 bytes. */
  constructor(key: Uint8Array) {
    if (key.length !== KEY_BYTES) {
      throw new RangeError(`encryption key must be ${KEY_BYTES} bytes, got ${key.length}`);
    }
    this.#key = Buffer.from(key);
    this.keyId = keyIdOf(this.#key);
    this.#fingerprintKey = Buffer.from(
      hkdfSync('sha256', this.#key, Buffer.alloc(0), 'cloudauth-orchestrator fingerprint', 32),
    );
  }

  /** Encrypts `plaintext` (strings as UTF-8) bound to `aad`; a fresh random IV every call. */
  encrypt(plaintext: string | Uint8Array, aad: string): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.#key, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(Buffer.from(aad, 'utf8'));
    const data = typeof plaintext === 'string' ? Buffer.from(plaintext, 'utf8') : plaintext;
    const ct = Buffer.concat([cipher.update(data), cipher.final()]);
    const tag = cipher.getAuthTag();
    return [VERSION, this.keyId, b64(iv), b64(tag), b64(ct)].join('.');
  }

  /** Decrypts a token made by {@link encrypt} with the same key and `aad`; else {@link DecryptionError}. */
  decrypt(token: string, aad: string): Buffer {
    const parts = token.split('.');
    if (parts.length !== 5) throw new DecryptionError('cannot decrypt: not an encrypted value');
    const [version, keyId, ivText, tagText, ctText] = parts as [
      string,
      string,
      string,
      string,
      string,
    ];
    if (version !== VERSION) {
      throw new DecryptionError('cannot decrypt: unsupported format version');
    }
    if (!KEY_ID.test(keyId)) throw new DecryptionError('cannot decrypt: malformed key id');
    if (keyId !== this.keyId) {
      throw new DecryptionError(
        `cannot decrypt: the value was encrypted with key ${keyId}, but the configured key is ${this.keyId} (ENCRYPTION_KEY changed?)`,
      );
    }
    const iv = unb64(ivText);
    const tag = unb64(tagText);
    const ct = unb64(ctText);
    if (iv?.length !== IV_BYTES || tag?.length !== TAG_BYTES || ct === undefined) {
      throw new DecryptionError('cannot decrypt: malformed value');
    }
    const decipher = createDecipheriv('aes-256-gcm', this.#key, iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(Buffer.from(aad, 'utf8'));
    decipher.setAuthTag(tag);
    try {
      return Buffer.concat([decipher.update(ct), decipher.final()]);
    } catch {
      throw new DecryptionError(
        'cannot decrypt: authentication failed (the value was altered, or belongs to another ticket or field)',
      );
    }
  }

  /** {@link decrypt}, read as UTF-8. */
  decryptText(token: string, aad: string): string {
    return this.decrypt(token, aad).toString('utf8');
  }

  /**
   * A keyed digest (HMAC-SHA256 under a key derived from the encryption key), hex. For comparing
   * payloads without storing a guessable hash of personal data: an identity number has too little
   * entropy for a plain sha256 to hide it.
   */
  fingerprint(data: string | Uint8Array): string {
    return createHmac('sha256', this.#fingerprintKey).update(data).digest('hex');
  }
}

function b64(data: Uint8Array): string {
  return Buffer.from(data).toString('base64url');
}

/** Strict base64url: undefined unless `text` is the canonical encoding of its bytes. */
function unb64(text: string): Buffer | undefined {
  const data = Buffer.from(text, 'base64url');
  return data.toString('base64url') === text ? data : undefined;
}

/** Decodes an `ENCRYPTION_KEY` value (base64 of 32 bytes). */
export function parseKey(text: string, origin: string): Buffer {
  const trimmed = text.trim();
  const key = Buffer.from(trimmed, 'base64');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(trimmed) || key.length !== KEY_BYTES) {
    throw new ConfigError(
      `${origin} must hold the base64 of ${KEY_BYTES} bytes, found ${key.length} bytes`,
    );
  }
  return key;
}

/**
 * The encryption key: `ENCRYPTION_KEY` when set; otherwise (embedded mode only) the key kept in
 * `ENCRYPTION_KEY_FILE`, generated on first use (parent directory created 0700, file 0600, base64
 * on one line). Safe when several processes start at once: the file appears complete or not at
 * all. Throws {@link ConfigError} in production mode without a key, or for a key file that does not
 * hold exactly 32 bytes.
 */
export function loadOrCreateKey(config: Pick<Config, 'mode' | 'store'>): Buffer {
  const { encryptionKey, encryptionKeyFile: path } = config.store;
  if (encryptionKey !== undefined) return parseKey(encryptionKey, 'ENCRYPTION_KEY');
  if (config.mode === 'production') {
    throw new ConfigError('ORCHESTRATOR_MODE=production requires ENCRYPTION_KEY');
  }
  return readOrCreateSecretFile({
    path,
    key: 'ENCRYPTION_KEY_FILE',
    generate: () => randomBytes(KEY_BYTES).toString('base64'),
    parse: (text) => parseKey(text, `ENCRYPTION_KEY_FILE ${path}`),
  });
}
