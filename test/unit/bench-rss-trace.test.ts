import { describe, expect, it } from 'vitest';
import { RssTrace } from '../../bench/lib/rss-trace.js';

describe('RSS windows', () => {
  it('takes the peak and the trough of the readings whose count is in the window', () => {
    const trace = new RssTrace();
    for (const [completed, rss] of [
      [9_000, 500],
      [10_000, 300],
      [15_000, 250],
      [20_000, 210],
      [39_999, 280],
      [40_000, 900],
    ] as const) {
      trace.add(completed, rss);
    }
    expect(trace.window(10_000, 40_000)).toEqual({
      from: 10_000,
      to: 40_000,
      samples: 4,
      peakBytes: 300,
      troughBytes: 210,
    });
  });

  it('refuses a window with no reading rather than answer a made-up figure', () => {
    const trace = new RssTrace();
    trace.add(100, 1);
    expect(() => trace.window(200, 300)).toThrow('no RSS reading between 200 and 300');
  });
});
