import { createHash, createHmac, hkdfSync, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { keyIdOf } from '../../src/adapters/redis/crypto.js';
import { STAGED_OVERHEAD_BYTES, StagingCipher } from '../../src/adapters/staging/staging-cipher.js';
import {
  StagedObjectMissingError,
  StagedObjectUnreadableError,
  StagingUnavailableError,
} from '../../src/adapters/staging/staging-errors.js';
import { checkStagedRef } from '../../src/adapters/staging/staging-store.js';
import { ValidationError } from '../../src/errors.js';

const KEY = Buffer.alloc(32, 7);
const PHOTO = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.from('张三 110101')]);

function unreadable(open: () => unknown): StagedObjectUnreadableError {
  try {
    open();
  } catch (err) {
    expect(err).toBeInstanceOf(StagedObjectUnreadableError);
    return err as StagedObjectUnreadableError;
  }
  throw new Error('expected the envelope not to open');
}

describe('the staging envelope', () => {
  const cipher = new StagingCipher(KEY);
  const ref = cipher.refOf(PHOTO);

  it('lays out magic, version, key id and IV, then the ciphertext and the tag', () => {
    const sealed = cipher.seal(PHOTO, ref.digest);
    expect(sealed.length).toBe(PHOTO.length + STAGED_OVERHEAD_BYTES);
    expect(STAGED_OVERHEAD_BYTES).toBe(37);
    expect(sealed.subarray(0, 4).toString('ascii')).toBe('CAOS');
    expect(sealed[4]).toBe(1);
    expect(sealed.subarray(5, 9).toString('hex')).toBe(keyIdOf(KEY));
    expect(cipher.keyId).toBe(keyIdOf(KEY));
    expect(sealed.includes(PHOTO.subarray(0, 8))).toBe(false);
  });

  it('opens to the same bytes, with a fresh IV every seal', () => {
    const a = cipher.seal(PHOTO, ref.digest);
    const b = cipher.seal(PHOTO, ref.digest);
    expect(a.subarray(9, 21).equals(b.subarray(9, 21))).toBe(false);
    expect(cipher.open(a, ref).equals(PHOTO)).toBe(true);
    expect(cipher.open(b, ref).equals(PHOTO)).toBe(true);
  });

  it('opens an empty plaintext', () => {
    const empty = cipher.refOf(Buffer.alloc(0));
    expect(cipher.open(cipher.seal(Buffer.alloc(0), empty.digest), empty).length).toBe(0);
  });

  it('refuses a flipped bit anywhere after the key id', () => {
    const sealed = cipher.seal(PHOTO, ref.digest);
    for (let at = 9; at < sealed.length; at++) {
      const altered = Buffer.from(sealed);
      altered[at] = (altered[at] ?? 0) ^ 1;
      expect(unreadable(() => cipher.open(altered, ref)).reason).toMatch(/authentication failed/);
    }
  });

  it('refuses an envelope presented under another digest', () => {
    const other = cipher.refOf(Buffer.from('other bytes'));
    const sealed = cipher.seal(PHOTO, ref.digest);
    const err = unreadable(() => cipher.open(sealed, { ...other, bytes: PHOTO.length }));
    expect(err.reason).toMatch(/stored under another digest/);
    expect(err.digest).toBe(other.digest);
  });

  it('names both keys when the envelope was written under another key', () => {
    const otherKey = randomBytes(32);
    const sealed = new StagingCipher(otherKey).seal(PHOTO, ref.digest);
    expect(unreadable(() => cipher.open(sealed, ref)).reason).toBe(
      `written with key ${keyIdOf(otherKey)}, but the configured key is ${keyIdOf(KEY)} (ENCRYPTION_KEY changed?)`,
    );
  });

  it('says why a malformed envelope cannot be read', () => {
    const sealed = cipher.seal(PHOTO, ref.digest);
    expect(unreadable(() => cipher.open(sealed.subarray(0, 36), ref)).reason).toBe('truncated');
    expect(unreadable(() => cipher.open(PHOTO.subarray(0, 4), ref)).reason).toBe('truncated');
    const notOurs = Buffer.concat([Buffer.from('JFIF'), sealed.subarray(4)]);
    expect(unreadable(() => cipher.open(notOurs, ref)).reason).toBe('not a staged object');
    const v2 = Buffer.from(sealed);
    v2[4] = 2;
    expect(unreadable(() => cipher.open(v2, ref)).reason).toBe('unsupported format version 2');
  });

  it('refuses a reference whose length is wrong, and a seal under the wrong digest', () => {
    const sealed = cipher.seal(PHOTO, ref.digest);
    expect(unreadable(() => cipher.open(sealed, { ...ref, bytes: 3 })).reason).toMatch(/length/);
    const wrong = cipher.refOf(Buffer.from('not the photo'));
    const mislabelled = cipher.seal(PHOTO, wrong.digest);
    expect(
      unreadable(() => cipher.open(mislabelled, { ...wrong, bytes: PHOTO.length })).reason,
    ).toMatch(/does not match the digest/);
  });

  it('binds the envelope to the keyed digest: a seal under the plain sha256 does not open', () => {
    const plain = createHash('sha256').update(PHOTO).digest('hex');
    const sealed = cipher.seal(PHOTO, plain);
    const err = unreadable(() => cipher.open(sealed, { digest: plain, bytes: PHOTO.length }));
    expect(err.reason).toMatch(/does not match the digest/);
  });

  it('takes only a 32-byte key', () => {
    expect(() => new StagingCipher(Buffer.alloc(16))).toThrow(RangeError);
  });
});

