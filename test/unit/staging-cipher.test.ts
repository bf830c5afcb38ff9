import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { keyIdOf } from '../../src/adapters/redis/crypto.js';
import { STAGED_OVERHEAD_BYTES, StagingCipher } from '../../src/adapters/staging/staging-cipher.js';
import { StagedObjectUnreadableError } from '../../src/adapters/staging/staging-errors.js';
import { checkStagedRef, stagedRefOf } from '../../src/adapters/staging/staging-store.js';
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
  const ref = stagedRefOf(PHOTO);

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
    const empty = stagedRefOf(Buffer.alloc(0));
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
    const other = stagedRefOf(Buffer.from('other bytes'));
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
    const wrong = stagedRefOf(Buffer.from('not the photo'));
    const mislabelled = cipher.seal(PHOTO, wrong.digest);
    expect(
      unreadable(() => cipher.open(mislabelled, { ...wrong, bytes: PHOTO.length })).reason,
    ).toMatch(/does not match the digest/);
  });

  it('takes only a 32-byte key', () => {
    expect(() => new StagingCipher(Buffer.alloc(16))).toThrow(RangeError);
  });
});

describe('staged references', () => {
  it('are the sha256 and length of the bytes', () => {
    expect(stagedRefOf(Buffer.from('abc'))).toEqual({
      digest: 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
      bytes: 3,
    });
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
