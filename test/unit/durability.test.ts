import { describe, expect, it } from 'vitest';
import { durabilityWarning, redisVersionProblem } from '../../src/adapters/redis/durability.js';

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

describe('redisVersionProblem', () => {
  it('accepts Redis 7 and later, and a server that does not say', () => {
    expect(redisVersionProblem('7.0.15')).toBeUndefined();
    expect(redisVersionProblem('8.2.1')).toBeUndefined();
    expect(redisVersionProblem(undefined)).toBeUndefined();
  });

  it('names a Redis older than 7.0, whose scripts could not declare their flags', () => {
    expect(redisVersionProblem('6.2.14')).toMatch(/^Redis 6\.2\.14 is older than 7\.0\.0/);
  });
});