describe('staged references', () => {
  const ABC = Buffer.from('abc');

  it('are the HMAC-SHA256 of the bytes under a key derived for names, and their length', () => {
    const namesKey = hkdfSync(
      'sha256',
      KEY,
      Buffer.alloc(0),
      'cloudauth-orchestrator staging names v1',
      32,
    );
    const expected = createHmac('sha256', Buffer.from(namesKey)).update(ABC).digest('hex');
    expect(new StagingCipher(KEY).refOf(ABC)).toEqual({ digest: expected, bytes: 3 });
    expect(expected).toMatch(/^[0-9a-f]{64}$/);
  });

  it('differ from the plain sha256 of the bytes and from one key to another', () => {
    const digest = new StagingCipher(KEY).refOf(ABC).digest;
    expect(digest).not.toBe(createHash('sha256').update(ABC).digest('hex'));
    expect(digest).not.toBe(createHmac('sha256', KEY).update(ABC).digest('hex'));
    expect(new StagingCipher(randomBytes(32)).refOf(ABC).digest).not.toBe(digest);
    expect(new StagingCipher(KEY).refOf(ABC).digest).toBe(digest);
  });

  it.each([
    ['an upper-case digest', { digest: 'A'.repeat(64), bytes: 1 }, 'StagedRef.digest'],
    ['a path', { digest: `../${'a'.repeat(61)}`, bytes: 1 }, 'StagedRef.digest'],
    ['a short digest', { digest: 'ab', bytes: 1 }, 'StagedRef.digest'],
    ['a negative length', { digest: 'a'.repeat(64), bytes: -1 }, 'StagedRef.bytes'],
    ['a fractional length', { digest: 'a'.repeat(64), bytes: 1.5 }, 'StagedRef.bytes'],
  ])('refuses %s, naming the field', (_what, ref, field) => {
    expect(() => checkStagedRef(ref)).toThrow(ValidationError);
    expect(() => checkStagedRef(ref)).toThrow(new RegExp(`^${field}:`));
  });
});

describe('staging errors', () => {
  const digest = 'ab'.repeat(32);

  it('name the material field and the digest, with the registry codes, never retryable', () => {
    const missing = new StagedObjectMissingError(digest).withField('Binding.FacePic');
    expect(missing).toBeInstanceOf(StagedObjectMissingError);
    expect(missing.message).toBe(`Binding.FacePic: no staged object has digest ${digest}`);
    expect(missing.toJSON()).toMatchObject({
      code: 'STAGED_OBJECT_MISSING',
      retryable: false,
      digest,
      field: 'Binding.FacePic',
    });
    const unreadable = new StagedObjectUnreadableError(digest, 'truncated', {
      field: 'Binding.IdCardFrontPic',
    });
    expect(unreadable.message).toBe(
      `Binding.IdCardFrontPic: staged object ${digest} cannot be read: truncated`,
    );
    expect(unreadable.withField('Binding.FacePic').toJSON()).toMatchObject({
      code: 'STAGED_OBJECT_UNREADABLE',
      retryable: false,
      field: 'Binding.FacePic',
      reason: 'truncated',
    });
    expect(new StagedObjectMissingError(digest).toJSON()).not.toHaveProperty('field');
  });

  it('say STAGING_FULL for a full medium, else STAGING_UNAVAILABLE, retryable as told', () => {
    const full = new StagingUnavailableError('put', 'directory put failed (ENOSPC)', {
      retryable: true,
      full: true,
      retryAfterMs: 10_000,
    });
    expect(full.toJSON()).toMatchObject({
      code: 'STAGING_FULL',
      retryable: true,
      retryAfterMs: 10_000,
      operation: 'put',
    });
    const denied = new StagingUnavailableError('check', 'directory check failed (EACCES)', {
      retryable: false,
    });
    expect(denied.toJSON()).toMatchObject({ code: 'STAGING_UNAVAILABLE', retryable: false });
  });
});
