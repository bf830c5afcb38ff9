/**
 * Before any test runs: builds the package (`npm run build`: the compiled JS and declarations that
 * the command, the role processes and the packed-tarball test run, as users run them), and makes
 * sure a Redis answers, of the topology `TEST_REDIS_TOPOLOGY` names:
 * - `single` (default): REDIS_URL, else 127.0.0.1:6379, else a `redis-server` started here
 *   (testkit/redis.ts) on a free port with nothing on disk (stopped at the end);
 * - `sentinel`: a primary, two replicas and three Sentinels started here (testkit/redis-topology.ts);
 * - `cluster`: three primaries with a replica each, started here.
 * The projects `sentinel` and `cluster` of vitest.config.ts take theirs from their name (they run
 * the topology-aware tests again on it). Tests read the topology with `inject('redisTopology')`
 * (test/support/redis.ts builds clients of it); `inject('redisUrl')` is the single node's URL,
 * for the tests that need one node (on the other topologies, the URL of a node: only the
 * topology-aware tests run there).
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';
import { redisAnswers } from '../src/embedded-redis.js';
import { startRedisServer, type RedisServer } from '../testkit/redis.js';
import type { RedisTopology } from '../src/adapters/redis/connection.js';

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
    redisTopology: RedisTopology;
  }
}

const TOPOLOGIES = new Set(['sentinel', 'cluster']);

/** `npm run build` on this process's node, so a suite run on Node 24 builds with Node 24. */
function build(): void {
  const root = fileURLToPath(new URL('..', import.meta.url));
  try {
    execFileSync(process.execPath, ['scripts/build.js'], { cwd: root, stdio: 'pipe' });
  } catch (err) {
    const { stdout, stderr } = err as { stdout?: Buffer; stderr?: Buffer };
    throw new Error(
      `npm run build failed before the tests:\n${stdout?.toString() ?? ''}${stderr?.toString() ?? ''}`,
    );
  }
}

/** Whether this process built the package already (one build for every project of a run). */
const BUILT = Symbol.for('cloudauth-orchestrator.tests.built');

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const state = globalThis as { [BUILT]?: true };
  if (state[BUILT] === undefined) {
    build();
    state[BUILT] = true;
  }
  // the projects of vitest.config.ts are named after their topology; the default project takes
  // TEST_REDIS_TOPOLOGY (to run everything on one topology)
  const kind = TOPOLOGIES.has(project.name)
    ? project.name
    : (process.env.TEST_REDIS_TOPOLOGY ?? 'single');
  if (kind === 'sentinel') {
    const { startSentinelSet } = await import('../testkit/redis-topology.js');
    const set = await startSentinelSet();
    project.provide('redisTopology', {
      kind: 'sentinel',
      sentinels: set.sentinels,
      name: set.name,
    });
    project.provide('redisUrl', (await set.primary()).url);
    return () => set.stop();
  }
  if (kind === 'cluster') {
    const { startRedisCluster } = await import('../testkit/redis-topology.js');
    const cluster = await startRedisCluster();
    project.provide('redisTopology', { kind: 'cluster', nodes: cluster.nodes });
    project.provide('redisUrl', cluster.servers[0]?.url ?? '');
    return () => cluster.stop();
  }
  if (kind !== 'single') {
    throw new Error(`TEST_REDIS_TOPOLOGY=${kind}: expected single, sentinel or cluster`);
  }
  const candidate = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  let server: RedisServer | undefined;
  let url = candidate;
  if (!(await redisAnswers(candidate))) {
    if (process.env.REDIS_URL) throw new Error(`REDIS_URL=${candidate} does not answer PING`);
    server = await startRedisServer({ name: "the tests' redis-server" });
    url = server.url;
  }
  project.provide('redisUrl', url);
  project.provide('redisTopology', { kind: 'single', url });
  return async () => {
    await server?.stop();
  };
}
