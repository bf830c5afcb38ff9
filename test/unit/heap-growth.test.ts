/**
 * The batch commands' heap growth (`heap-growth.ts`): set unless node was started with its own,
 * in either spelling V8 accepts. What it does to peak RSS is measured by the bench (row 4,
 * `npm run bench -- --only intake`), not here.
 */
import { describe, expect, it } from 'vitest';
import { boundHeapGrowth } from '../../src/cli/heap-growth.js';

describe('boundHeapGrowth', () => {
  it("leaves node's own --heap-growing-percent alone, in either spelling", () => {
    expect(boundHeapGrowth(['--heap-growing-percent=100'])).toBe(false);
    expect(boundHeapGrowth(['--import', 'tsx', '--heap_growing_percent=20'])).toBe(false);
  });

  it('sets it otherwise (other flags do not count)', () => {
    expect(boundHeapGrowth([])).toBe(true);
    expect(boundHeapGrowth(['--import', 'tsx', '--heap-growing-percentage-x'])).toBe(true);
  });
});
