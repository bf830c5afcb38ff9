import { describe, expect, it } from 'vitest';
import { OrchestratorError } from '../../src/errors.js';
import { backoffDelay } from '../../src/adapters/bullmq/backoff.js';
import { jobIdOf, ticketJobOptions } from '../../src/adapters/bullmq/queues.js';

const settings = { baseMs: 1000, capMs: 60_000 };

describe('backoffDelay', () => {
  it('grows exponentially, with full jitter under the ceiling', () => {
    expect(backoffDelay(1, new Error('x'), settings, () => 0.999999)).toBe(1000);
    expect(backoffDelay(2, new Error('x'), settings, () => 0.999999)).toBe(2000);
    expect(backoffDelay(5, new Error('x'), settings, () => 0.999999)).toBe(16_000);
    expect(backoffDelay(5, new Error('x'), settings, () => 0)).toBe(0);
  });

  it('stops at the cap', () => {
    expect(backoffDelay(30, new Error('x'), settings, () => 0.999999)).toBe(60_000);
    expect(backoffDelay(1000, new Error('x'), settings, () => 0.999999)).toBe(60_000);
  });

  it("lets an error's retryAfterMs win when it is longer", () => {
    const throttled = new OrchestratorError('PROVIDER_THROTTLED', 'x', { retryAfterMs: 2000 });
    expect(backoffDelay(1, throttled, settings, () => 0)).toBe(2000);
    expect(backoffDelay(8, throttled, settings, () => 0.999999)).toBe(60_000);
  });
});

describe('job ids', () => {
  it('are the TicketId with ":" and "%" encoded, never an integer', () => {
    expect(jobIdOf('39ecf51e-2f81-4dc5-90ee-ff86125be683')).toBe(
      't-39ecf51e-2f81-4dc5-90ee-ff86125be683',
    );
    expect(jobIdOf('order:17%')).toBe('t-order%3A17%25');
    expect(jobIdOf('12345')).toBe('t-12345');
    expect(jobIdOf('a:b')).not.toBe(jobIdOf('a%3Ab'));
  });

  it('carry the TicketId only, with the jitter backoff', () => {
    const opts = ticketJobOptions('x', {
      attempts: 8,
      keepCompletedSeconds: 60,
      keepFailedSeconds: 120,
    });
    expect(opts).toEqual({ jobId: 't-x', attempts: 8, backoff: { type: 'jitter' } });
    // BullMQ keeps the options but the id as one hash value: within Redis's 64-byte limit for a
    // compact hash (the worker applies the retention)
    const { jobId: _, ...stored } = opts;
    expect(JSON.stringify(stored).length).toBeLessThanOrEqual(64);
  });
});
