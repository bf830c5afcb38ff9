/**
 * How the HTTP API answers a staging store that cannot take a request's photos: 503 with the
 * registry's code, `Retry-After` when waiting may help and none when only configuration can, and
 * nothing of the medium's own error (paths, keys) in the answer.
 */
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { problemOf } from '../../src/api/problems.js';
import { StagingUnavailableError } from '../../src/adapters/staging/staging-errors.js';

const logger = pino({ level: 'silent' });
const context = { method: 'POST', route: '/v1/tickets' };

describe('a staging failure at intake', () => {
  it('out of space: 503 STAGING_FULL with Retry-After', () => {
    const err = new StagingUnavailableError('put', 'directory put failed (ENOSPC)', {
      retryable: true,
      full: true,
      retryAfterMs: 10_000,
      cause: { name: 'Error', code: 'ENOSPC' },
    });
    const { problem, headers } = problemOf(err, logger, context);
    expect(problem).toMatchObject({ status: 503, code: 'STAGING_FULL' });
    expect(headers['retry-after']).toBe('10');
    expect(problem.detail).toContain('nothing of the request was kept');
  });

  it('unreachable: 503 STAGING_UNAVAILABLE with Retry-After, at least a second', () => {
    const err = new StagingUnavailableError('put', 'OSS put failed (ECONNREFUSED)', {
      retryable: true,
      retryAfterMs: 200,
    });
    const { problem, headers } = problemOf(err, logger, context);
    expect(problem).toMatchObject({ status: 503, code: 'STAGING_UNAVAILABLE' });
    expect(headers['retry-after']).toBe('1');
  });

  it('denied (only configuration helps): 503 without Retry-After, saying so, and no path', () => {
    const err = new StagingUnavailableError('put', 'directory put failed (EACCES)', {
      retryable: false,
      cause: { name: 'Error', code: 'EACCES' },
    });
    const { problem, headers } = problemOf(err, logger, context);
    expect(problem).toMatchObject({ status: 503, code: 'STAGING_UNAVAILABLE' });
    expect(headers).not.toHaveProperty('retry-after');
    expect(problem.detail).toContain('configuration must be fixed');
    expect(JSON.stringify(problem)).not.toContain('EACCES');
  });
});
