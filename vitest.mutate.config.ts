/**
 * The test set `npm run mutate` (StrykerJS) runs against each mutant: the unit tests only (no I/O,
 * no Redis, no build), which cover the code it mutates (see stryker.config.json).
 */
import type { RunnerTestCase } from 'vitest';
import { defineConfig } from 'vitest/config';
import type { Reporter, Vitest } from 'vitest/node';

/**
 * Works around stryker-js#6150 (open; in 9.6.1 and 10.0.0): the vitest runner builds a mutant's
 * result only from the tests it collected, so a test file that fails to load adds no failed test
 * and the mutant is reported Survived although `vitest run` fails. Such a mutant here: `code`,
 * `socket` or `oss` of the Cloudauth code table made to return undefined, which the code table's
 * and the OSS errors' test files trip over at load. This reporter gives each file that failed with
 * no test in it one failed test carrying the load error, before the runner reads the results
 * (vitest awaits `onTestRunEnd` first); a file that loaded is left as it is. A load failure in the
 * initial run then fails that run instead of silently dropping the file. Remove once the runner
 * counts a file's own failure (stryker-js#6217).
 */
function loadFailuresAsFailedTests(): Reporter {
  let vitest: Vitest | undefined;
  return {
    onInit(ctx) {
      vitest = ctx;
    },
    onTestRunEnd() {
      for (const file of vitest?.state.getFiles() ?? []) {
        if (file.result?.state !== 'fail' || file.tasks.length > 0) continue;
        // Only what the runner reads of a test: a whole RunnerTestCase holds a context that only
        // vitest builds, and nothing runs this one.
        const failedLoad = {
          type: 'test',
          id: `${file.id}_load`,
          name: 'the test file loads',
          mode: 'run',
          file,
          result: { state: 'fail', errors: file.result.errors ?? [] },
        } as unknown as RunnerTestCase;
        file.tasks.push(failedLoad);
      }
    },
  };
}

export default defineConfig({
  test: {
    include: ['test/unit/**/*.test.ts'],
    testTimeout: 20_000,
    reporters: ['default', loadFailuresAsFailedTests()],
  },
});
