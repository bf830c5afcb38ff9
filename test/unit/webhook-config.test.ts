/**
 * The webhook signing settings: `WEBHOOK_SECRET` (`whsec_…`; a text secret only in embedded mode),
 * `WEBHOOK_PREVIOUS_SECRETS`, `WEBHOOK_SECRETS_BY_HOST` and `WEBHOOK_LEGACY_SIGNATURE`, as
 * `loadConfig` parses and production judges them; no refusal ever quotes a secret.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { ConfigError } from '../../src/errors.js';

const whsec = (bytes = 32) => `whsec_${randomBytes(bytes).toString('base64')}`;

/** A production environment whose every secret is strong and every endpoint https. */
function production(overrides: Record<string, string> = {}): Record<string, string> {
  return {
    ORCHESTRATOR_MODE: 'production',
    CLOUDAUTH_ENDPOINT: 'https://cloudauth.example.test',
    CLOUDAUTH_ACCESS_KEY_ID: `LTAI${randomBytes(10).toString('hex')}`,
    CLOUDAUTH_ACCESS_KEY_SECRET: randomBytes(24).toString('base64url'),
    REDIS_URL: 'rediss://redis.internal.example:6380',
    ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    WEBHOOK_SECRET: whsec(),
    API_TOKENS: randomBytes(24).toString('base64url'),
    ...overrides,
  };
}

