import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { ConfigError } from '../../src/errors.js';
import { webhookEventId } from '../../src/webhooks/events.js';
import { sealedPageUrlAad } from '../../src/webhooks/publisher.js';
import {
  DecryptionError,
  FieldCipher,
  keyIdOf,
  loadOrCreateKey,
} from '../../src/adapters/redis/crypto.js';

const KEY = Buffer.alloc(32, 7);
const OTHER_KEY = Buffer.alloc(32, 9);
const AAD = '["T-0001","binding"]';
const SECRET = '{"name":"张三","idNumber":"11010519491231002X"}';

function failure(f: () => unknown): Error {
  try {
    f();
  } catch (err) {
    if (err instanceof Error) return err;
  }
  throw new Error('expected an error');
}

describe('FieldCipher', () => {
  const cipher = new FieldCipher(KEY);

  it('round-trips strings and bytes, with a fresh IV every time', () => {
    const a = cipher.encrypt(SECRET, AAD);
    const b = cipher.encrypt(SECRET, AAD);
    expect(a).not.toBe(b);
    expect(cipher.decryptText(a, AAD)).toBe(SECRET);
    const bytes = randomBytes(1000);
    expect(cipher.decrypt(cipher.encrypt(bytes, AAD), AAD).equals(bytes)).toBe(true);
    expect(cipher.decryptText(cipher.encrypt('', AAD), AAD)).toBe('');
  });

  it('writes v1.<keyId>.<iv>.<tag>.<ciphertext> with a 12-byte IV and no plaintext', () => {
    const token = cipher.encrypt(SECRET, AAD);
    const [version, keyId, iv, tag, ct] = token.split('.');
    expect(version).toBe('v1');
    expect(keyId).toBe(keyIdOf(KEY));
    expect(keyId).toMatch(/^[0-9a-f]{8}$/);
    expect(Buffer.from(iv ?? '', 'base64url')).toHaveLength(12);
    expect(Buffer.from(tag ?? '', 'base64url')).toHaveLength(16);
    expect(Buffer.from(ct ?? '', 'base64url')).toHaveLength(Buffer.byteLength(SECRET));
    expect(token).not.toContain('11010519491231002X');
  });

  it('refuses a token with any character changed', () => {
    const token = cipher.encrypt('短', AAD);
    for (let i = 0; i < token.length; i++) {
      const c = token[i] === 'A' ? 'B' : 'A';
      const altered = token.slice(0, i) + c + token.slice(i + 1);
      expect(() => cipher.decrypt(altered, AAD), `position ${i}`).toThrow(DecryptionError);
    }
  });

  it('refuses a token with any byte of the IV, tag or ciphertext flipped', () => {
    const token = cipher.encrypt(SECRET, AAD);
    const parts = token.split('.');
    for (const p of [2, 3, 4]) {
      const bytes = Buffer.from(parts[p] ?? '', 'base64url');
      for (let i = 0; i < bytes.length; i++) {
        const flipped = Buffer.from(bytes);
        flipped[i] = (flipped[i] ?? 0) ^ 0x01;
        const altered = [...parts];
        altered[p] = flipped.toString('base64url');
        expect(() => cipher.decrypt(altered.join('.'), AAD), `part ${p} byte ${i}`).toThrow(
          /authentication failed/,
        );
      }
    }
  });

  it('refuses truncated and malformed tokens', () => {
    const token = cipher.encrypt(SECRET, AAD);
    for (const bad of [
      '',
      'plain text',
      token.slice(0, -1),
      token.split('.').slice(0, 4).join('.'),
      `v2${token.slice(2)}`,
    ]) {
      expect(() => cipher.decrypt(bad, AAD)).toThrow(DecryptionError);
    }
  });

  it('refuses another AAD: a value cannot move to another ticket or field', () => {
    const token = cipher.encrypt(SECRET, AAD);
    expect(() => cipher.decrypt(token, '["T-0002","binding"]')).toThrow(/authentication failed/);
    expect(() => cipher.decrypt(token, '["T-0001","userData"]')).toThrow(/authentication failed/);
  });

  it("opens a webhook's sealed page URL under its own event id only", () => {
    const pageUrl = 'https://h5.example.test/verify?token=bearer-page-token';
    const own = webhookEventId('T-0001', 3, 'ticket.token_issued');
    const sealed = cipher.encrypt(pageUrl, sealedPageUrlAad(own));
    expect(cipher.decryptText(sealed, sealedPageUrlAad(own))).toBe(pageUrl);
    for (const other of [
      webhookEventId('T-0002', 3, 'ticket.token_issued'),
      webhookEventId('T-0001', 5, 'ticket.token_issued'),
    ]) {
      const error = failure(() => cipher.decryptText(sealed, sealedPageUrlAad(other)));
      expect(error).toBeInstanceOf(DecryptionError);
      expect(error.message).not.toContain('bearer-page-token');
    }
  });

  it('refuses another key with a message naming both key ids and never the plaintext', () => {
    const token = cipher.encrypt(SECRET, AAD);
    const error = failure(() => new FieldCipher(OTHER_KEY).decrypt(token, AAD));
    expect(error).toBeInstanceOf(DecryptionError);
    expect(error.message).toContain(keyIdOf(KEY));
    expect(error.message).toContain(keyIdOf(OTHER_KEY));
    expect(error.message).toMatch(/ENCRYPTION_KEY changed/);
    expect(error.message).not.toContain('11010519491231002X');
    expect(error.message).not.toContain(token);
  });

  it('refuses a key that is not 32 bytes', () => {
    expect(() => new FieldCipher(Buffer.alloc(16))).toThrow(RangeError);
  });

  it('fingerprints deterministically per key, unlike a plain hash', () => {
    expect(cipher.fingerprint(SECRET)).toBe(new FieldCipher(KEY).fingerprint(SECRET));
    expect(cipher.fingerprint(SECRET)).not.toBe(new FieldCipher(OTHER_KEY).fingerprint(SECRET));
    expect(cipher.fingerprint(SECRET)).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('loadOrCreateKey', () => {
  const dir = mkdtempSync(join(tmpdir(), 'crypto-test-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('uses ENCRYPTION_KEY when set', () => {
    const config = loadConfig({
      ORCHESTRATOR_MODE: 'embedded',
      ENCRYPTION_KEY: OTHER_KEY.toString('base64'),
    });
    expect(loadOrCreateKey(config).equals(OTHER_KEY)).toBe(true);
  });

  it('creates the key file 0600 (and its directory) on first use, then reads it back', () => {
    const file = join(dir, 'nested', 'data', 'encryption.key');
    const config = loadConfig({ ENCRYPTION_KEY_FILE: file });
    const first = loadOrCreateKey(config);
    expect(first).toHaveLength(32);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readFileSync(file, 'utf8').trim()).toBe(first.toString('base64'));
    expect(loadOrCreateKey(config).equals(first)).toBe(true);
  });

  it('refuses a key file of the wrong length without showing its content', () => {
    const file = join(dir, 'short.key');
    writeFileSync(file, `${Buffer.alloc(16, 1).toString('base64')}\n`, { mode: 0o600 });
    const error = failure(() => loadOrCreateKey(loadConfig({ ENCRYPTION_KEY_FILE: file })));
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toMatch(/32 bytes, found 16/);
    expect(error.message).not.toContain(Buffer.alloc(16, 1).toString('base64'));
  });

  it('refuses to run in production without ENCRYPTION_KEY', () => {
    const config = { mode: 'production' as const, store: loadConfig({}).store };
    expect(() => loadOrCreateKey(config)).toThrow(/requires ENCRYPTION_KEY/);
    expect(() =>
      loadConfig({
        ORCHESTRATOR_MODE: 'production',
        CLOUDAUTH_ENDPOINT: 'https://cloudauth.example.test',
        CLOUDAUTH_ACCESS_KEY_ID: `LTAI${randomBytes(10).toString('hex')}`,
        CLOUDAUTH_ACCESS_KEY_SECRET: randomBytes(24).toString('base64url'),
        REDIS_URL: 'redis://127.0.0.1:6379',
      }),
    ).toThrow(/requires ENCRYPTION_KEY/);
  });

  it('refuses an ENCRYPTION_KEY that is not 32 bytes of base64, without showing it', () => {
    expect(() => loadConfig({ ENCRYPTION_KEY: 'c2hvcnQ=' })).toThrow(/ENCRYPTION_KEY=\(secret\)/);
  });
});
