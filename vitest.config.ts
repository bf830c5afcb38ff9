import { defineConfig } from 'vitest/config';

/**
 * The tests of the store, queues, limiter, reconciler, intake and the ticket flows, which run
 * again on a Sentinel set and on a Cluster (test/global-setup.ts starts each for its project;
 * test/support/redis.ts builds their clients for the run's topology).
 */
const TOPOLOGY_TESTS = [
  'test/integration/ticket-store.test.ts',
  'test/integration/ticket-repair.test.ts',
  'test/integration/ticket-scan.test.ts',
  'test/integration/ticket-reconciler.test.ts',
  'test/integration/index-cleanup.test.ts',
  'test/integration/rate-limiter.test.ts',
  'test/integration/producer.test.ts',
  'test/integration/run-next.test.ts',
  'test/integration/verdict-race.test.ts',
  'test/integration/wake-race.test.ts',
  'test/integration/webhooks.test.ts',
  'test/integration/http-api.test.ts',
  'test/integration/personal-data.test.ts',
  'test/integration/webhook-callback-intake.test.ts',
  'test/e2e/ticket-flow.test.ts',
  'test/e2e/financial-flow.test.ts',
  'test/e2e/webhook-flow.test.ts',
  'test/e2e/submit-once.test.ts',
  'test/e2e/retry-race.test.ts',
];

export default defineConfig({
  test: {
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 20_000,
    hookTimeout: 20_000,
    pool: 'forks',
    projects: [
      // everything, on one Redis node (or TEST_REDIS_TOPOLOGY's)
      { extends: true, test: { name: 'single', include: ['test/**/*.test.ts'] } },
      { extends: true, test: { name: 'sentinel', include: TOPOLOGY_TESTS } },
      { extends: true, test: { name: 'cluster', include: TOPOLOGY_TESTS } },
    ],
  },
});