/** The ConfigError message `env` is refused with (for `role`). */
function refusal(env: Record<string, string>, role: 'all' | 'worker' | 'api' = 'all'): string {
  try {
    loadConfig(env, role);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('the configuration was accepted');
}

describe('webhook signing settings', () => {
  it('default to no previous secrets, no per-host secrets and no legacy header', () => {
    const c = loadConfig({});
    expect(c.webhooks.previousSecrets).toEqual([]);
    expect(c.webhooks.secretsByHost).toEqual({});
    expect(c.webhooks.legacySignature).toBe(false);
  });

  it('take a whsec_ WEBHOOK_SECRET in production, with previous and per-host secrets', () => {
    const [previous, old, a1, a2, b] = [
      whsec(),
      randomBytes(32).toString('hex'),
      whsec(),
      whsec(24),
      whsec(64),
    ];
    const c = loadConfig(
      production({
        WEBHOOK_PREVIOUS_SECRETS: `${previous}, ${old}`,
        WEBHOOK_SECRETS_BY_HOST: `Hooks.A.Example.=${a1},hooks.b.example=${b},hooks.a.example=${a2},[2001:DB8::1]=${b}`,
        WEBHOOK_LEGACY_SIGNATURE: 'true',
      }),
    );
    expect(c.mode).toBe('production');
    expect(c.webhooks.previousSecrets).toEqual([previous, old]);
    expect(c.webhooks.secretsByHost).toEqual({
      'hooks.a.example': [a1, a2],
      'hooks.b.example': [b],
      '2001:db8::1': [b],
    });
    expect(c.webhooks.legacySignature).toBe(true);
  });

  it('refuse a text WEBHOOK_SECRET in production, naming the setting and not the secret', () => {
    const hex = randomBytes(32).toString('hex');
    const message = refusal(production({ WEBHOOK_SECRET: hex }));
    expect(message).toMatch(
      /^ORCHESTRATOR_MODE=production refuses: WEBHOOK_SECRET must be a Standard Webhooks secret: whsec_ followed by the base64 of 24 to 64 random bytes/,
    );
    expect(message).not.toContain(hex);
    // the worker signs too; the api role does not judge the webhook secret
    expect(refusal(production({ WEBHOOK_SECRET: hex }), 'worker')).toMatch(
      /WEBHOOK_SECRET must be/,
    );
    expect(loadConfig(production({ WEBHOOK_SECRET: hex }), 'api').mode).toBe('production');
  });

  it('take a text WEBHOOK_SECRET in embedded mode, as earlier versions did', () => {
    const text = 'webhook-secret-for-tests-0123456789';
    expect(
      loadConfig({ ORCHESTRATOR_MODE: 'embedded', WEBHOOK_SECRET: text }).webhooks.secret,
    ).toBe(text);
  });

  it('keep the strength rule for whsec_ secrets, judging their base64', () => {
    const zeros = `whsec_${Buffer.alloc(32).toString('base64')}`;
    const message = refusal(production({ WEBHOOK_SECRET: zeros }));
    expect(message).toMatch(/WEBHOOK_SECRET is too weak/);
    expect(message).not.toContain(zeros.slice(6));
    const weakPrevious = refusal(
      production({ WEBHOOK_PREVIOUS_SECRETS: `${whsec()},changeme-changeme-changeme` }),
    );
    expect(weakPrevious).toMatch(/WEBHOOK_PREVIOUS_SECRETS \(secret 2 of 2\) is too weak/);
    expect(weakPrevious).not.toContain('changeme');
    const weakHost = refusal(production({ WEBHOOK_SECRETS_BY_HOST: `hooks.a.example=${zeros}` }));
    expect(weakHost).toMatch(/WEBHOOK_SECRETS_BY_HOST \("hooks\.a\.example"\) is too weak/);
  });

  it.each([
    ['WEBHOOK_SECRET', 'whsec_dG9vLXNob3J0', /WEBHOOK_SECRET=\(secret\): its base64 holds 9 bytes/],
    [
      'WEBHOOK_SECRET',
      'short-secret',
      /WEBHOOK_SECRET=\(secret\): must be whsec_<base64> or a text of at least 16/,
    ],
    [
      'WEBHOOK_PREVIOUS_SECRETS',
      'whsec_%%%%',
      /WEBHOOK_PREVIOUS_SECRETS=\(secret\): secret 1 of 1: must be whsec_ followed by padded standard base64/,
    ],
    [
      'WEBHOOK_SECRETS_BY_HOST',
      'hooks.a.example',
      /WEBHOOK_SECRETS_BY_HOST=\(secret\): expected host=whsec_… pairs/,
    ],
    [
      'WEBHOOK_SECRETS_BY_HOST',
      'hooks.a.example:8443=whsec_AAAA',
      /expected host=whsec_… pairs, comma separated \(a host name or IP, no port\)/,
    ],
    ['WEBHOOK_SECRETS_BY_HOST', 'hooks.a.example/cb=whsec_AAAA', /expected host=whsec_… pairs/],
    [
      'WEBHOOK_SECRETS_BY_HOST',
      'hooks.a.example=0123456789abcdef0123',
      /the secret of host "hooks\.a\.example": must be a Standard Webhooks secret/,
    ],
    // a pair written the wrong way round: the secret's base64 padding is no host separator
    [
      'WEBHOOK_SECRETS_BY_HOST',
      'whsec_QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo0NTY3ODk+K2FiYw==x=hooks.a.example',
      /expected host=whsec_… pairs/,
    ],
    ['WEBHOOK_LEGACY_SIGNATURE', 'maybe', /WEBHOOK_LEGACY_SIGNATURE="maybe"/],
  ])('refuse a malformed %s in any mode, never quoting a secret', (name, value, reason) => {
    const message = refusal({ ORCHESTRATOR_MODE: 'embedded', [name]: value });
    expect(message).toMatch(reason);
    if (name !== 'WEBHOOK_LEGACY_SIGNATURE') expect(message).not.toContain(value.slice(-10));
  });

  it('take at most 7 previous secrets and 8 per host (what the legacy verifier reads)', () => {
    const eight = Array.from({ length: 8 }, () => whsec());
    expect(refusal({ WEBHOOK_PREVIOUS_SECRETS: eight.join(',') })).toMatch(
      /at most 7 secrets \(8 given\)/,
    );
    expect(
      loadConfig({ WEBHOOK_PREVIOUS_SECRETS: eight.slice(1).join(',') }).webhooks.previousSecrets,
    ).toHaveLength(7);
    const nine = [...eight, whsec()].map((s) => `h.example=${s}`).join(',');
    expect(refusal({ WEBHOOK_SECRETS_BY_HOST: nine })).toMatch(
      /"h\.example" has more than 8 secrets/,
    );
  });
});
