import { legacyBiz } from '../../src/domain/biz.js';
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  SECRET_MIN_BITS,
  configWarnings,
  estimatedBits,
  weakKeyReason,
  weakSecretReason,
} from '../../src/config-checks.js';
import { CONFIG_DEFAULTS, CONFIG_KEYS, SETTINGS, Setting, loadConfig } from '../../src/config.js';
import { renderConfigTable } from '../../src/config-docs.js';
import { ConfigError } from '../../src/errors.js';
import { producerSettings } from '../../src/flow/producer.js';

describe('loadConfig', () => {
  it('gives documented defaults for an empty environment', () => {
    const c = loadConfig({});
    expect(c.mode).toBe('embedded');
    expect(c.cloudauth.endpoint).toBeUndefined();
    expect(c.cloudauth.timeoutMs).toBe(10_000);
    // embedded without CLOUDAUTH_BIZ: the legacy four and the financial-grade demo scenes
    expect(c.cloudauth.biz).toEqual({
      RPBasic: 'RPBasic',
      RPBioOnly: 'RPBioOnly',
      RPH5BioOnly: 'RPH5BioOnly',
      RPMin: 'RPMin',
      FaceH5: {
        family: 'financial',
        productCode: 'ID_PRO',
        sceneId: '1000000006',
        precheck: false,
      },
      FaceServer: {
        family: 'financial',
        productCode: 'ID_MIN',
        sceneId: '1000000007',
        precheck: true,
      },
    });
    expect(c.emulator.accessKeys).toEqual({ LTAIdemoOrchestrator: 'demo-secret-change-me' });
    expect(c.emulator.rejectNames).toEqual(['拒绝', 'Reject Me']);
  });

  it('parses Biz=Scheme pairs and key pairs whose secret holds a colon', () => {
    const c = loadConfig({
      CLOUDAUTH_BIZ: 'onboarding=RPBioOnly, kyc = RPMin',
      EMULATOR_ACCESS_KEYS: 'LTAIa:se:cret,LTAIb:x',
    });
    expect(c.cloudauth.biz).toEqual({ onboarding: 'RPBioOnly', kyc: 'RPMin' });
    expect(c.emulator.accessKeys).toEqual({ LTAIa: 'se:cret', LTAIb: 'x' });
  });

  it('names every bad key in one error, and never shows a secret value', () => {
    let error: unknown;
    try {
      loadConfig({
        CLOUDAUTH_TIMEOUT_MS: 'soon',
        CLOUDAUTH_BIZ: 'x=NoSuchScheme',
        EMULATOR_ACCESS_KEYS: 'no-colon-here-secretvalue',
      });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    expect(message).toContain('CLOUDAUTH_TIMEOUT_MS');
    expect(message).toContain('CLOUDAUTH_BIZ');
    expect(message).toContain('EMULATOR_ACCESS_KEYS=(secret)');
    expect(message).not.toContain('secretvalue');
  });

  it('refuses production mode without endpoint, credentials and REDIS_URL', () => {
    expect(() => loadConfig({ ORCHESTRATOR_MODE: 'production' })).toThrow(
      /CLOUDAUTH_ENDPOINT, CLOUDAUTH_ACCESS_KEY_ID, CLOUDAUTH_ACCESS_KEY_SECRET, REDIS_URL/,
    );
    expect(() =>
      loadConfig({
        ORCHESTRATOR_MODE: 'embedded',
        CLOUDAUTH_ENDPOINT: 'http://127.0.0.1:8787',
      }),
    ).toThrow(/CLOUDAUTH_ACCESS_KEY_ID and CLOUDAUTH_ACCESS_KEY_SECRET are required/);
  });

  it('documents every key with a description', () => {
    for (const [name, spec] of Object.entries(CONFIG_KEYS)) {
      expect(spec.description.length, name).toBeGreaterThan(20);
    }
  });

  it('agrees with the configuration table of docs/reference/configuration.md', () => {
    const page = readFileSync(
      new URL('../../docs/reference/configuration.md', import.meta.url),
      'utf8',
    );
    expect(page).toContain(renderConfigTable());
  });
});

describe('the one declaration of the configuration', () => {
  const tree: Record<string, Setting | Record<string, Setting>> = SETTINGS;
  /** Every declared key with its place in Config, e.g. `queue.attempts`. */
  const declared = Object.entries(tree).flatMap(([field, node]) =>
    node instanceof Setting
      ? [{ path: field, env: node.env }]
      : Object.entries(node).map(([inner, s]) => ({ path: `${field}.${inner}`, env: s.env })),
  );

  it('holds every declared key exactly once in the nested Config, and nothing else', () => {
    const envs = declared.map((d) => d.env);
    expect(new Set(envs).size).toBe(envs.length);
    expect(Object.keys(CONFIG_KEYS)).toEqual(envs);
    const config = loadConfig({}) as unknown as Record<string, unknown>;
    const paths = Object.entries(config).flatMap(([field, value]) =>
      tree[field] instanceof Setting
        ? [field]
        : Object.keys(value as object).map((inner) => `${field}.${inner}`),
    );
    expect(paths).toEqual(declared.map((d) => d.path));
  });

  it('puts each value where its declaration says, converting LEASE_MARGIN_SECONDS to ms', () => {
    const c = loadConfig({
      JOB_ATTEMPTS: '3',
      CLOUDAUTH_BIZ: 'kyc=RPMin',
      LEASE_MARGIN_SECONDS: '30',
      WEBHOOK_ATTEMPTS: '4',
      EMULATOR_REVIEW_MS: '5',
    });
    expect([c.queue.attempts, c.webhooks.attempts, c.emulator.reviewMs]).toEqual([3, 4, 5]);
    expect(c.cloudauth.biz).toEqual({ kyc: 'RPMin' });
    expect(c.queue.leaseMarginMs).toBe(30_000);
    expect(loadConfig({}).queue.leaseMarginMs).toBe(120_000);
  });

  it('exports the defaults as an empty environment loads them, frozen', () => {
    // the demo financial scenes are embedded mode's, not a default of the setting
    const loaded = loadConfig({});
    expect(CONFIG_DEFAULTS).toEqual({
      ...loaded,
      mode: undefined,
      cloudauth: { ...loaded.cloudauth, biz: legacyBiz(loaded.cloudauth.biz) },
    });
    expect(CONFIG_DEFAULTS.queue.attempts).toBe(8);
    expect(Object.isFrozen(CONFIG_DEFAULTS.queue)).toBe(true);
    expect(Object.isFrozen(CONFIG_DEFAULTS.emulator.rejectNames)).toBe(true);
    // a caller mutating a loaded configuration never reaches the defaults
    const c = loadConfig({});
    c.emulator.rejectNames.push('Someone');
    expect(CONFIG_DEFAULTS.emulator.rejectNames).toEqual(['拒绝', 'Reject Me']);
  });

  it('gives the producer library the defaults an orchestrator loads from an empty environment', () => {
    const c = loadConfig({});
    expect(producerSettings({})).toEqual({
      prefix: c.redisPrefix,
      retentionSeconds: c.store.retentionSeconds,
      jobs: {
        attempts: c.queue.attempts,
        keepCompletedSeconds: c.queue.keepCompletedSeconds,
        keepFailedSeconds: c.queue.keepFailedSeconds,
      },
      imageLimits: { maxPixels: c.images.maxPixels, maxSidePx: c.images.maxSidePx },
      callbackPolicy: { allowedHosts: c.webhooks.allowedHosts },
    });
    const given = producerSettings({ prefix: 'p', jobs: { attempts: 2 }, retentionSeconds: 60 });
    expect([given.prefix, given.jobs.attempts, given.retentionSeconds]).toEqual(['p', 2, 60]);
    expect(given.jobs.keepFailedSeconds).toBe(c.queue.keepFailedSeconds);
  });
});

/** A production environment whose every secret is random and every endpoint https. */
function strongProduction(): Record<string, string> {
  return {
    ORCHESTRATOR_MODE: 'production',
    CLOUDAUTH_ENDPOINT: 'https://cloudauth.example.test',
    CLOUDAUTH_ACCESS_KEY_ID: `LTAI${randomBytes(10).toString('hex')}`,
    CLOUDAUTH_ACCESS_KEY_SECRET: randomBytes(22).toString('base64url').slice(0, 30),
    REDIS_URL: 'rediss://redis.internal.example:6380',
    ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    WEBHOOK_SECRET: `whsec_${randomBytes(32).toString('base64')}`,
    API_TOKENS: `${randomBytes(16).toString('hex')},${randomBytes(32).toString('base64url')}`,
  };
}

/** `env` without `keys`. */
function without(env: Record<string, string>, ...keys: string[]): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter(([k]) => !keys.includes(k)));
}

