import { describe, expect, it } from 'vitest';
import { StoreUnavailableError, ValidationError } from '../../src/errors.js';
import { storeUnavailableOf } from '../../src/adapters/redis/store-unavailable.js';

function named(name: string, message: string): Error {
  const e = new Error(message);
  e.name = name;
  return e;
}

describe('what counts as Redis being unreachable', () => {
  it.each([
    ['ioredis gave up reconnecting', named('MaxRetriesPerRequestError', 'Reached the max retries')],
    ['the client has ended', new Error('Connection is closed.')],
    [
      'not connected, no offline queue',
      new Error("Stream isn't writeable and enableOfflineQueue options is false"),
    ],
    ['the command timed out', new Error('Command timed out')],
    // an auto-pipelined command sent and unanswered when the connection closed
    [
      'the connection closed under a pipeline',
      named('AbortError', 'Command aborted due to connection close'),
    ],
    ['a server still loading its AOF', new Error('LOADING Redis is loading the dataset in memory')],
    [
      'a refused socket',
      Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
    ],
    [
      'an outage wrapped in another error',
      new Error('enqueue failed', { cause: new Error('Connection is closed.') }),
    ],
  ])('%s', (_what, err) => {
    expect(storeUnavailableOf(err)).toBeInstanceOf(StoreUnavailableError);
  });

  it.each([
    ['a script error', new Error('ERR Error running script')],
    [
      'an out-of-memory refusal (the store is full, not down)',
      new Error("OOM command not allowed when used memory > 'maxmemory'."),
    ],
    ['an error of the registry', new ValidationError('Binding', 'is missing')],
  ])('not %s', (_what, err) => {
    expect(storeUnavailableOf(err)).toBeUndefined();
  });
});
