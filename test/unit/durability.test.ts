import { describe, expect, it } from 'vitest';
import { durabilityWarning } from '../../src/store/durability.js';

describe('durabilityWarning', () => {
  it('is silent with an AOF fsynced always', () => {
    expect(durabilityWarning({ appendonly: 'yes', appendfsync: 'always' })).toBeUndefined();
  });

  it('warns of the last second with everysec, and of everything without an AOF', () => {
    expect(durabilityWarning({ appendonly: 'yes', appendfsync: 'everysec' })).toMatch(
      /fsynced "everysec".*last second/,
    );
    expect(durabilityWarning({ appendonly: 'yes', appendfsync: 'no' })).toMatch(/fsynced "no"/);
    expect(durabilityWarning({ appendonly: 'no', appendfsync: 'everysec' })).toMatch(
      /without an AOF/,
    );
  });

  it('says so when the settings cannot be read', () => {
    expect(durabilityWarning(undefined)).toMatch(/CONFIG GET refused/);
  });
});
