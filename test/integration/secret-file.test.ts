import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { ConfigError } from '../../src/errors.js';
import { loadOrCreateApiToken } from '../../src/api/api-token.js';
import { loadOrCreateWebhookSecret, standardWebhookKey } from '../../src/webhooks/secret.js';
import { readOrCreateSecretFile, readSecretFile } from '../../src/secret-file.js';
import { loadOrCreateKey } from '../../src/adapters/redis/crypto.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function scratch(): string {
  const dir = mkdtempSync(join(tmpdir(), 'secret-file-'));
  dirs.push(dir);
  return dir;
}

describe('readOrCreateSecretFile', () => {
  it('creates the file once (0600 in a 0700 directory) and reads it back after', () => {
    const path = join(scratch(), 'nested', 'secret');
    let made = 0;
    const spec = {
      path,
      key: 'SOME_FILE',
      generate: () => `secret-${++made}`,
      parse: (text: string) => text.trim(),
    };
    expect(readSecretFile(spec)).toBeUndefined();
    expect(readOrCreateSecretFile(spec)).toBe('secret-1');
    expect(readOrCreateSecretFile(spec)).toBe('secret-1');
    expect(made).toBe(1);
    expect(readFileSync(path, 'utf8')).toBe('secret-1\n');
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(join(path, '..')).mode & 0o777).toBe(0o700);
  });

  it('lets the parser refuse a bad file', () => {
    const path = join(scratch(), 'secret');
    writeFileSync(path, 'short\n');
    expect(() =>
      readOrCreateSecretFile({
        path,
        key: 'SOME_FILE',
        generate: () => 'x',
        parse: () => {
          throw new ConfigError('SOME_FILE is bad');
        },
      }),
    ).toThrow(ConfigError);
  });
});

describe('loadOrCreateWebhookSecret', () => {
  it('generates a Standard Webhooks secret (whsec_, 32 random bytes) in embedded mode and keeps it', () => {
    const file = join(scratch(), 'webhook.secret');
    const config = loadConfig({ WEBHOOK_SECRET_FILE: file });
    const secret = loadOrCreateWebhookSecret(config);
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(Buffer.from(secret.slice('whsec_'.length), 'base64')).toHaveLength(32);
    expect(readFileSync(file, 'utf8')).toBe(`${secret}\n`);
    expect(loadOrCreateWebhookSecret(config)).toBe(secret);
  });

  it("keeps an earlier version's hex secret file: a text secret, its UTF-8 bytes the key", () => {
    const file = join(scratch(), 'webhook.secret');
    const hex = randomBytes(32).toString('hex');
    writeFileSync(file, `${hex}\n`, { mode: 0o600 });
    const config = loadConfig({ WEBHOOK_SECRET_FILE: file });
    expect(loadOrCreateWebhookSecret(config)).toBe(hex);
    expect(standardWebhookKey(hex).equals(Buffer.from(hex, 'utf8'))).toBe(true);
    expect(readFileSync(file, 'utf8')).toBe(`${hex}\n`);
  });

  it('refuses a secret file holding too short or a malformed secret, and production without a secret', () => {
    const file = join(scratch(), 'webhook.secret');
    writeFileSync(file, 'abc\n');
    expect(() => loadOrCreateWebhookSecret(loadConfig({ WEBHOOK_SECRET_FILE: file }))).toThrow(
      /at least 16 characters/,
    );
    writeFileSync(file, 'whsec_dG9vLXNob3J0\n');
    expect(() => loadOrCreateWebhookSecret(loadConfig({ WEBHOOK_SECRET_FILE: file }))).toThrow(
      /WEBHOOK_SECRET_FILE .* holds an invalid secret \(its base64 holds 9 bytes/,
    );
    expect(() =>
      loadOrCreateWebhookSecret({
        ...loadConfig({ WEBHOOK_SECRET_FILE: file }),
        mode: 'production',
      }),
    ).toThrow(/requires WEBHOOK_SECRET/);
  });
});

describe("embedded mode's generated secrets", () => {
  it("pass production mode's strength rules", () => {
    for (let i = 0; i < 50; i++) {
      const dir = scratch();
      const embedded = loadConfig({
        API_TOKEN_FILE: join(dir, 'api.token'),
        WEBHOOK_SECRET_FILE: join(dir, 'webhook.secret'),
        ENCRYPTION_KEY_FILE: join(dir, 'encryption.key'),
      });
      const [token] = loadOrCreateApiToken(embedded).tokens;
      const production = loadConfig({
        ORCHESTRATOR_MODE: 'production',
        CLOUDAUTH_ENDPOINT: 'https://cloudauth.example.test',
        CLOUDAUTH_ACCESS_KEY_ID: 'LTAI5tExampleKeyId0001',
        CLOUDAUTH_ACCESS_KEY_SECRET: 'Xk2v9QpL0sWm4TnB7yRc1JdH8fGz3e',
        REDIS_URL: 'rediss://redis.example.test:6380',
        API_TOKENS: token ?? '',
        WEBHOOK_SECRET: loadOrCreateWebhookSecret(embedded),
        ENCRYPTION_KEY: loadOrCreateKey(embedded).toString('base64'),
      });
      expect(production.mode).toBe('production');
    }
  });
});
