import { describe, expect, it } from 'vitest';
import { StagingGate } from '../../src/flow/material-staging.js';

describe('StagingGate', () => {
  it('runs at most its limit at once, in arrival order, and frees a slot on failure', async () => {
    const gate = new StagingGate(2);
    let inFlight = 0;
    let most = 0;
    const order: number[] = [];
    const releases: (() => void)[] = [];
    const task = (i: number) =>
      gate.run(async () => {
        inFlight++;
        most = Math.max(most, inFlight);
        order.push(i);
        await new Promise<void>((resolve) => releases.push(resolve));
        inFlight--;
        if (i === 1) throw new Error('staging failed');
        return i;
      });
    const runs = [0, 1, 2, 3, 4].map((i) => task(i).catch((e: unknown) => (e as Error).message));
    // let the first two start; the others wait
    await Promise.resolve();
    expect(order).toEqual([0, 1]);
    while (releases.length > 0 || order.length < 5) {
      const release = releases.shift();
      if (release === undefined) {
        await new Promise((r) => setImmediate(r));
        continue;
      }
      release();
      await new Promise((r) => setImmediate(r));
    }
    expect(await Promise.all(runs)).toEqual([0, 'staging failed', 2, 3, 4]);
    expect(order).toEqual([0, 1, 2, 3, 4]);
    expect(most).toBe(2);
  });
});
