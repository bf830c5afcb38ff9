import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CONFIG_KEYS, loadConfig } from '../../src/config.js';
import { renderConfigTable } from '../../src/config-docs.js';
import { ConfigError } from '../../src/errors.js';

describe('loadConfig', () => {
  it('gives documented defaults for an empty environment', () => {
    const c = loadConfig({});
    expect(c.mode).toBe('embedded');
    expect(c.cloudauth.endpoint).toBeUndefined();
    expect(c.cloudauth.timeoutMs).toBe(10_000);
    expect(c.cloudauth.biz).toEqual({
      RPBasic: 'RPBasic',
      RPBioOnly: 'RPBioOnly',
      RPH5BioOnly: 'RPH5BioOnly',
      RPMin: 'RPMin',
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
    expect(() => loadConfig({ CLOUDAUTH_ENDPOINT: 'https://cloudauth.example.test' })).toThrow(
      /CLOUDAUTH_ACCESS_KEY_ID and CLOUDAUTH_ACCESS_KEY_SECRET are required/,
    );
  });

  it('documents every key with a description', () => {
    for (const [name, spec] of Object.entries(CONFIG_KEYS)) {
      expect(spec.description.length, name).toBeGreaterThan(20);
    }
  });

  it('agrees with the README configuration table', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    expect(readme).toContain(renderConfigTable());
  });
});
