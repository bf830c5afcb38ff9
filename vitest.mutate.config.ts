/**
 * The test set `npm run mutate` (StrykerJS) runs against each mutant: the unit tests only (no I/O,
 * no Redis, no build), which cover the code it mutates (see stryker.config.json).
 */
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/unit/**/*.test.ts'],
    testTimeout: 20_000,
  },
});