/** The ConfigError `loadConfig(env)` throws (fails the test when it throws none). */
function refusal(env: Record<string, string>): string {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('loadConfig accepted the configuration');
}

describe('production with a financial ID_PRO Biz', () => {
  const withBrowserFlow = (extra: Record<string, string> = {}) => ({
    ...strongProduction(),
    CLOUDAUTH_BIZ: 'RPMin=RPMin,kyc=financial:ID_PRO:1000000006',
    ...extra,
  });

  it('needs API_PUBLIC_URL, over https: start links and the provider callback are built on it', () => {
    expect(() => loadConfig(withBrowserFlow())).toThrow(/API_PUBLIC_URL is required/);
    expect(() => loadConfig(withBrowserFlow({ API_PUBLIC_URL: 'http://kyc.example.com' }))).toThrow(
      /API_PUBLIC_URL must be an https:\/\/ URL/,
    );
    const c = loadConfig(withBrowserFlow({ API_PUBLIC_URL: 'https://kyc.example.com/' }));
    expect(c.api.publicUrl).toBe('https://kyc.example.com');
    // the MetaInfo script runs in the person's browser: https only
    expect(() =>
      loadConfig(
        withBrowserFlow({
          API_PUBLIC_URL: 'https://kyc.example.com',
          FACE_VERIFY_SCRIPT_URL: 'http://cdn.example.com/jsvm_all.js',
        }),
      ),
    ).toThrow(/FACE_VERIFY_SCRIPT_URL must be an https:\/\/ URL/);
  });

  it('gets no demo financial scenes when CLOUDAUTH_BIZ is unset', () => {
    expect(Object.keys(loadConfig(strongProduction()).cloudauth.biz)).toEqual([
      'RPBasic',
      'RPBioOnly',
      'RPH5BioOnly',
      'RPMin',
    ]);
  });
});

