/**
 * The test kit's waits (testkit/waiting.ts), which tests, benchmarks and the chaos run all use: a
 * wait returns as soon as its condition holds, names what it waited for and what it last saw when
 * time is up, and gives up at once when told why.
 */
import { describe, expect, it } from 'vitest';
import { expectNothingWithin, waitFor, waitUntil, within } from '../../testkit/waiting.js';

describe('waitFor', () => {
  it('returns the first value that satisfies the condition', async () => {
    let n = 0;
    const value = await waitFor(
      'n to reach 3',
      () => ++n,
      (v) => v >= 3,
      { everyMs: 1 },
    );
    expect(value).toBe(3);
  });

  it('names what it waited for and the last value once time is up', async () => {
    await expect(
      waitFor(
        'the answer',
        () => 41,
        (v) => v === 42,
        { timeoutMs: 30, everyMs: 5 },
      ),
    ).rejects.toThrow(/^the answer: not there after 30 ms \(last 41\)$/);
  });

  it('counts a read that throws as not yet, and names the last error once time is up', async () => {
    let n = 0;
    const read = () => {
      n++;
      if (n < 3) throw new Error('connection refused');
      return n;
    };
    expect(await waitFor('a server', read, (v) => v === 3, { everyMs: 1 })).toBe(3);
    await expect(
      waitUntil(
        'a server',
        () => {
          throw new Error('connection refused');
        },
        { timeoutMs: 20, everyMs: 5 },
      ),
    ).rejects.toThrow(/last error: connection refused/);
  });

  it('gives up at once, naming the reason, when abortIf answers one', async () => {
    const started = Date.now();
    await expect(
      waitUntil('the emulator', () => false, {
        timeoutMs: 10_000,
        abortIf: () => 'emulator exited',
      }),
    ).rejects.toThrow('the emulator: gave up waiting, emulator exited');
    expect(Date.now() - started).toBeLessThan(1000);
  });
});

describe('expectNothingWithin', () => {
  it('passes when nothing happens over the window, and throws as soon as it does', async () => {
    await expectNothingWithin(30, 'a call', () => false, 5);
    let n = 0;
    await expect(expectNothingWithin(10_000, 'a call', () => ++n > 2, 1)).rejects.toThrow(
      'a call happened within the 10000 ms window',
    );
  });
});

describe('within', () => {
  it('settles with the promise, or throws naming what did not settle in time', async () => {
    expect(await within('quick', Promise.resolve(7), 1000)).toBe(7);
    await expect(within('never', new Promise(() => undefined), 20)).rejects.toThrow(
      'never: not within 20 ms',
    );
  });
});