describe('production strength checks', () => {
  it('accepts random secrets, a random key and an https endpoint', () => {
    const env = strongProduction();
    const c = loadConfig(env);
    expect(c.mode).toBe('production');
    expect(c.api.tokens).toHaveLength(2);
  });

  it.each([
    ['API_TOKENS', 'aaaaaaaaaaaaaaaa', /API_TOKENS is too weak: about 64 bits/],
    ['API_TOKENS', 'qwertyuiopasdfgh', /API_TOKENS is too weak: about 75 bits, at least 90/],
    [
      'API_TOKENS',
      'Tok3n-Tok3n-Tok3n-Tok3n-',
      /API_TOKENS is too weak: it is a shorter piece repeated/,
    ],
    ['API_TOKENS', 'x9ABCDEFGHIJKLMNOPQRSTUVWXYZ', /API_TOKENS is too weak: half of it or more/],
    [
      'WEBHOOK_SECRET',
      'changeme-changeme-changeme',
      /WEBHOOK_SECRET is too weak: it is a shorter piece/,
    ],
    [
      'WEBHOOK_SECRET',
      '9876543210zyxwvutsrqponmlk',
      /WEBHOOK_SECRET is too weak: half of it or more/,
    ],
    ['WEBHOOK_SECRET', '0123456789abcdef', /WEBHOOK_SECRET is too weak: about 64 bits/],
    [
      'CLOUDAUTH_ACCESS_KEY_SECRET',
      'secretsecretsecretsecret',
      /CLOUDAUTH_ACCESS_KEY_SECRET is too weak/,
    ],
    ['CLOUDAUTH_ACCESS_KEY_SECRET', 'demo-secret-change-me', /the emulator's key pair/],
    ['CLOUDAUTH_ACCESS_KEY_ID', 'LTAIdemoOrchestrator', /the emulator's key pair/],
  ])('refuses %s=%s, naming the key and never showing the value', (name, value, reason) => {
    const message = refusal({ ...strongProduction(), [name]: value });
    expect(message).toMatch(/^ORCHESTRATOR_MODE=production refuses: /);
    expect(message).toMatch(reason);
    expect(message).not.toContain(value);
  });

  it('names which token of several is weak', () => {
    const good = randomBytes(16).toString('hex');
    const message = refusal({ ...strongProduction(), API_TOKENS: `${good},aaaaaaaaaaaaaaaa` });
    expect(message).toContain('API_TOKENS (token 2 of 2) is too weak');
    expect(message).not.toContain(good);
    expect(message).not.toContain('aaaaaaaaaaaaaaaa');
  });

  it.each([
    [
      'all zero',
      Buffer.alloc(32),
      /ENCRYPTION_KEY is too weak: its 32 bytes have 1 distinct value,/,
    ],
    ['two values', Buffer.from('abcd'.repeat(16), 'hex'), /have 2 distinct values/],
    ['a typed passphrase', Buffer.from('The quick brown fox jumps 2 lazy'), /all printable text/],
  ])('refuses an ENCRYPTION_KEY that is %s, without showing it', (_what, key, reason) => {
    const value = key.toString('base64');
    const message = refusal({ ...strongProduction(), ENCRYPTION_KEY: value });
    expect(message).toMatch(reason);
    expect(message).not.toContain(value);
  });

  it('refuses a plain-http CLOUDAUTH_ENDPOINT, and lists every problem in one error', () => {
    const message = refusal({
      ...strongProduction(),
      CLOUDAUTH_ENDPOINT: 'http://cloudauth.example.test',
      ENCRYPTION_KEY: Buffer.alloc(32).toString('base64'),
      API_TOKENS: 'aaaaaaaaaaaaaaaa',
    });
    expect(message).toContain('CLOUDAUTH_ENDPOINT must be an https:// URL');
    expect(message).toContain('ENCRYPTION_KEY is too weak');
    expect(message).toContain('API_TOKENS is too weak');
  });

  it('leaves embedded mode alone', () => {
    const c = loadConfig({
      ORCHESTRATOR_MODE: 'embedded',
      API_TOKENS: 'aaaaaaaaaaaaaaaa',
      ENCRYPTION_KEY: Buffer.alloc(32).toString('base64'),
      WEBHOOK_SECRET: 'changeme-changeme',
      CLOUDAUTH_ENDPOINT: 'http://127.0.0.1:8787',
      CLOUDAUTH_ACCESS_KEY_ID: 'LTAIdemoOrchestrator',
      CLOUDAUTH_ACCESS_KEY_SECRET: 'demo-secret-change-me',
    });
    expect(c.mode).toBe('embedded');
  });

  it('never refuses random values of 128 bits from the usual generators', () => {
    const generators: Record<string, () => string> = {
      'hex 16 bytes': () => randomBytes(16).toString('hex'),
      'base64 16 bytes': () => randomBytes(16).toString('base64'),
      'base64url 16 bytes': () => randomBytes(16).toString('base64url'),
      uuid: () => randomUUID(),
      'hex 32 bytes': () => randomBytes(32).toString('hex'),
    };
    for (const [name, generate] of Object.entries(generators)) {
      const refused: string[] = [];
      for (let i = 0; i < 2000; i++) {
        const value = generate();
        if (weakSecretReason(value) !== undefined) refused.push(value);
      }
      expect(refused, name).toEqual([]);
    }
    for (let i = 0; i < 2000; i++) expect(weakKeyReason(randomBytes(32))).toBeUndefined();
  });

  it('refuses values with few distinct characters, and keys holding a byte sequence or few distinct bytes', () => {
    for (const value of [
      '00000000111111112222222233333333',
      'aaaaaaaaaaBbbbbbbbbbCccccccccc',
      'aaaaaaaa-bbbbbbbb-cccccccc',
      `${'abc'.repeat(13)}X`,
    ]) {
      expect(weakSecretReason(value), value).toMatch(/distinct characters, at least \d+ needed/);
    }
    const rising = Uint8Array.from({ length: 32 }, (_, i) => i);
    expect(weakKeyReason(rising)).toMatch(/run of 8 or more bytes in sequence/);
    const twice = Uint8Array.from({ length: 32 }, (_, i) => (i % 16) * 17);
    expect(weakKeyReason(twice)).toMatch(/16 distinct values, at least 20 needed/);
  });

  it('estimates bits as length × log2 of the character classes used (16 for hex)', () => {
    expect(estimatedBits('')).toBe(0);
    expect(estimatedBits('0123456789abcdef')).toBe(64);
    expect(estimatedBits('0123456789ABCDEF')).toBe(64);
    expect(estimatedBits('abcdefghijklmnop')).toBeCloseTo(16 * Math.log2(26));
    expect(estimatedBits('aB3-')).toBeCloseTo(4 * Math.log2(95));
    expect(estimatedBits('Kq7w'.repeat(4))).toBeGreaterThanOrEqual(SECRET_MIN_BITS);
    // the estimate alone would pass it: the repeat rule refuses it
    expect(weakSecretReason('Kq7w'.repeat(4))).toBe('it is a shorter piece repeated');
  });
});

/** The emulator's demo key pair (EMULATOR_ACCESS_KEYS' default). */
const EMULATOR_KEYS = {
  CLOUDAUTH_ACCESS_KEY_ID: 'LTAIdemoOrchestrator',
  CLOUDAUTH_ACCESS_KEY_SECRET: 'demo-secret-change-me',
};

describe('fail closed', () => {
  /** What every role needs in production, strong, with no mode and no Cloudauth key. */
  const PRODUCTION_BASICS = (): Record<string, string> =>
    without(
      strongProduction(),
      'ORCHESTRATOR_MODE',
      'CLOUDAUTH_ENDPOINT',
      'CLOUDAUTH_ACCESS_KEY_ID',
      'CLOUDAUTH_ACCESS_KEY_SECRET',
    );
  const EMULATOR = { CLOUDAUTH_ENDPOINT: 'http://127.0.0.1:8787', ...EMULATOR_KEYS };

  it('is embedded only when nothing production-like is set', () => {
    expect(loadConfig({}).mode).toBe('embedded');
    expect(loadConfig({ NODE_ENV: 'development', REDIS_URL: 'redis://127.0.0.1:6379' }).mode).toBe(
      'embedded',
    );
    const inferred = without(strongProduction(), 'ORCHESTRATOR_MODE');
    expect(loadConfig(inferred).mode).toBe('production');
    expect(loadConfig({ ...inferred, NODE_ENV: 'production' }).mode).toBe('production');
  });

  it('refuses NODE_ENV=production alone, saying why the mode is production and how to ask for embedded', () => {
    expect(refusal({ NODE_ENV: 'production' })).toBe(
      'NODE_ENV=production selects ORCHESTRATOR_MODE=production (ORCHESTRATOR_MODE is unset); it requires CLOUDAUTH_ENDPOINT, CLOUDAUTH_ACCESS_KEY_ID, CLOUDAUTH_ACCESS_KEY_SECRET, REDIS_URL (or REDIS_SENTINELS, or REDIS_CLUSTER_NODES), ENCRYPTION_KEY, WEBHOOK_SECRET, API_TOKENS (production never runs on the Cloudauth emulator). Set them, or ask for embedded mode explicitly with ORCHESTRATOR_MODE=embedded (local defaults and the Cloudauth emulator; its verdicts are marked emulated)',
    );
    expect(refusal({ ...PRODUCTION_BASICS(), NODE_ENV: 'Production' })).toMatch(
      /^NODE_ENV=production selects ORCHESTRATOR_MODE=production \(ORCHESTRATOR_MODE is unset\); it requires CLOUDAUTH_ENDPOINT, CLOUDAUTH_ACCESS_KEY_ID, CLOUDAUTH_ACCESS_KEY_SECRET \(/,
    );
  });

  it.each([
    ['embedded, asked for', { ORCHESTRATOR_MODE: 'embedded' }],
    ['inferred from the credentials', {}],
    ['production', { ORCHESTRATOR_MODE: 'production' }],
    [
      'embedded with NODE_ENV=production',
      { ORCHESTRATOR_MODE: 'embedded', NODE_ENV: 'production' },
    ],
  ])(
    'refuses Cloudauth credentials without CLOUDAUTH_ENDPOINT (%s), naming the keys',
    (_, mode) => {
      const secret = randomBytes(24).toString('base64url');
      const message = refusal({
        ...PRODUCTION_BASICS(),
        ...mode,
        CLOUDAUTH_ACCESS_KEY_ID: 'LTAI5tExampleKeyId0001',
        CLOUDAUTH_ACCESS_KEY_SECRET: secret,
      });
      expect(message).toBe(
        'CLOUDAUTH_ACCESS_KEY_ID, CLOUDAUTH_ACCESS_KEY_SECRET are set but CLOUDAUTH_ENDPOINT is not: refusing to start, since without an endpoint the orchestrator would call the Cloudauth emulator with its demo key and ignore them. Set CLOUDAUTH_ENDPOINT to your Cloudauth endpoint (https://…), or unset CLOUDAUTH_ACCESS_KEY_ID, CLOUDAUTH_ACCESS_KEY_SECRET to run on the emulators (ORCHESTRATOR_MODE=embedded)',
      );
      expect(message).not.toContain(secret);
      expect(message).not.toContain('LTAI5tExampleKeyId0001');
    },
  );

  it('refuses a security token alone without CLOUDAUTH_ENDPOINT, in every role but the emulator', () => {
    const env = { ORCHESTRATOR_MODE: 'embedded', CLOUDAUTH_SECURITY_TOKEN: 'sts-token-value' };
    for (const role of ['all', 'api', 'worker', 'cli'] as const) {
      expect(() => loadConfig(env, role), role).toThrow(
        'CLOUDAUTH_SECURITY_TOKEN is set but CLOUDAUTH_ENDPOINT is not: refusing to start, since without an endpoint the orchestrator would call the Cloudauth emulator with its demo key and ignore it. Set CLOUDAUTH_ENDPOINT to your Cloudauth endpoint (https://…), or unset CLOUDAUTH_SECURITY_TOKEN to run on the emulators (ORCHESTRATOR_MODE=embedded)',
      );
    }
    expect(loadConfig(env, 'emulator').mode).toBe('embedded');
  });

  it('refuses ORCHESTRATOR_MODE=production without CLOUDAUTH_ENDPOINT', () => {
    expect(refusal(without(strongProduction(), 'CLOUDAUTH_ENDPOINT'))).toBe(
      'CLOUDAUTH_ACCESS_KEY_ID, CLOUDAUTH_ACCESS_KEY_SECRET are set but CLOUDAUTH_ENDPOINT is not: refusing to start, since without an endpoint the orchestrator would call the Cloudauth emulator with its demo key and ignore them. Set CLOUDAUTH_ENDPOINT to your Cloudauth endpoint (https://…), or unset CLOUDAUTH_ACCESS_KEY_ID, CLOUDAUTH_ACCESS_KEY_SECRET to run on the emulators (ORCHESTRATOR_MODE=embedded)',
    );
    expect(refusal({ ...PRODUCTION_BASICS(), ORCHESTRATOR_MODE: 'production' })).toBe(
      'ORCHESTRATOR_MODE=production requires CLOUDAUTH_ENDPOINT, CLOUDAUTH_ACCESS_KEY_ID, CLOUDAUTH_ACCESS_KEY_SECRET (production never runs on the Cloudauth emulator)',
    );
  });

  it('holds a CLOUDAUTH_ENDPOINT without a mode to the production requirements', () => {
    expect(refusal({ CLOUDAUTH_ENDPOINT: EMULATOR.CLOUDAUTH_ENDPOINT })).toBe(
      'Setting CLOUDAUTH_ENDPOINT selects ORCHESTRATOR_MODE=production (ORCHESTRATOR_MODE is unset); it requires CLOUDAUTH_ACCESS_KEY_ID, CLOUDAUTH_ACCESS_KEY_SECRET, REDIS_URL (or REDIS_SENTINELS, or REDIS_CLUSTER_NODES), ENCRYPTION_KEY, WEBHOOK_SECRET, API_TOKENS. Set them, or ask for embedded mode explicitly with ORCHESTRATOR_MODE=embedded (local defaults and the Cloudauth emulator; its verdicts are marked emulated)',
    );
    // the emulator's endpoint and key pair, without a mode: production, and its checks refuse
    const message = refusal({ ...PRODUCTION_BASICS(), ...EMULATOR });
    expect(message).toMatch(
      /^Setting CLOUDAUTH_ENDPOINT, CLOUDAUTH_ACCESS_KEY_ID, CLOUDAUTH_ACCESS_KEY_SECRET, ENCRYPTION_KEY, WEBHOOK_SECRET, API_TOKENS, REDIS_URL \(not loopback\) selects ORCHESTRATOR_MODE=production \(ORCHESTRATOR_MODE is unset\), which refuses: CLOUDAUTH_ENDPOINT must be an https:\/\/ URL/,
    );
    expect(message).toContain("that is the emulator's key pair");
    expect(message).toMatch(
      /\. Fix them, or ask for embedded mode explicitly with ORCHESTRATOR_MODE=embedded \(local defaults and the Cloudauth emulator; its verdicts are marked emulated\)$/,
    );
  });

  it('counts the secrets embedded mode would make itself, and a Redis off this machine, as production', () => {
    // a misspelt endpoint no longer leaves the rest of a production environment on the emulator
    for (const [key, value] of [
      ['ENCRYPTION_KEY', randomBytes(32).toString('base64')],
      ['WEBHOOK_SECRET', randomBytes(16).toString('hex')],
      ['API_TOKENS', randomBytes(16).toString('hex')],
      ['REDIS_URL', 'rediss://redis.prod.example.test:6380'],
    ] as const) {
      const message = refusal({ [key]: value });
      expect(message, key).toMatch(
        new RegExp(`^Setting ${key}( \\(not loopback\\))? selects ORCHESTRATOR_MODE=production`),
      );
      expect(message, key).not.toContain(value);
    }
    expect(loadConfig({ REDIS_URL: 'redis://localhost:6379' }).mode).toBe('embedded');
    expect(loadConfig({ REDIS_URL: 'redis://[::1]:6379' }).mode).toBe('embedded');
  });

  it('refuses a CLOUDAUTH_ or ORCHESTRATOR_ variable that is no setting, instead of ignoring it', () => {
    const message = refusal({
      ...PRODUCTION_BASICS(),
      CLOUDAUTH_ENDPOINTS: 'https://cloudauth.example.test',
    });
    expect(message).toMatch(
      /^unknown setting CLOUDAUTH_ENDPOINTS: refusing to start rather than ignore it \(a misspelt CLOUDAUTH_ENDPOINT would run on the emulator\)\. The settings with its prefix: CLOUDAUTH_ENDPOINT, /,
    );
    expect(message).not.toContain('example.test');
    expect(refusal({ ORCHESTRATOR_MOD: 'production' })).toMatch(
      /^unknown setting ORCHESTRATOR_MOD: .* The settings with its prefix: ORCHESTRATOR_MODE$/,
    );
    // set but empty is unset, as for every key
    expect(loadConfig({ CLOUDAUTH_ENDPOINTS: '' }).mode).toBe('embedded');
  });

  it('refuses embedded mode pointed at an Alibaba Cloud Cloudauth host', () => {
    const host = 'cloudauth.aliyuncs.com'; // never called: the configuration is refused
    expect(
      refusal({
        ORCHESTRATOR_MODE: 'embedded',
        ...EMULATOR_KEYS,
        CLOUDAUTH_ENDPOINT: `https://${host}`,
      }),
    ).toBe(
      'ORCHESTRATOR_MODE=embedded with an Alibaba Cloud CLOUDAUTH_ENDPOINT: embedded mode is for the emulators (its verdicts are marked emulated and its secrets are generated); use ORCHESTRATOR_MODE=production for real verifications',
    );
  });

  it('never shows a URL that carries a password in a refusal', () => {
    const message = refusal({ REDIS_URL: 'redis://:hunter2-password@redis.example.test:6379x' });
    expect(message).toMatch(/^invalid configuration: REDIS_URL=\(secret\): /);
    expect(message).not.toContain('hunter2');
  });

  it('allows embedded mode asked for explicitly, also with NODE_ENV=production and an emulator endpoint', () => {
    expect(loadConfig({ ORCHESTRATOR_MODE: 'embedded', NODE_ENV: 'production' }).mode).toBe(
      'embedded',
    );
    const c = loadConfig({ ORCHESTRATOR_MODE: 'embedded', NODE_ENV: 'production', ...EMULATOR });
    expect(c.mode).toBe('embedded');
    expect(c.cloudauth.endpoint).toBe(EMULATOR.CLOUDAUTH_ENDPOINT);
  });
});

describe('per-role production requirements', () => {
  it.each([
    [
      'all',
      'CLOUDAUTH_ENDPOINT, CLOUDAUTH_ACCESS_KEY_ID, CLOUDAUTH_ACCESS_KEY_SECRET, REDIS_URL (or REDIS_SENTINELS, or REDIS_CLUSTER_NODES), ENCRYPTION_KEY, WEBHOOK_SECRET, API_TOKENS (production never runs on the Cloudauth emulator)',
    ],
    [
      'api',
      'REDIS_URL (or REDIS_SENTINELS, or REDIS_CLUSTER_NODES), ENCRYPTION_KEY, API_TOKENS for the api role',
    ],
    [
      'worker',
      'CLOUDAUTH_ENDPOINT, CLOUDAUTH_ACCESS_KEY_ID, CLOUDAUTH_ACCESS_KEY_SECRET, REDIS_URL (or REDIS_SENTINELS, or REDIS_CLUSTER_NODES), ENCRYPTION_KEY, WEBHOOK_SECRET for the worker role (production never runs on the Cloudauth emulator)',
    ],
    [
      'cli',
      'REDIS_URL (or REDIS_SENTINELS, or REDIS_CLUSTER_NODES), ENCRYPTION_KEY for the command line',
    ],
  ] as const)('the %s role requires %s', (role, list) => {
    expect(() => loadConfig({ ORCHESTRATOR_MODE: 'production' }, role)).toThrow(
      `ORCHESTRATOR_MODE=production requires ${list}`,
    );
  });

  it('lets the command line read the store with REDIS_URL and ENCRYPTION_KEY only', () => {
    const env = {
      NODE_ENV: 'production',
      REDIS_URL: 'rediss://redis.internal.example:6380',
      ENCRYPTION_KEY: randomBytes(32).toString('base64'),
      // not judged: the CLI signs no webhook and calls no API
      WEBHOOK_SECRET: 'changeme-changeme-changeme',
      API_TOKENS: 'aaaaaaaaaaaaaaaa',
    };
    expect(loadConfig(env, 'cli').mode).toBe('production');
    expect(() => loadConfig(env, 'api')).toThrow(/API_TOKENS is too weak/);
  });

  it('needs no Cloudauth keys and no WEBHOOK_SECRET for the api role, and judges its token', () => {
    const env = {
      ORCHESTRATOR_MODE: 'production',
      REDIS_URL: 'rediss://redis.internal.example:6380',
      ENCRYPTION_KEY: randomBytes(32).toString('base64'),
      API_TOKENS: randomBytes(16).toString('hex'),
      WEBHOOK_DEFAULT_URL: 'http://hooks.example.test/in',
    };
    expect(loadConfig(env, 'api').mode).toBe('production');
    expect(() => loadConfig({ ...env, API_TOKENS: 'Tok3n-Tok3n-Tok3n-Tok3n-' }, 'api')).toThrow(
      'ORCHESTRATOR_MODE=production refuses: API_TOKENS is too weak: it is a shorter piece repeated',
    );
  });

  it('needs no API_TOKENS for the worker role, and judges its Cloudauth and webhook secrets', () => {
    const env = without(strongProduction(), 'API_TOKENS');
    expect(loadConfig({ ...env, API_TOKENS: 'aaaaaaaaaaaaaaaa' }, 'worker').mode).toBe(
      'production',
    );
    expect(() =>
      loadConfig({ ...env, WEBHOOK_SECRET: 'changeme-changeme-changeme' }, 'worker'),
    ).toThrow(/WEBHOOK_SECRET is too weak/);
    expect(() =>
      loadConfig({ ...env, WEBHOOK_DEFAULT_URL: 'http://hooks.example.test/in' }, 'worker'),
    ).toThrow(/WEBHOOK_DEFAULT_URL must be https in production/);
    expect(() => loadConfig({ ...env, ...EMULATOR_KEYS }, 'worker')).toThrow(
      /the emulator's key pair/,
    );
  });

  it('never refuses the emulator role because of the mode', () => {
    for (const env of [
      { NODE_ENV: 'production' },
      { ORCHESTRATOR_MODE: 'production' },
      { CLOUDAUTH_ACCESS_KEY_ID: 'LTAI5tExampleKeyId0001' },
    ]) {
      expect(loadConfig(env, 'emulator').mode).toBe('production');
    }
  });
});

describe('configWarnings', () => {
  it('warns of a plain redis:// URL to a host that is not loopback, naming the host only', () => {
    const [warning, ...rest] = configWarnings(
      loadConfig({
        ORCHESTRATOR_MODE: 'embedded',
        REDIS_URL: 'redis://:hunter2pass@redis.internal.example:6379/0',
      }),
    );
    expect(rest).toEqual([]);
    expect(warning).toContain('REDIS_URL reaches redis.internal.example without TLS');
    expect(warning).not.toContain('hunter2pass');
  });

  it.each([
    'rediss://redis.internal.example:6380',
    'redis://127.0.0.1:6379',
    'redis://127.0.0.5:6379',
    'redis://localhost:6379',
    'redis://[::1]:6379',
  ])('says nothing of %s', (url) => {
    expect(configWarnings(loadConfig({ ORCHESTRATOR_MODE: 'embedded', REDIS_URL: url }))).toEqual(
      [],
    );
  });

  it('says nothing when REDIS_URL is unset', () => {
    expect(configWarnings(loadConfig({}))).toEqual([]);
  });
});
